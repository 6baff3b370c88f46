"""The marker edits, one place for all: an editor's change never overwrites a model marker. The new
marker (verified, source "editor") points at the one it replaces, which is kept as superseded history;
a deletion supersedes without a replacement. :func:`replace_marker`, :func:`add_marker` and
:func:`delete_marker` are what the review API's edits, the NLE routes' sync and :func:`apply_import`
(``import-markers``) store.

Applying an imported marker list (:class:`ImportSet`, read from an NLE file by
:mod:`cogvlm_media.export.markers_import`): an incoming marker matches a stored one by id (OTIO metadata,
the JSON, or the ``[cm:N]`` tag in a note), else by time within one frame and name compared
case-insensitively, else it is new. A stored marker missing from the file counts as deleted only when
the format carries ids and the file holds at least one (it came from an export).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from cogvlm_media.store.models import Asset, Marker
from cogvlm_media.store.queries import KINDS, Mark, live_successor, marks_for
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


@dataclass
class ImportSet:
    """The markers read from one NLE file."""

    format: str
    items: list[Incoming]
    carries_ids: bool
    kinds: tuple[str, ...] | None = None  # kinds the export held (None: unknown, all kinds)


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


TOLERANCE = 1  # frames: collision nudges and rounding stay "unchanged"


@dataclass
class Summary:
    format: str
    unchanged: int = 0
    changed: list[int] = field(default_factory=list)  # ids of replaced markers
    added: int = 0
    deleted: list[int] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.format}: {self.unchanged} unchanged, {len(self.changed)} changed, {self.added} added, "
                f"{len(self.deleted)} deleted")


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


def _differs(mark: Mark, inc: Incoming) -> bool:
    if abs(inc.frame - mark.frame) > TOLERANCE:
        return True
    same_name = inc.name.casefold() == mark.name.casefold() if inc.upper_cased else \
        " ".join(inc.name.split()) == " ".join(mark.name.replace("|", "/").split()) or inc.name == mark.name
    if not same_name:
        return True
    if inc.note is not None and " ".join(inc.note.split()) != " ".join(mark.note.replace("|", "/").split()):
        return True
    if inc.frames is not None and abs(inc.frames - mark.frames) > TOLERANCE:
        return True
    return bool(inc.colour) and inc.colour.upper() != mark.colour.upper()


def apply_import(session: Session, asset: Asset, data: ImportSet, *, allow_delete: bool = True,
                 editor_colour: str = "RED") -> Summary:
    """Store an imported marker list for ``asset``: changes, additions and (where the file says so) deletions."""
    rate = Fraction(asset.fps_num, asset.fps_den)
    rows = {r.id: r for r in asset.markers}

    def live_id(marker_id: int) -> int | None:
        live = live_successor(session, rows.get(marker_id), rows.values())
        return live.id if live is not None else None

    marks = {mk.id: mk for mk in marks_for(asset, KINDS)}
    summary = Summary(data.format)
    matched: dict[int, Incoming] = {}
    new: list[Incoming] = []
    for inc in data.items:
        target = next((t for t in (live_id(i) for i in inc.ids) if t in marks), None)
        if target is None:
            target = next((mid for mid, mk in marks.items() if mid not in matched
                           and abs(mk.frame - inc.frame) <= TOLERANCE and mk.name.casefold() == inc.name.casefold()),
                          None)
        if target is None:
            new.append(inc)
            continue
        for extra in inc.ids[1:]:  # a merged marker stands for the others too
            extra_live = live_id(extra)
            if extra_live in marks:
                matched.setdefault(extra_live, inc)
        if target not in matched or not _differs(marks[target], matched[target]):
            matched[target] = inc  # among duplicates (clip and sequence markers) an edited copy wins
    for target, inc in matched.items():
        mark = marks[target]
        if not _differs(mark, inc):
            summary.unchanged += 1
            continue
        old = rows[target]
        name = old.name if inc.upper_cased and inc.name.casefold() == old.name.casefold() else inc.name
        moved = abs(inc.frame - mark.frame) > TOLERANCE
        resized = inc.frames is not None and abs(inc.frames - mark.frames) > TOLERANCE
        replace_marker(session, old, time=float(Fraction(inc.frame) / rate) if moved else None,
                       duration=float(Fraction(inc.frames) / rate) if resized else None,
                       name=name, note=inc.note, colour=inc.colour or None)
        summary.changed.append(old.id)
    for inc in new:
        add_marker(session, asset, time=float(Fraction(max(inc.frame, 0)) / rate),
                   duration=float(Fraction(inc.frames or 0) / rate), name=inc.name, note=inc.note or "",
                   kind=inc.kind, colour=inc.colour or editor_colour)
        summary.added += 1
    # a file without a single id tag did not come from an export (e.g. Resolve's own markers): no deletions
    if allow_delete and data.carries_ids and any(inc.ids for inc in data.items):
        scope = set(data.kinds or KINDS)
        for mid, mark in marks.items():
            if mid not in matched and mark.kind in scope:
                delete_marker(rows[mid])
                summary.deleted.append(mid)
    session.flush()
    return summary
