"""The marker edits, one place for all: an editor's change never overwrites a model marker. The new
marker (verified, source "editor") points at the one it replaces, which is kept as superseded history;
a deletion supersedes without a replacement. :func:`replace_marker`, :func:`add_marker` and
:func:`delete_marker` are what the review API's edits, the NLE routes' sync and ``import-markers``
(:mod:`cogvlm_media.store.import_plan`) store.

:class:`ImportSet` is what a reader (:mod:`cogvlm_media.export.markers_import`) makes of an NLE file:
its markers (:class:`Incoming`) and what it says about their media (:class:`MediaClaim`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from cogvlm_media.store.models import Asset, Marker
from cogvlm_media.store.queries import KINDS
from cogvlm_media.plain_text import strip_controls


@dataclass(frozen=True)
class Incoming:
    """One marker as an NLE file holds it, on the asset's frame grid (frame 0 = the file's first frame)."""

    ids: tuple[int, ...]
    frame: int
    frames: int | None  # None: the format does not carry durations
    name: str
    note: str | None  # None: the format does not carry notes
    colour: str | None = None
    kind: str | None = None
    upper_cased: bool = False  # CMX writers upper-case names: compare case-insensitively

    def __post_init__(self) -> None:  # an NLE file's control characters (NUL...) never reach the store
        object.__setattr__(self, "name", strip_controls(self.name or ""))
        if self.note is not None:
            object.__setattr__(self, "note", strip_controls(self.note))


@dataclass(frozen=True)
class MediaClaim:
    """What an NLE file says about the media its markers belong to (None: the format does not say)."""

    file_name: str | None = None  # the media file's name, from its URL or path
    clip_name: str | None = None  # the clip's name in the NLE (an editor may rename it)
    frames: int | None = None  # the media's length in frames
    start: int | None = None  # the media's first frame number (its source timecode)
    rate: Fraction | None = None
    asset_id: int | None = None  # cogvlm-media's asset id (files written by `export`)
    used: tuple[int, int] | None = None  # source frames a clip uses (first, end): must lie inside the media


@dataclass
class ImportSet:
    """The markers read from one NLE file."""

    format: str
    items: list[Incoming]
    carries_ids: bool
    kinds: tuple[str, ...] | None = None  # kinds the export held (None: unknown, all kinds)
    media: MediaClaim | None = None  # what the file says about the media its markers belong to
    record_start: int | None = None  # for record-timecode formats: the timeline start frame the reader assumed


class EditConflict(RuntimeError):
    """Another editor changed the marker first: the edit was not stored (reload and retry)."""


def conflict_message(marker_id: int | None = None) -> str:
    which = f"marker {marker_id}" if marker_id is not None else "a marker"
    return f"{which} was changed by another editor at the same time: nothing was stored, reload and retry"


def check_revision(marker: Marker, seen: int | None) -> None:
    """Raise :class:`EditConflict` when the editor saw another revision of ``marker`` than the stored one.
    (Without ``seen`` the row's own revision still guards the UPDATE: see Marker.revision.)"""
    if seen is not None and seen != marker.revision:
        raise EditConflict(conflict_message(marker.id) + f" (revision {seen}, now {marker.revision})")


#: What a write raises when a concurrent transaction changed a marker row it read (Marker.revision).
CONFLICTS = (EditConflict, StaleDataError)


def replace_marker(session: Session, old: Marker, *, time: float | None = None,
                   duration: float | None = None, name: str | None = None, note: str | None = None,
                   colour: str | None = None) -> Marker:
    """Store an editor's change to one marker: a new verified marker (source "editor") that replaces
    ``old``, which is kept as superseded history. Fields left as None keep the old value."""
    new = Marker(
        asset_id=old.asset_id, scene_id=old.scene_id, time=old.time if time is None else time,
        duration=old.duration if duration is None else duration, name=old.name if name is None else name,
        note=old.note if note is None else note, kind=old.kind, colour=(colour or old.colour).upper(),
        source="editor", verified=True, replaces_id=old.id)
    session.add(new)
    old.superseded, old.scene_id = True, None
    return new


def add_marker(session: Session, asset: Asset, *, time: float, name: str, duration: float = 0.0,
               note: str = "", kind: str = "editor", colour: str = "RED") -> Marker:
    """Store a marker an editor added (verified, source "editor")."""
    new = Marker(asset_id=asset.id, time=time, duration=duration, name=name, note=note,
                   kind=kind if kind in KINDS else "editor", colour=colour.upper(), source="editor", verified=True)
    session.add(new)
    return new


def delete_marker(old: Marker) -> None:
    """An editor's deletion: the marker is superseded without a replacement (kept as history)."""
    old.superseded = True
