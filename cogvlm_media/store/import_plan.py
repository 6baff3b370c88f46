"""An imported marker list (:class:`~cogvlm_media.store.marker_edits.ImportSet`) as a plan, then stored.

:func:`plan_import` decides, writing nothing: an incoming marker matches a stored one by id (OTIO
metadata, the JSON, or the ``[cm:N]`` tag in a note), else by time within one frame and name compared
case-insensitively, else it is new. A stored marker missing from the file counts as deleted only when
the format carries ids and at least one of the file's ids is this asset's (the file came from an export
of it); a verified marker is never deleted unless the file was shown to belong to the asset
(``proven``). :func:`apply_plan` stores a plan through the marker edits and returns what it created and
what it superseded, for the import log (:mod:`cogvlm_media.store.import_log`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from sqlalchemy.orm import Session

from cogvlm_media.store.marker_edits import ImportSet, Incoming, add_marker, delete_marker, replace_marker
from cogvlm_media.store.models import Asset, Marker
from cogvlm_media.store.queries import KINDS, Mark, live_successor, marks_for

TOLERANCE = 1  # frames: collision nudges and rounding stay "unchanged"


@dataclass
class ImportPlan:
    """What an import would do to one asset's markers."""

    format: str
    unchanged: int = 0
    changes: list[tuple[Mark, Incoming]] = field(default_factory=list)  # (stored marker, its new state)
    additions: list[Incoming] = field(default_factory=list)
    deletions: list[Mark] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # one line each: what was not done and why

    def counts(self) -> str:
        return (f"{self.unchanged} unchanged, {len(self.changes)} changed, {len(self.additions)} added, "
                f"{len(self.deletions)} deleted, {len(self.refused)} refused")

    @property
    def empty(self) -> bool:
        return not (self.changes or self.additions or self.deletions)


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


def live_ids(session: Session, asset: Asset) -> Callable[[int], int | None]:
    """marker id -> the id of the live marker it became on ``asset`` (None: gone, or not this asset's)."""
    rows = {r.id: r for r in asset.markers}

    def live_id(marker_id: int) -> int | None:
        live = live_successor(session, rows.get(marker_id), rows.values())
        return live.id if live is not None else None
    return live_id


def plan_import(session: Session, asset: Asset, data: ImportSet, *, allow_delete: bool = True,
                proven: bool = True, present: tuple[int, ...] = ()) -> ImportPlan:
    """The plan for ``data`` (markers already checked to lie inside the media). ``present``: ids of markers
    the file holds but that were refused, which therefore do not count as deleted."""
    live_id = live_ids(session, asset)
    marks = {mk.id: mk for mk in marks_for(asset, KINDS)}
    plan = ImportPlan(data.format)
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
            matched[target] = inc  # among duplicates (clip and sequence markers) the first edited copy wins
    for target, inc in matched.items():
        if _differs(marks[target], inc):
            plan.changes.append((marks[target], inc))
        else:
            plan.unchanged += 1
    plan.additions = new
    ours = {live_id(i) for inc in data.items for i in inc.ids} | {live_id(i) for i in present}
    ours &= set(marks)
    # deletions only from a file exported from this asset: one of its ids is this asset's
    if allow_delete and data.carries_ids and ours:
        scope = set(data.kinds or KINDS)
        for mid, mark in marks.items():
            if mid in matched or mid in ours or mark.kind not in scope:
                continue
            if mark.verified and not proven:
                plan.refused.append(f"kept verified marker {mid} {mark.name!r}: missing from the file, but "
                                    f"nothing in the file shows it belongs to asset {asset.id}")
                continue
            plan.deletions.append(mark)
    return plan


def apply_plan(session: Session, asset: Asset, plan: ImportPlan, *, editor_colour: str = "RED"
               ) -> tuple[list[Marker], list[Marker]]:
    """Store ``plan``: (markers created, markers superseded)."""
    rate = Fraction(asset.fps_num, asset.fps_den)
    rows = {r.id: r for r in asset.markers}
    created: list[Marker] = []
    superseded: list[Marker] = []
    for mark, inc in plan.changes:
        old = rows[mark.id]
        name = old.name if inc.upper_cased and inc.name.casefold() == old.name.casefold() else inc.name
        moved = abs(inc.frame - mark.frame) > TOLERANCE
        resized = inc.frames is not None and abs(inc.frames - mark.frames) > TOLERANCE
        created.append(replace_marker(session, old, time=float(Fraction(inc.frame) / rate) if moved else None,
                                      duration=float(Fraction(inc.frames) / rate) if resized else None,
                                      name=name, note=inc.note, colour=inc.colour or None))
        superseded.append(old)
    for inc in plan.additions:
        created.append(add_marker(session, asset, time=float(Fraction(inc.frame) / rate),
                                  duration=float(Fraction(inc.frames or 0) / rate), name=inc.name,
                                  note=inc.note or "", kind=inc.kind, colour=inc.colour or editor_colour))
    for mark in plan.deletions:
        delete_marker(rows[mark.id])
        superseded.append(rows[mark.id])
    session.flush()
    return created, superseded
