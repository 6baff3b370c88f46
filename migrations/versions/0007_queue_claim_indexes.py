"""queue claim indexes: partial indexes the claim scans in order (waiting runs, then leased ones)

At 60,000 queued files the claim's single query (waiting OR expired lease, ORDER BY next_attempt_at, id)
had to sort every due row: ~55 ms a claim on PostgreSQL (bench/cluster_postgres.py). ``jobs.claim`` now
asks two questions, each answered by the first entry of one of these indexes.

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

WAITING = "status IN ('queued', 'failed')"
LEASED = "status = 'running'"


def upgrade() -> None:
    op.create_index("ix_ingest_runs_waiting", "ingest_runs", ["next_attempt_at", "id"],
                    sqlite_where=sa.text(WAITING), postgresql_where=sa.text(WAITING))
    op.create_index("ix_ingest_runs_leases", "ingest_runs", ["next_attempt_at", "id"],
                    sqlite_where=sa.text(LEASED), postgresql_where=sa.text(LEASED))


def downgrade() -> None:
    op.drop_index("ix_ingest_runs_leases", table_name="ingest_runs")
    op.drop_index("ix_ingest_runs_waiting", table_name="ingest_runs")
