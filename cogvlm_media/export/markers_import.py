"""Markers coming back from an NLE, read into one shape (:class:`Incoming`, frames from the file's
first frame) by a small reader per format; :mod:`cogvlm_media.export.reconcile` stores them."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
from opentimelineio import opentime

from cogvlm_media.export import resolve_edl
from cogvlm_media.export.plain_text import strip_controls
from cogvlm_media.export.timeline import NAMESPACE, check_timecode, placement, split_tag
from cogvlm_media.store import models as m

FORMATS = ("otio", "edl-resolve", "edl", "fcp7xml", "fcpxml", "json")


class ImportFailed(ValueError):
    """The file cannot be imported; the message is one line for the user."""


@dataclass(frozen=True)
class Incoming:
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
    format: str
    items: list[Incoming]
    carries_ids: bool
    kinds: tuple[str, ...] | None = None  # kinds the export held (None: unknown, all kinds)


def detect(path: Path, text: str) -> str:
    head = text[:4000]
    if path.suffix.lower() == ".otio" or '"OTIO_SCHEMA"' in head:
        return "otio"
    if path.suffix.lower() == ".json":
        return "json"
    if "<xmeml" in head:
        return "fcp7xml"
    if "<fcpxml" in head:
        return "fcpxml"
    if "|C:" in text and "|M:" in text:
        return "edl-resolve"
    if re.search(r"^\s*TITLE:|^\d{3}\s", text, re.M):
        return "edl"
    raise ImportFailed(f"{path}: not a marker file cogvlm-media can read ({', '.join(FORMATS)})")


def ndf_locators(text: str, rate: float) -> str:
    """Rewrite drop-frame ``* LOC:`` labels as the non-drop label of the same frame: OpenTimelineIO's
    CMX reader only matches ``HH:MM:SS:FF`` locators and reads those as non-drop."""
    def fix(found: re.Match) -> str:
        frame = opentime.from_timecode(found.group(2), rate)
        return found.group(1) + opentime.to_timecode(frame, rate, drop_frame=False)
    return re.sub(r"^(\*\s*LOC:\s*)(\d\d:\d\d:\d\d;\d\d)", fix, text, flags=re.M)


def _frame(t: opentime.RationalTime, rate: Fraction) -> int:
    return int(round(t.rescaled_to(float(rate)).value))


def _pick_clip(tl: otio.schema.Timeline, asset: m.Asset) -> otio.schema.Clip:
    clips = list(tl.find_clips())
    names = {Path(p.path).name for p in asset.paths}
    for c in clips:
        if c.metadata.get(NAMESPACE, {}).get("asset_id") == asset.id:
            return c
    named = [c for c in clips if c.name in names or Path(getattr(c.media_reference, "target_url", "") or "").name in names]
    if named:
        return named[0]
    if len(clips) == 1:
        return clips[0]
    raise ImportFailed(f"the timeline has {len(clips)} clips and none is asset {asset.id}")


def _otio(tl, asset: m.Asset, rate: Fraction, src_start: int) -> ImportSet:
    clip = _pick_clip(tl, asset)
    ref = clip.media_reference
    base = _frame(ref.available_range.start_time, rate) if ref and ref.available_range else src_start
    items = []
    for mk in clip.markers:
        meta = mk.metadata.get(NAMESPACE, {})
        note, tag_ids = split_tag(mk.comment or "")
        ids = tuple(meta.get("ids") or ([meta["id"]] if meta.get("id") else [])) or tag_ids
        items.append(Incoming(ids, _frame(mk.marked_range.start_time, rate) - base,
                              _frame(mk.marked_range.duration, rate), mk.name, note, mk.color, meta.get("kind")))
    kinds = tl.metadata.get(NAMESPACE, {}).get("kinds")
    return ImportSet("otio", items, True, tuple(kinds) if kinds else None)


def _json(text: str, asset: m.Asset, rate: Fraction) -> ImportSet:
    data = json.loads(text)
    if data.get("format") != "cogvlm-media-markers":
        raise ImportFailed("not a cogvlm-media marker list (format cogvlm-media-markers)")
    entries = data.get("assets") or []
    entry = next((a for a in entries if a.get("id") == asset.id), entries[0] if len(entries) == 1 else None)
    if entry is None:
        raise ImportFailed(f"the marker list has no entry for asset {asset.id}")
    items = []
    for mk in entry.get("markers", []):
        frame = mk["frame"] if "frame" in mk else round(Fraction(str(mk["seconds"])) * rate)
        ids = tuple(mk.get("ids") or ([mk["marker_id"]] if mk.get("marker_id") else []))
        items.append(Incoming(ids, int(frame), int(mk.get("duration_frames", 0)), str(mk.get("name", "")),
                              str(mk.get("note", "")), (mk.get("colour") or None), mk.get("kind")))
    kinds = data.get("kinds")
    return ImportSet("json", items, True, tuple(kinds) if kinds else None)


def _resolve(text: str, rate: Fraction, record_start: int) -> ImportSet:
    items = []
    for mk in resolve_edl.read(text, rate):
        note, ids = split_tag(mk.note)
        items.append(Incoming(ids, mk.record_frame - record_start, mk.frames if mk.frames > 1 else 0,
                              mk.name, note, mk.colour))
    return ImportSet("edl-resolve", items, True)


def _cmx(text: str, asset: m.Asset, rate: Fraction, src_start: int) -> ImportSet:
    tl = otio.adapters.read_from_string(ndf_locators(text, float(rate)), "cmx_3600", rate=float(rate))
    clip = _pick_clip(tl, asset)
    items = [Incoming((), _frame(mk.marked_range.start_time, rate) - src_start, None, mk.name, None,
                      mk.color or None, upper_cased=True) for mk in clip.markers]
    return ImportSet("edl", items, False)


def _fcp7(text: str, asset: m.Asset, rate: Fraction) -> ImportSet:
    tl = otio.adapters.read_from_string(text, "fcp_xml")
    clip = _pick_clip(tl, asset)
    ref = clip.media_reference
    clip_in = _frame(clip.source_range.start_time - ref.available_range.start_time, rate) \
        if ref and ref.available_range else 0
    offset = _frame(clip.range_in_parent().start_time, rate)

    def incoming(mk, frame: int) -> Incoming:
        note, ids = split_tag((mk.metadata.get("fcp_xml") or {}).get("comment") or "")
        return Incoming(ids, frame, _frame(mk.marked_range.duration, rate), mk.name, note)

    items = [incoming(mk, _frame(mk.marked_range.start_time, rate)) for mk in clip.markers]
    items += [incoming(mk, _frame(mk.marked_range.start_time, rate) - offset + clip_in) for mk in tl.tracks.markers]
    return ImportSet("fcp7xml", items, True)


def _fcpx_time(value: str | None) -> Fraction:
    return Fraction((value or "0s").rstrip("s") or "0")


def _fcpx(text: str, rate: Fraction, src_start: int) -> ImportSet:
    """From the XML itself: OTIO's FCPX reader ignores notes and chapter markers and truncates
    23.976/29.97/59.94 to whole frame rates (marker times then drift by up to a frame)."""
    root = ET.fromstring(text.encode("utf-8"))
    if root.tag != "fcpxml":
        raise ImportFailed("not an FCPXML document")
    items = []
    for el in root.iter():
        if el.tag not in ("marker", "chapter-marker"):
            continue
        note, ids = split_tag(el.get("note") or "")
        items.append(Incoming(ids, int(round(_fcpx_time(el.get("start")) * rate)) - src_start,
                              int(round(_fcpx_time(el.get("duration")) * rate)), el.get("value") or "", note,
                              kind="scene" if el.tag == "chapter-marker" else None))
    return ImportSet("fcpxml", items, True)


def read_markers(path: Path, asset: m.Asset, *, fmt: str | None = None, start_tc: str | None = None,
                 default_start_tc: str = "01:00:00:00") -> ImportSet:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFailed(f"{path}: cannot read ({exc.__class__.__name__}: {exc})") from None
    fmt = fmt or detect(Path(path), text)
    if fmt not in FORMATS:
        raise ImportFailed(f"unknown import format {fmt!r} (choose from {', '.join(FORMATS)})")
    clip = placement(asset, ())
    rate = clip.rate
    try:
        if fmt == "otio":
            return _otio(otio.adapters.read_from_string(text, "otio_json"), asset, rate, clip.source_start)
        if fmt == "json":
            return _json(text, asset, rate)
        if fmt == "edl-resolve":
            record_start = check_timecode(start_tc or asset.start_timecode or default_start_tc, rate)
            return _resolve(text, rate, record_start)
        if fmt == "edl":
            return _cmx(text, asset, rate, clip.source_start)
        if fmt == "fcp7xml":
            return _fcp7(text, asset, rate)
        return _fcpx(text, rate, clip.source_start)
    except ImportFailed:
        raise
    except Exception as exc:  # adapters raise many types on malformed input
        first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:200]
        raise ImportFailed(f"{path}: not a readable {fmt} file ({first})") from None
