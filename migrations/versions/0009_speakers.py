"""speakers: named voices, each asset's speakers and turns, and the speaker of every transcript segment

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("embedding", sa.JSON(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voices")),
        sa.UniqueConstraint("name", name=op.f("uq_voices_name")),
    )
    op.create_table(
        "asset_speakers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("embedding", sa.JSON(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("voice_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name=op.f("fk_asset_speakers_asset_id_assets"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["voice_id"], ["voices.id"], name=op.f("fk_asset_speakers_voice_id_voices"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_speakers")),
        sa.UniqueConstraint("asset_id", "label", name=op.f("uq_asset_speakers_asset_id")),
    )
    op.create_table(
        "speaker_turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name=op.f("fk_speaker_turns_asset_id_assets"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_speaker_turns")),
        sa.UniqueConstraint("asset_id", "index", name=op.f("uq_speaker_turns_asset_id")),
    )
    with op.batch_alter_table("asset_speakers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_asset_speakers_voice_id"), ["voice_id"], unique=False)
    with op.batch_alter_table("speaker_turns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_speaker_turns_asset_id"), ["asset_id"], unique=False)
    with op.batch_alter_table("transcript_segments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("speaker", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("speaker_label", sa.String(length=32), nullable=True))


def downgrade() -> None:
    # in place, not batch mode: on SQLite batch mode copies the table and its search triggers (0002) are lost
    op.drop_column("transcript_segments", "speaker_label")
    op.drop_column("transcript_segments", "speaker")
    with op.batch_alter_table("speaker_turns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_speaker_turns_asset_id"))
    with op.batch_alter_table("asset_speakers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_speakers_voice_id"))
    op.drop_table("speaker_turns")
    op.drop_table("asset_speakers")
    op.drop_table("voices")
