"""marker revision: a counter every change to a marker row bumps, checked on write (no lost update)

SQLAlchemy's ``version_id_col`` (cogvlm_media.store.models.Marker) puts ``WHERE revision = :seen`` on
every UPDATE of a marker; a concurrent editor who changed it first makes that UPDATE match no row, and
the write fails with a conflict instead of silently forking the marker. ``ADD COLUMN`` with a constant
default is portable: SQLite and PostgreSQL fill existing rows with 1.

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("markers", sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("markers") as batch:
        batch.drop_column("revision")
