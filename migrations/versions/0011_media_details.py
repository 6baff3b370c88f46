"""media details: the first audio stream's channels, sample rate and bit depth, and the pixel aspect ratio

What an NLE file describes a clip with (FCP 7 XML: ``channelcount``, ``samplerate``, ``depth``,
``pixelaspectratio``). Nullable: rows stored before this revision hold NULL until their file is analysed
again (the FCP 7 XML export probes the file then, or writes Premiere's defaults). ``ADD COLUMN`` and
``DROP COLUMN`` run in place on SQLite (3.35 and later) and PostgreSQL: the assets table is not copied, so
its search triggers (0002) stay.

Revision ID: 0011
Revises: 0010
"""

from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

COLUMNS = ("audio_channels", "audio_sample_rate", "audio_bits", "pixel_aspect_num", "pixel_aspect_den")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("assets", sa.Column(name, sa.Integer(), nullable=True))


def downgrade() -> None:
    for name in reversed(COLUMNS):
        op.drop_column("assets", name)  # not batch mode: on SQLite that would rebuild the table without its triggers
