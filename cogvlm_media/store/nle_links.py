"""The link from a marker inside an NLE to our marker: one row per NLE marker (Premiere's marker GUID,
or the ``customData`` string the Resolve plugin gives each marker it adds), per use of a clip.

``container`` names where the NLE marker lives (a Resolve timeline's unique id, a Premiere sequence or
project item); ``use_key`` names the use of the clip on it (a timeline item), so a clip used twice gets
two sets of links. When an editor's change replaces our marker, the link moves to the new marker.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cogvlm_media.store.models import Base, utcnow

NLES = ("resolve", "premiere")


class NleLink(Base):
    __tablename__ = "nle_links"
    __table_args__ = (UniqueConstraint("nle", "container", "nle_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nle: Mapped[str] = mapped_column(String(16))
    container: Mapped[str] = mapped_column(String(255))
    nle_key: Mapped[str] = mapped_column(String(255))
    use_key: Mapped[str] = mapped_column(String(255), default="")
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    marker_id: Mapped[int] = mapped_column(ForeignKey("markers.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
