"""Checks an imported marker file passes before anything is stored.

- :func:`check_media`: does the file belong to the asset? What the file says about its media
  (:class:`~cogvlm_media.store.marker_edits.MediaClaim`: file name, length, first frame, rate, our asset
  id, the source range a clip uses) and whose markers its ids name are compared with the asset.
  A contradiction is a mismatch (refused unless forced); a file name, our asset id or one of the asset's
  own marker ids that agrees makes the match *proven*. Without proof (the match rests on ``--asset``
  alone) no verified marker is deleted.
- :func:`place_on_timeline`: record-timecode formats (Resolve's marker EDL) depend on where the timeline
  started. When the file's ids show its markers sit a constant offset from the stored ones, that offset
  is applied (and said); when no marker falls inside the media from the assumed start, the import is
  refused with the numbers. Nothing is clamped.
- :func:`split_outside`: markers that start outside ``0..duration`` (as the review API refuses them) are
  dropped and listed; a range running past the media's end is cut there, with a note.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cogvlm_media.media.timecode import label
from cogvlm_media.store.import_plan import TOLERANCE, live_ids
from cogvlm_media.store.marker_edits import ImportSet, Incoming
from cogvlm_media.store.models import Asset, Marker
from cogvlm_media.store.queries import marks_for


class ImportRefused(ValueError):
    """The file is refused; the message is one line for the user."""


@dataclass
class Identity:
    mismatches: list[str] = field(default_factory=list)  # what contradicts the asset
    proofs: list[str] = field(default_factory=list)  # what shows the file is the asset's

    @property
    def proven(self) -> bool:
        return bool(self.proofs) and not self.mismatches


def _seconds(frames: int, rate: Fraction) -> str:
    return f"{float(Fraction(frames) / rate):.2f} s"


def _names(asset: Asset) -> set[str]:
    out = set()
    for p in asset.paths:
        name = Path(p.path).name.casefold()
        out |= {name, Path(name).stem}
    return out


def check_media(session: Session, asset: Asset, data: ImportSet, source_start: int, drop: bool = False) -> Identity:
    rate = Fraction(asset.fps_num, asset.fps_den)

    def tc(frame: int) -> str:
        return label(frame, rate, drop)
    ident = Identity()
    claim = data.media
    if claim is not None:
        names = _names(asset)
        if claim.file_name:
            if claim.file_name.casefold() in names:
                ident.proofs.append(f"file {claim.file_name}")
            else:
                ident.mismatches.append(f"its media file is {claim.file_name}")
        elif claim.clip_name and (claim.clip_name.casefold() in names or Path(claim.clip_name.casefold()).stem in names):
            ident.proofs.append(f"clip {claim.clip_name}")
        if claim.asset_id is not None:
            if claim.asset_id == asset.id:
                ident.proofs.append(f"asset id {asset.id}")
            else:
                ident.mismatches.append(f"it was exported from asset {claim.asset_id}")
        other_rate = claim.rate is not None and abs(float(claim.rate) - float(rate)) > 0.01
        if other_rate:
            ident.mismatches.append(f"its media runs at {float(claim.rate):.3f} fps, not {float(rate):.3f}")
        if claim.frames is not None and not other_rate and abs(claim.frames - asset.frame_count) > TOLERANCE:
            ident.mismatches.append(f"its media is {claim.frames} frames ({_seconds(claim.frames, rate)}), "
                                    f"not {asset.frame_count} ({_seconds(asset.frame_count, rate)})")
        if claim.start is not None and not other_rate and abs(claim.start - source_start) > TOLERANCE:
            ident.mismatches.append(f"its media starts at {tc(claim.start)}, not "
                                    f"{tc(source_start)}")
        if claim.used is not None and not other_rate:
            first, end = claim.used
            if first < source_start - TOLERANCE or end > source_start + asset.frame_count + TOLERANCE:
                ident.mismatches.append(
                    f"its clip uses source {tc(first)}-{tc(end)}, outside the "
                    f"asset's {tc(source_start)}-{tc(source_start + asset.frame_count)}")
    ids = {i for inc in data.items for i in inc.ids}
    if ids:
        owners = dict(session.execute(select(Marker.id, Marker.asset_id).where(Marker.id.in_(ids))).all())
        if any(owner == asset.id for owner in owners.values()):
            ident.proofs.append("its marker ids")
        elif owners:
            others = sorted(set(owners.values()))
            ident.mismatches.append(f"its marker ids are asset {', '.join(map(str, others))}'s")
    return ident


def mismatch_line(path: Path, asset: Asset, ident: Identity) -> str:
    rate = Fraction(asset.fps_num, asset.fps_den)
    name = Path(asset.paths[-1].path).name if asset.paths else f"asset-{asset.id}"
    return (f"{path.name} does not belong to asset {asset.id} ({name}, {_seconds(asset.frame_count, rate)}): "
            f"{'; '.join(ident.mismatches)} (--force imports it anyway)")


def _inside(inc: Incoming, asset: Asset) -> bool:
    return 0 <= inc.frame <= asset.frame_count


def place_on_timeline(session: Session, asset: Asset, data: ImportSet, *, start_label: str, origin: str,
                      explicit: bool) -> tuple[ImportSet, list[str]]:
    """(the markers on the asset's frame grid, notes); ImportRefused when nothing fits the media."""
    if data.record_start is None or not data.items:
        return data, []
    rate = Fraction(asset.fps_num, asset.fps_den)
    notes = []
    if not explicit:
        live_id = live_ids(session, asset)
        marks = {mk.id: mk for mk in marks_for(asset)}
        offsets = Counter()
        for inc in data.items:
            target = next((t for t in (live_id(i) for i in inc.ids) if t in marks), None)
            if target is not None:
                offsets[inc.frame - marks[target].frame] += 1
        if offsets:
            shift, count = offsets.most_common(1)[0]
            if abs(shift) > TOLERANCE and count >= 2 and count * 2 > sum(offsets.values()):
                data = replace(data, items=[replace(i, frame=i.frame - shift) for i in data.items],
                               record_start=data.record_start + shift)
                notes.append(f"the timeline starts at {label(data.record_start, rate, ';' in start_label)}, not "
                             f"{start_label} ({origin}): found from {count} markers' ids and applied")
                return data, notes
    if not any(_inside(inc, asset) for inc in data.items):
        frames = sorted(data.record_start + inc.frame for inc in data.items)
        drop = ";" in start_label
        raise ImportRefused(
            f"no marker falls inside asset {asset.id} (0-{_seconds(asset.frame_count, rate)}) when the timeline "
            f"starts at {start_label} ({origin}): the markers run {label(frames[0], rate, drop)}-"
            f"{label(frames[-1], rate, drop)}; give the timeline's start with --start-tc")
    return data, notes


def split_outside(asset: Asset, data: ImportSet) -> tuple[ImportSet, list[str], tuple[int, ...], list[str]]:
    """(the markers that start inside the media, a line per marker refused, the ids the refused ones carry,
    notes on ranges cut at the media's end)."""
    rate = Fraction(asset.fps_num, asset.fps_den)
    inside, refused, ids, notes = [], [], [], []
    for inc in data.items:
        if _inside(inc, asset):
            end = inc.frame + (inc.frames or 0)
            if end > asset.frame_count + TOLERANCE:
                notes.append(f"marker {inc.name!r} at {_seconds(inc.frame, rate)} ran {_seconds(end - asset.frame_count, rate)} "
                             f"past the media's end ({_seconds(asset.frame_count, rate)}): its range ends there")
                inc = replace(inc, frames=asset.frame_count - inc.frame)
            inside.append(inc)
            continue
        ids += inc.ids
        where = _seconds(inc.frame, rate) + (f" + {_seconds(inc.frames, rate)}" if inc.frames else "")
        refused.append(f"refused marker {inc.name!r} at {where}: outside the media "
                       f"(0-{_seconds(asset.frame_count, rate)})")
    return replace(data, items=inside), refused, tuple(ids), notes
