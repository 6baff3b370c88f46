"""marker imports: one row per import-markers run that stored something, one item per marker it created
or superseded (what undo-import restores)

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "marker_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name=op.f("fk_marker_imports_asset_id_assets"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marker_imports")),
    )
    with op.batch_alter_table("marker_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_marker_imports_asset_id"), ["asset_id"], unique=False)
    op.create_table(
        "marker_import_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("marker_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["import_id"], ["marker_imports.id"],
                                name=op.f("fk_marker_import_items_import_id_marker_imports"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["marker_id"], ["markers.id"], name=op.f("fk_marker_import_items_marker_id_markers"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marker_import_items")),
    )
    with op.batch_alter_table("marker_import_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_marker_import_items_import_id"), ["import_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_marker_import_items_marker_id"), ["marker_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("marker_import_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_marker_import_items_marker_id"))
        batch_op.drop_index(batch_op.f("ix_marker_import_items_import_id"))
    op.drop_table("marker_import_items")
    with op.batch_alter_table("marker_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_marker_imports_asset_id"))
    op.drop_table("marker_imports")
