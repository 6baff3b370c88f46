"""Tables the search stage adds (migration 0002): stored embeddings and the change log.

``search_changes`` is filled by database triggers on every insert, update and delete of the
searchable tables, so any writer (ingest, marker import, a hand edit in SQL) advances it. Its
largest id is the high-water mark an index records when it commits; catching up means re-indexing
the assets named by the rows above it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from cogvlm_media.store.models import Base, utcnow

# Tables whose rows feed the search documents: (table, column naming the asset).
TRACKED_TABLES = (
    ("assets", "id"),
    ("markers", "asset_id"),
    ("windows", "asset_id"),
    ("transcript_segments", "asset_id"),
    ("scenes", "asset_id"),
)


class SearchChange(Base):
    """One changed row of a searchable table (written by triggers, pruned once indexed)."""

    __tablename__ = "search_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[int] = mapped_column(Integer)


class SearchEmbedding(Base):
    """A text's embedding under one model, keyed by a hash of (model, text): shared by every
    document with that text and kept across re-analysis, so unchanged text is never re-embedded."""

    __tablename__ = "search_embeddings"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)  # sha1(model + "\0" + text)
    model: Mapped[str] = mapped_column(String(128))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # little-endian float16, L2-normalised
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
