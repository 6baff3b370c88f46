"""The import log: one row per ``import-markers`` run that stored something (``marker_imports``), and per
marker it touched one item (``marker_import_items``): role ``created`` (an addition, or the new marker of a
change) or ``superseded`` (a marker the import replaced or deleted). :func:`undo_import` brings back what an
import replaced or deleted and removes what it created, as long as nothing it created was edited since.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from cogvlm_media.store.models import Asset, Base, Marker, utcnow
from cogvlm_media.store.nle_links import NleLink


class UndoFailed(ValueError):
    """The import cannot be undone; the message is one line for the user."""


class MarkerImport(Base):
    __tablename__ = "marker_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    format: Mapped[str] = mapped_column(String(32))
    file: Mapped[str] = mapped_column(Text)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    added: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MarkerImportItem(Base):
    __tablename__ = "marker_import_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("marker_imports.id", ondelete="CASCADE"), index=True)
    marker_id: Mapped[int] = mapped_column(ForeignKey("markers.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # created | superseded


def record_import(session: Session, asset: Asset, *, fmt: str, file: str, forced: bool, added: int,
                  changed: int, deleted: int, refused: int, created: list[Marker],
                  superseded: list[Marker]) -> MarkerImport:
    row = MarkerImport(asset_id=asset.id, format=fmt, file=file, forced=forced, added=added, changed=changed,
                       deleted=deleted, refused=refused)
    session.add(row)
    session.flush()
    session.add_all([MarkerImportItem(import_id=row.id, marker_id=m.id, role="created") for m in created]
                    + [MarkerImportItem(import_id=row.id, marker_id=m.id, role="superseded") for m in superseded])
    session.flush()
    return row


def _items(session: Session, import_id: int, role: str) -> list[Marker]:
    return list(session.scalars(select(Marker).join(MarkerImportItem, MarkerImportItem.marker_id == Marker.id)
                                .where(MarkerImportItem.import_id == import_id, MarkerImportItem.role == role)
                                .order_by(Marker.id)))


def _later_import(session: Session, marker_id: int) -> int | None:
    return session.scalars(select(MarkerImportItem.import_id).join(MarkerImport)
                           .where(MarkerImportItem.marker_id == marker_id, MarkerImportItem.role == "superseded",
                                  MarkerImport.undone_at.is_(None))).first()


def undo_import(session: Session, import_id: int) -> tuple[MarkerImport, int, int]:
    """Undo one import: (its record, markers brought back, markers removed); UndoFailed otherwise."""
    row = session.get(MarkerImport, import_id)
    if row is None:
        raise UndoFailed(f"no marker import {import_id}")
    if row.undone_at is not None:
        raise UndoFailed(f"import {import_id} was already undone at {row.undone_at:%Y-%m-%d %H:%M:%S}")
    created, superseded = _items(session, import_id, "created"), _items(session, import_id, "superseded")
    if len(created) != row.added + row.changed or len(superseded) != row.changed + row.deleted:
        raise UndoFailed(f"import {import_id}: some of its markers are gone (asset {row.asset_id} was re-analysed "
                         "since); nothing undone")
    for mk in created:
        if mk.superseded:
            later = _later_import(session, mk.id)
            raise UndoFailed(f"import {import_id}: its marker {mk.id} {mk.name!r} was changed since ("
                             + (f"by import {later}: undo-import {later} first" if later else "on the review page "
                                "or by an NLE sync") + "); nothing undone")
    for old in superseded:
        old.superseded = False
    for mk in created:
        if mk.replaces_id is not None:
            old = session.get(Marker, mk.replaces_id)
            if old is not None:
                old.scene_id = mk.scene_id
                session.execute(update(NleLink).where(NleLink.marker_id == mk.id).values(marker_id=old.id))
        mk.scene_id = None
    session.flush()
    for mk in created:
        session.delete(mk)
    row.undone_at = utcnow()
    session.flush()
    return row, len(superseded), len(created)


def imports_of(session: Session, asset_id: int) -> list[MarkerImport]:
    return list(session.scalars(select(MarkerImport).where(MarkerImport.asset_id == asset_id)
                                .order_by(MarkerImport.id)))
