"""Timeline formats written through OpenTimelineIO's adapters, with the gaps they leave filled in
their output (see the README, "Gaps filled in the OpenTimelineIO 0.18 adapters' output"):

- ``otio``: native; markers carry the ``cogvlm_media`` metadata namespace (ids, kind, source, verified).
- ``edl`` (cmx_3600, Avid style): the writer starts record timecode at 00:00:00:00, writes no FCM line
  and writes locators at the clip's source timecode (drop-frame labels its own reader cannot match);
  here record timecode starts at the timeline's start, an FCM line is added and each ``* LOC:`` is at
  record timecode, as in Avid's own EDLs (non-drop label, see :func:`_locator`), its name upper-cased
  ASCII; no notes.
- ``fcp7xml`` (fcp_xml): the writer drops marker comments (given through its own ``fcp_xml`` metadata
  namespace instead) and counts clip markers from the source timecode (FCP 7 XML counts them from the
  media's first frame); its layout is then reshaped into Premiere's own (:mod:`.premiere_xml`).
- ``fcpxml`` (fcpx_xml): the writer leaves ``frameDuration`` empty at 23.976/29.97/59.94, names the
  format from a float rate with no width or height, writes ``hasAudio="0"`` for every file, marks
  speech markers ``completed`` (to-do items in Final Cut), drops marker notes, writes no chapter markers
  and no sequence start timecode, and leaves the media times at 0s (spine offsets not from the sequence
  start, a clip's video not at the clip's own start, no source ``start`` on video or asset-clip); all are
  fixed here. It fails on an audio track, so it gets none
  (an FCPXML asset with ``hasAudio="1"`` brings its sound along).
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from fractions import Fraction

import opentimelineio as otio
from opentimelineio import opentime

from cogvlm_media.export import premiere_xml
from cogvlm_media.export.timeline import Plan, file_url, tagged, to_otio
from cogvlm_media.media.timecode import is_drop_frame_rate

_EVENT_RE = re.compile(r"^(\d{3,}\s.*?)(\d\d:\d\d:\d\d[:;]\d\d) (\d\d:\d\d:\d\d[:;]\d\d)\s*$")


def write_otio(p: Plan) -> str:
    return otio.adapters.write_to_string(to_otio(p), "otio_json")


def ascii_name(text: str) -> str:
    """A name an EDL can carry: one line of ASCII (accents dropped, "…" as "...", other signs as "?")."""
    text = " ".join((text or "").replace("\u2014", "-").replace("\u2013", "-").split())
    folded = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return "".join(ch if ord(ch) < 128 else "?" for ch in folded)


def write_edl(p: Plan) -> str:
    tl = to_otio(p, audio=False)
    rate = float(p.rate)
    text = otio.adapters.write_to_string(tl, "cmx_3600", rate=rate, style="avid")
    drop = is_drop_frame_rate(p.rate)  # the adapter's opentime infers drop-frame labels at 29.97 and 59.94
    out: list[str] = []
    event = -1
    pending: list = []
    for line in text.splitlines():
        found = _EVENT_RE.match(line)
        if found:  # shift record timecode to the timeline's start
            event += 1
            pending = list(p.clips[event].marks)
            rec = [opentime.from_timecode(tc, rate) + opentime.RationalTime(p.record_start, rate)
                   for tc in found.group(2, 3)]
            line = found.group(1) + " ".join(opentime.to_timecode(t, rate, drop_frame=drop) for t in rec)
        elif line.startswith("* LOC:"):
            line = _locator(p, p.clips[event], pending.pop(0))
        out.append(line)
        if line.startswith("TITLE:"):
            out.append(f"FCM: {'DROP FRAME' if drop else 'NON-DROP FRAME'}")
    return "\n".join(out) + "\n"


def _locator(p: Plan, clip, mk) -> str:
    """``* LOC:`` at record (timeline) timecode, as Avid writes it. The label is non-drop with ``:`` even
    in a drop-frame EDL: OpenTimelineIO's CMX reader (and so every tool built on it) matches only
    ``HH:MM:SS:FF`` locators and reads them as non-drop, so this is the label that lands on the frame."""
    frame = p.record_start + clip.record_offset + mk.frame
    tc = opentime.to_timecode(opentime.RationalTime(frame, float(p.rate)), float(p.rate), drop_frame=False)
    return f"* LOC: {tc} {mk.colour:7} {ascii_name(mk.name).upper()}".rstrip()


def write_fcp7xml(p: Plan) -> str:
    tl = to_otio(p, relative_clip_markers=True, sequence_markers=True, comments_in="fcp_xml")
    return premiere_xml.reshape(otio.adapters.write_to_string(tl, "fcp_xml"), p)


def _seconds(frames: int, rate: Fraction) -> str:
    return _time(Fraction(frames) / rate)


def _time(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}s" if value.denominator != 1 else f"{value.numerator}s"


def _fcpx_time(value: str | None) -> Fraction:
    return Fraction((value or "0s").rstrip("s") or "0")


def _media_times(root: ET.Element) -> None:
    """Source times as Final Cut writes them: a clip's ``start`` opens its own timeline in source time,
    so the asset's video inside it sits at the asset's start (``offset``) and reads from there
    (``start``); an ``asset-clip`` starts at its asset's start too (the writer leaves both at 0s)."""
    starts = {a.get("id"): a.get("start") or "0s" for a in root.iter("asset")}
    for clip in root.iter("clip"):
        for video in clip.findall("video"):
            if video.get("ref") in starts:
                video.set("offset", starts[video.get("ref")])
                video.set("start", starts[video.get("ref")])
    for el in root.iter("asset-clip"):
        if el.get("ref") in starts and el.get("start") is None:
            el.set("start", starts[el.get("ref")])


# Final Cut Pro's names for its standard frame sizes and rates (FFVideoFormat1080p2997 and so on)
_FCP_SIZES = {(1920, 1080): "1080p", (1280, 720): "720p", (3840, 2160): "3840x2160p",
              (4096, 2160): "4096x2160p", (2048, 1080): "2048x1080p"}
_FCP_RATES = {Fraction(24000, 1001): "2398", Fraction(24): "24", Fraction(25): "25",
              Fraction(30000, 1001): "2997", Fraction(30): "30", Fraction(50): "50",
              Fraction(60000, 1001): "5994", Fraction(60): "60"}


def fcp_format_name(width: int, height: int, rate: Fraction) -> str | None:
    """``FFVideoFormat1080p2997`` for a size and rate Final Cut names; None for a custom format (then
    width, height and frameDuration alone describe it)."""
    size, token = _FCP_SIZES.get((width, height)), _FCP_RATES.get(rate)
    return f"FFVideoFormat{size}{token}" if size and token else None


def write_fcpxml(p: Plan) -> str:
    text = otio.adapters.write_to_string(to_otio(p, audio=False), "fcpx_xml")
    root = ET.fromstring(text)
    frame = 1 / p.rate
    first = p.clips[0]
    for fmt in root.iter("format"):
        fmt.set("frameDuration", f"{frame.numerator}/{frame.denominator}s")
        fmt.set("width", str(first.width))
        fmt.set("height", str(first.height))
        name = fcp_format_name(first.width, first.height, p.rate)
        if name:
            fmt.set("name", name)
        else:
            fmt.attrib.pop("name", None)
    sound = {file_url(c.path): c.has_audio for c in p.clips}
    for asset in root.iter("asset"):
        asset.set("hasAudio", "1" if sound.get(asset.get("src"), False) else "0")
    for seq in root.iter("sequence"):
        seq.set("tcStart", _seconds(p.record_start, p.rate))
        seq.set("tcFormat", "DF" if p.record_drop else "NDF")
        for item in seq.findall("spine/*"):  # the spine runs in sequence time, from tcStart
            item.set("offset", _time(_fcpx_time(item.get("offset")) + Fraction(p.record_start) / p.rate))
    _media_times(root)
    clips = [c for c in root.iter("clip") if c.find("marker") is not None]
    with_marks = [c for c in p.clips if c.marks]
    if len(clips) != len(with_marks):
        raise RuntimeError("fcpx_xml adapter output does not match the timeline's clips")
    for element, placed in zip(clips, with_marks):
        markers = element.findall("marker")
        for el, mk in zip(markers, placed.marks, strict=True):
            el.set("note", tagged(mk.note, mk.ids))
            el.attrib.pop("completed", None)  # "completed" makes a marker a to-do item in Final Cut
            if mk.kind == "scene":  # scenes become chapter markers (Final Cut, Resolve)
                el.tag = "chapter-marker"
                el.set("posterOffset", "0s")
    ET.indent(root, space="    ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n' + body + "\n"
