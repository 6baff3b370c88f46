"""nle links: NLE marker (Premiere GUID / Resolve customData) -> our marker, one per use of a clip

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nle_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nle", sa.String(length=16), nullable=False),
        sa.Column("container", sa.String(length=255), nullable=False),
        sa.Column("nle_key", sa.String(length=255), nullable=False),
        sa.Column("use_key", sa.String(length=255), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("marker_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name=op.f("fk_nle_links_asset_id_assets"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["marker_id"], ["markers.id"], name=op.f("fk_nle_links_marker_id_markers"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nle_links")),
        sa.UniqueConstraint("nle", "container", "nle_key", name=op.f("uq_nle_links_nle")),
    )
    with op.batch_alter_table("nle_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nle_links_asset_id"), ["asset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_nle_links_marker_id"), ["marker_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("nle_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nle_links_marker_id"))
        batch_op.drop_index(batch_op.f("ix_nle_links_asset_id"))
    op.drop_table("nle_links")
