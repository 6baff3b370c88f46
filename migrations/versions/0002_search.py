"""search: stored embeddings and a trigger-fed change log (the indexes' high-water mark)

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# (table, column naming the asset) -- keep in step with cogvlm_media.search.models.TRACKED_TABLES
TRACKED = (
    ("assets", "id"),
    ("markers", "asset_id"),
    ("windows", "asset_id"),
    ("transcript_segments", "asset_id"),
    ("scenes", "asset_id"),
)
EVENTS = (("ins", "INSERT", "NEW"), ("upd", "UPDATE", "NEW"), ("del", "DELETE", "OLD"))


def upgrade() -> None:
    op.create_table(
        "search_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_changes")),
        sqlite_autoincrement=True,  # ids never reused after a prune: the high-water mark stays valid
    )
    op.create_table(
        "search_embeddings",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_search_embeddings")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table, column in TRACKED:
            for tag, event, row in EVENTS:
                op.execute(
                    f"CREATE TRIGGER search_{table}_{tag} AFTER {event} ON {table} FOR EACH ROW "
                    f"BEGIN INSERT INTO search_changes (asset_id) VALUES ({row}.{column}); END")
    elif dialect == "postgresql":
        for table, column in TRACKED:
            op.execute(f"""
CREATE FUNCTION search_log_{table}() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO search_changes (asset_id) VALUES (OLD.{column});
  ELSE
    INSERT INTO search_changes (asset_id) VALUES (NEW.{column});
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql""")
            op.execute(f"CREATE TRIGGER search_{table}_log AFTER INSERT OR UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION search_log_{table}()")
    else:
        raise NotImplementedError(f"search change triggers for {dialect}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, _column in TRACKED:
        if dialect == "sqlite":
            for tag, _event, _row in EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS search_{table}_{tag}")
        elif dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS search_{table}_log ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS search_log_{table}()")
    op.drop_table("search_embeddings")
    op.drop_table("search_changes")
