"""SQLAlchemy 2 models. Portable types only: the schema runs on SQLite and PostgreSQL.

Times are seconds (float) from the file's first frame; frame numbers are 0-based decoded frames.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from cogvlm_media.store.fspath import FsPath

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Asset(Base):
    """One piece of footage, identified by its content fingerprint."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    duration: Mapped[float] = mapped_column(Float)
    fps_num: Mapped[int] = mapped_column(Integer)
    fps_den: Mapped[int] = mapped_column(Integer)
    frame_count: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    rotation: Mapped[int] = mapped_column(Integer, default=0)
    start_timecode: Mapped[str | None] = mapped_column(String(16))
    has_audio: Mapped[bool] = mapped_column(Boolean, default=False)
    variable_frame_rate: Mapped[bool] = mapped_column(Boolean, default=False)
    video_codec: Mapped[str] = mapped_column(String(32), default="")
    container: Mapped[str] = mapped_column(String(64), default="")
    # the first audio stream and the pixel aspect ratio (migration 0011): NULL in rows stored before it,
    # and for the audio columns in a file without sound (audio_bits also where the codec has no bit depth)
    audio_channels: Mapped[int | None] = mapped_column(Integer)
    audio_sample_rate: Mapped[int | None] = mapped_column(Integer)
    audio_bits: Mapped[int | None] = mapped_column(Integer)
    pixel_aspect_num: Mapped[int | None] = mapped_column(Integer)
    pixel_aspect_den: Mapped[int | None] = mapped_column(Integer)
    analyser: Mapped[str] = mapped_column(String(64), default="")
    analyser_version: Mapped[str] = mapped_column(String(64), default="")
    model_version: Mapped[str] = mapped_column(String(128), default="")
    transcript_language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    analysed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    paths: Mapped[list[AssetPath]] = relationship(back_populates="asset", cascade="all, delete-orphan",
                                                  order_by="AssetPath.id")
    shots: Mapped[list[Shot]] = relationship(cascade="all, delete-orphan", order_by="Shot.index")
    windows: Mapped[list[Window]] = relationship(cascade="all, delete-orphan", order_by="Window.index")
    scenes: Mapped[list[Scene]] = relationship(cascade="all, delete-orphan", order_by="Scene.index")
    markers: Mapped[list[Marker]] = relationship(cascade="all, delete-orphan", order_by="Marker.time",
                                                 foreign_keys="Marker.asset_id")
    segments: Mapped[list[TranscriptSegment]] = relationship(cascade="all, delete-orphan",
                                                             order_by="TranscriptSegment.index")
    text_events: Mapped[list[TextEvent]] = relationship(cascade="all, delete-orphan", order_by="TextEvent.index")


class AssetPath(Base):
    """A place on disk where an asset's file was seen. A path belongs to one asset at a time."""

    __tablename__ = "asset_paths"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(FsPath, unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    inode: Mapped[int] = mapped_column(BigInteger, default=0)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    asset: Mapped[Asset] = relationship(back_populates="paths")


class IngestRun(Base):
    """One attempt history for one file: the job queue shared by `ingest` and `watch`.

    status: queued -> running -> done | failed (retry later) | quarantined (gave up)
    """

    __tablename__ = "ingest_runs"
    __table_args__ = (
        Index("ix_ingest_runs_status_next", "status", "next_attempt_at"),
        # the claim's two ordered scans (migration 0006)
        Index("ix_ingest_runs_waiting", "next_attempt_at", "id", sqlite_where=text("status IN ('queued', 'failed')"),
              postgresql_where=text("status IN ('queued', 'failed')")),
        Index("ix_ingest_runs_leases", "next_attempt_at", "id", sqlite_where=text("status = 'running'"),
              postgresql_where=text("status = 'running'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(FsPath, index=True)
    size: Mapped[int | None] = mapped_column(BigInteger)
    mtime_ns: Mapped[int | None] = mapped_column(BigInteger)
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    source: Mapped[str] = mapped_column(String(16), default="ingest")  # "ingest" or "watch"
    reingest: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    worker: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(32))  # analysed | duplicate | unchanged
    stage: Mapped[str | None] = mapped_column(String(32))
    analyser: Mapped[str] = mapped_column(String(64), default="")
    analyser_version: Mapped[str] = mapped_column(String(64), default="")
    model_version: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Shot(Base):
    __tablename__ = "shots"
    __table_args__ = (UniqueConstraint("asset_id", "index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    start_frame: Mapped[int] = mapped_column(Integer)
    end_frame: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    transition: Mapped[str] = mapped_column(String(16), default="cut")
    confidence: Mapped[float] = mapped_column(Float, default=1.0)


class Window(Base):
    __tablename__ = "windows"
    __table_args__ = (UniqueConstraint("asset_id", "index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    first_frame: Mapped[int] = mapped_column(Integer)
    last_frame: Mapped[int] = mapped_column(Integer)
    frame_indices: Mapped[list[int]] = mapped_column(JSON)
    frame_times: Mapped[list[float]] = mapped_column(JSON)
    caption: Mapped[str | None] = mapped_column(Text)
    caption_source: Mapped[str | None] = mapped_column(String(64))


class Scene(Base):
    __tablename__ = "scenes"
    __table_args__ = (UniqueConstraint("asset_id", "index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(64))


class Marker(Base):
    """A timed note on an asset. Scenes appear here too (kind "scene", ranged) so that every
    exporter, importer and the NLE plugins deal with one list.

    An editor's change never overwrites a model marker: the new marker (verified, source "editor")
    points at the one it replaces through ``replaces_id`` and the old one is marked ``superseded``.
    """

    __tablename__ = "markers"
    __table_args__ = (Index("ix_markers_asset_time", "asset_id", "time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    scene_id: Mapped[int | None] = mapped_column(ForeignKey("scenes.id", ondelete="SET NULL"))
    time: Mapped[float] = mapped_column(Float)
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    name: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(32))  # scene | speech | moment | editor
    colour: Mapped[str] = mapped_column(String(16))  # an OpenTimelineIO colour name
    source: Mapped[str] = mapped_column(String(64))  # analyser name, or "editor"
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)  # replaced or deleted by an editor
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("markers.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    # Bumped by every UPDATE, which only applies where the row still has the revision this session read
    # (migration 0004): two editors changing one marker at once cannot both win (StaleDataError).
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": revision}


class TranscriptSegment(Base):
    __tablename__ = "transcript_segments"
    __table_args__ = (UniqueConstraint("asset_id", "index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    # [[word, start, end, probability], ...]
    words: Mapped[list[list]] = mapped_column(JSON, default=list)
    speaker: Mapped[str | None] = mapped_column(Text)  # what is shown: the voice's name, else speaker_label
    speaker_label: Mapped[str | None] = mapped_column(String(32))  # "Speaker 2": the file's own label


class TextEvent(Base):
    """On-screen text seen from ``start`` to ``end`` (analysis/text.py); its box is normalised to the frame."""

    __tablename__ = "text_events"
    __table_args__ = (UniqueConstraint("asset_id", "index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(16))  # slate | lower_third | title | text
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    width: Mapped[float] = mapped_column(Float)
    height: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(128), default="")
