"""search on PostgreSQL: each logged change carries its transaction id; reader nodes register their snapshot

Sequences hand out ``search_changes`` ids in order but transactions commit out of order, so on
PostgreSQL a high-water mark over ids would skip a change committed late with a lower id. There each
row records ``pg_current_xact_id()`` and a reader node's index records the ``pg_snapshot`` it reflects;
the changes it still needs are those visible now and not visible in that snapshot
(cogvlm_media/search/postgres.py). ``search_readers`` holds each node's snapshot, so pruning keeps every
row some node still needs. SQLite (one writer at a time) keeps the id mark: it gets the table only.

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_readers",
        sa.Column("node", sa.String(length=255), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("node", name=op.f("pk_search_readers")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_changes ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id()")
        # xid8 has btree operators (PostgreSQL 13+): the catch-up reads rows from a snapshot's xmin up
        op.execute("CREATE INDEX ix_search_changes_xid ON search_changes (xid)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_changes_xid")
        op.execute("ALTER TABLE search_changes DROP COLUMN xid")
    op.drop_table("search_readers")
