"""People: faces found in the footage, clustered across the whole archive into one stored person each.

A :class:`Person` holds the running mean of its faces' embeddings (the centroid new faces are compared
with) and the editor's name for it. A :class:`FaceRow` is one face on one sampled frame of one asset;
a :class:`FaceScan` records the sampled times of an asset; a :class:`PersonAppearance` is a time range of an asset in which a person is seen, with the ``person``
marker that carries it into search and exports.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cogvlm_media.store.models import Base, utcnow


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)  # None until the editor names the person
    centroid: Mapped[list[float]] = mapped_column(JSON)  # mean embedding of the faces
    faces: Mapped[int] = mapped_column(Integer, default=0)  # how many faces the centroid averages
    model_version: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    @property
    def label(self) -> str:
        return self.name or f"Person {self.id}"


class FaceRow(Base):
    __tablename__ = "faces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    time: Mapped[float] = mapped_column(Float)
    frame: Mapped[int] = mapped_column(Integer)
    # left, top, width, height as fractions of the frame
    left: Mapped[float] = mapped_column(Float)
    top: Mapped[float] = mapped_column(Float)
    width: Mapped[float] = mapped_column(Float)
    height: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    track: Mapped[int] = mapped_column(Integer, default=0)
    embedding: Mapped[list[float]] = mapped_column(JSON)


class FaceScan(Base):
    """Which frames of an asset the faces stage looked at, and with which model."""

    __tablename__ = "face_scans"

    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(128), default="")
    sample_times: Mapped[list[float]] = mapped_column(JSON)
    skipped: Mapped[list[str]] = mapped_column(JSON, default=list)  # frames that could not be decoded
    scanned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PersonAppearance(Base):
    __tablename__ = "person_appearances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    faces: Mapped[int] = mapped_column(Integer, default=0)
    marker_id: Mapped[int | None] = mapped_column(ForeignKey("markers.id", ondelete="SET NULL"))
