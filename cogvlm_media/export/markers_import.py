"""Markers coming back from an NLE, read into one shape (:class:`Incoming`, frames from the file's
first frame) by a small reader per format, with a detector that says how surely a file is in it. The
format registry (:mod:`cogvlm_media.export.formats`) names them and reads a file through them;
:mod:`cogvlm_media.export.import_run` checks and stores what they read."""

from __future__ import annotations

import json
import re
import urllib.parse
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
from opentimelineio import opentime

from cogvlm_media.export import resolve_edl
from cogvlm_media.export.adapters import ascii_name
from cogvlm_media.export.timeline import NAMESPACE, Placement, check_timecode, split_tag
from cogvlm_media.store.marker_edits import ImportSet, Incoming, MediaClaim
from cogvlm_media.store.models import Asset

HEAD = 4000  # characters a detector looks at for a schema or root element


class ImportFailed(ValueError):
    """The file cannot be imported; the message is one line for the user."""


def detect_otio(path: Path, text: str) -> int:
    return 3 if path.suffix.lower() == ".otio" or '"OTIO_SCHEMA"' in text[:HEAD] else 0

    def __post_init__(self) -> None:  # an NLE file's control characters (NUL...) never reach the store
        object.__setattr__(self, "name", strip_controls(self.name or ""))
        if self.note is not None:
            object.__setattr__(self, "note", strip_controls(self.note))


def detect_json(path: Path, text: str) -> int:
    return 3 if path.suffix.lower() == ".json" else 0


def detect_fcp7xml(path: Path, text: str) -> int:
    return 2 if "<xmeml" in text[:HEAD] else 0


def detect_fcpxml(path: Path, text: str) -> int:
    return 2 if "<fcpxml" in text[:HEAD] else 0


def detect_resolve_edl(path: Path, text: str) -> int:
    return 1 if "|C:" in text and "|M:" in text else 0


def detect_cmx_edl(path: Path, text: str) -> int:
    return 1 if re.search(r"^\s*TITLE:|^\d{3}\s", text, re.M) else 0


def ndf_locators(text: str, rate: float) -> str:
    """Rewrite drop-frame ``* LOC:`` labels as the non-drop label of the same frame: OpenTimelineIO's
    CMX reader only matches ``HH:MM:SS:FF`` locators and reads those as non-drop."""
    def fix(found: re.Match) -> str:
        frame = opentime.from_timecode(found.group(2), rate)
        return found.group(1) + opentime.to_timecode(frame, rate, drop_frame=False)
    return re.sub(r"^(\*\s*LOC:\s*)(\d\d:\d\d:\d\d;\d\d)", fix, text, flags=re.M)


def _frame(t: opentime.RationalTime, rate: Fraction) -> int:
    return int(round(t.rescaled_to(float(rate)).value))


def _file_name(url: str | None) -> str | None:
    """The file name in a media URL or path (``file://localhost/D%3a/media/a.mov`` -> ``a.mov``)."""
    if not url:
        return None
    name = urllib.parse.unquote(url).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return name or None


def _claim(clip: otio.schema.Clip, rate: Fraction, asset_id: int | None = None) -> MediaClaim:
    """What an OTIO clip says about its media: its file, length and first frame, the source it uses."""
    ref = clip.media_reference
    avail = getattr(ref, "available_range", None) if ref is not None else None
    used = clip.source_range
    return MediaClaim(
        file_name=_file_name(getattr(ref, "target_url", None)), clip_name=clip.name or None,
        frames=_frame(avail.duration, rate) if avail else None, start=_frame(avail.start_time, rate) if avail else None,
        rate=Fraction(avail.duration.rate).limit_denominator(1001) if avail else None, asset_id=asset_id,
        used=(_frame(used.start_time, rate), _frame(used.end_time_exclusive(), rate)) if used and not avail else None)


def _pick_clip(tl: otio.schema.Timeline, asset: Asset) -> otio.schema.Clip:
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


# Readers, one per format: (text, asset, its placement on its own frame grid, the timeline's start timecode)
# -> the markers the file holds (ImportFailed, or any exception from the parser, when it cannot be read).
def read_otio(text: str, asset: Asset, placed: Placement, start_tc: str) -> ImportSet:
    rate = placed.rate
    tl = otio.adapters.read_from_string(text, "otio_json")
    clip = _pick_clip(tl, asset)
    ref = clip.media_reference
    base = _frame(ref.available_range.start_time, rate) if ref and ref.available_range else placed.source_start
    items = []
    for mk in clip.markers:
        meta = mk.metadata.get(NAMESPACE, {})
        note, tag_ids = split_tag(mk.comment or "")
        ids = tuple(meta.get("ids") or ([meta["id"]] if meta.get("id") else [])) or tag_ids
        items.append(Incoming(ids, _frame(mk.marked_range.start_time, rate) - base,
                              _frame(mk.marked_range.duration, rate), mk.name, note, mk.color, meta.get("kind")))
    kinds = tl.metadata.get(NAMESPACE, {}).get("kinds")
    claim = _claim(clip, rate, clip.metadata.get(NAMESPACE, {}).get("asset_id"))
    return ImportSet("otio", items, True, tuple(kinds) if kinds else None, media=claim)


def read_json(text: str, asset: Asset, placed: Placement, start_tc: str) -> ImportSet:
    rate = placed.rate
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
    fps = entry.get("fps") or {}
    claim = MediaClaim(file_name=_file_name(entry.get("file")), frames=entry.get("frame_count"),
                       start=entry.get("start_frame"), asset_id=entry.get("id"),
                       rate=Fraction(fps["num"], fps["den"]) if fps.get("num") and fps.get("den") else None)
    return ImportSet("json", items, True, tuple(kinds) if kinds else None, media=claim)


def read_resolve_edl(text: str, asset: Asset, placed: Placement, start_tc: str) -> ImportSet:
    rate = placed.rate
    record_start = check_timecode(start_tc, rate)
    items = []
    for mk in resolve_edl.read(text, rate):
        note, ids = split_tag(mk.note)
        items.append(Incoming(ids, mk.record_frame - record_start, mk.frames if mk.frames > 1 else 0,
                              mk.name, note, mk.colour))
    return ImportSet("edl-resolve", items, True, record_start=record_start)


_CMX_EVENT_RE = re.compile(r"^\d{3,}\s.*?(\d\d:\d\d:\d\d[:;]\d\d)\s+(\d\d:\d\d:\d\d[:;]\d\d)\s+"
                           r"(\d\d:\d\d:\d\d[:;]\d\d)\s+(\d\d:\d\d:\d\d[:;]\d\d)\s*$", re.M)


def read_cmx_edl(text: str, asset: Asset, placed: Placement, start_tc: str) -> ImportSet:
    """Locators are record (timeline) timecode, as Avid writes them; one that falls outside its event's
    record range but inside its source range (older cogvlm-media EDLs) is read as source timecode."""
    rate, src_start = placed.rate, placed.source_start
    tl = otio.adapters.read_from_string(ndf_locators(text, float(rate)), "cmx_3600", rate=float(rate))
    clip = _pick_clip(tl, asset)
    events = [[int(round(opentime.from_timecode(tc, float(rate)).value)) for tc in found.groups()]
              for found in _CMX_EVENT_RE.finditer(text)]
    clips = list(tl.find_clips())
    src_in, src_out, rec_in, rec_out = events[clips.index(clip)] if len(events) == len(clips) else (0, 0, 0, 0)
    # the EDL carries names as upper-case ASCII: one that folds to a stored name is that name
    stored = {ascii_name(mk.name).upper(): mk.name for mk in asset.markers if not mk.superseded}
    items = []
    for mk in clip.markers:
        frame = _frame(mk.marked_range.start_time, rate)
        if rec_in <= frame < rec_out or not src_in <= frame < src_out:
            frame = frame - rec_in + src_in
        name = stored.get(" ".join(mk.name.split()).upper(), mk.name)
        items.append(Incoming((), frame - src_start, None, name, None, mk.color or None, upper_cased=True))
    return ImportSet("edl", items, False, media=_claim(clip, rate))


def read_fcp7xml(text: str, asset: Asset, placed: Placement, start_tc: str) -> ImportSet:
    rate = placed.rate
    tl = otio.adapters.read_from_string(text, "fcp_xml")
    clip = _pick_clip(tl, asset)
    ref = clip.media_reference
    clip_in = _frame(clip.source_range.start_time - ref.available_range.start_time, rate) \
        if ref and ref.available_range else 0
    offset = _frame(clip.range_in_parent().start_time, rate)

    def incoming(mk, frame: int) -> Incoming:
        note, ids = split_tag((mk.metadata.get("fcp_xml") or {}).get("comment") or "")
        return Incoming(ids, frame, _frame(mk.marked_range.duration, rate), mk.name, note)

    on_clip = [incoming(mk, _frame(mk.marked_range.start_time, rate)) for mk in clip.markers]
    on_sequence = [incoming(mk, _frame(mk.marked_range.start_time, rate) - offset + clip_in)
                   for mk in tl.tracks.markers]
    return ImportSet("fcp7xml", both_copies(on_sequence, on_clip), True, media=_claim(clip, rate))


def both_copies(on_sequence: list[Incoming], on_clip: list[Incoming]) -> list[Incoming]:
    """FCP 7 XML holds each exported marker twice, on the sequence and on the clip. A marker lives only while
    both copies do: deleting either deletes it (when the file has no sequence marker with an id at all, the
    clip copies decide alone). Of two edited copies the sequence's wins (it comes first)."""
    seq_ids = {i for inc in on_sequence for i in inc.ids}
    if not seq_ids:
        return on_sequence + on_clip
    clip_ids = {i for inc in on_clip for i in inc.ids}
    return [inc for inc in on_sequence + on_clip if not inc.ids or set(inc.ids) <= seq_ids & clip_ids]


def _fcpx_time(value: str | None) -> Fraction:
    return Fraction((value or "0s").rstrip("s") or "0")


def read_fcpxml(text: str, asset: Asset, placed: Placement, start_tc: str) -> ImportSet:
    """From the XML itself: OTIO's FCPX reader ignores notes and chapter markers and truncates
    23.976/29.97/59.94 to whole frame rates (marker times then drift by up to a frame)."""
    rate, src_start = placed.rate, placed.source_start
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
    return ImportSet("fcpxml", items, True, media=_fcpx_claim(root, asset))


def _fcpx_claim(root: ET.Element, asset: Asset) -> MediaClaim | None:
    """The FCPXML asset resource that is ``asset`` by file name, else the only one."""
    found = root.findall(".//resources/asset")
    names = {Path(p.path).name.casefold() for p in asset.paths}
    el = next((a for a in found if (_file_name(a.get("src")) or "").casefold() in names),
              found[0] if len(found) == 1 else None)
    if el is None:
        return None
    fmt = next((f for f in root.iter("format") if f.get("id") == el.get("format")), None)
    frame = _fcpx_time(fmt.get("frameDuration")) if fmt is not None and fmt.get("frameDuration") else None
    rate = 1 / frame if frame else None
    return MediaClaim(file_name=_file_name(el.get("src")), clip_name=el.get("name"), rate=rate,
                      frames=int(round(_fcpx_time(el.get("duration")) * rate)) if rate else None,
                      start=int(round(_fcpx_time(el.get("start")) * rate)) if rate else None)
