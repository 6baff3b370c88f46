"""text events: on-screen text (slates, lower thirds, title cards) per asset, from the text stage

Revision ID: 0010
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "text_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("width", sa.Float(), nullable=False),
        sa.Column("height", sa.Float(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("model_version", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name=op.f("fk_text_events_asset_id_assets"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_events")),
        sa.UniqueConstraint("asset_id", "index", name=op.f("uq_text_events_asset_id")),
    )
    with op.batch_alter_table("text_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_text_events_asset_id"), ["asset_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("text_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_text_events_asset_id"))
    op.drop_table("text_events")
