"""Timeline formats written through OpenTimelineIO's adapters, with the gaps they leave filled in
their output (see the README, "Gaps filled in the OpenTimelineIO 0.18 adapters' output"):

- ``otio``: native; markers carry the ``cogvlm_media`` metadata namespace (ids, kind, source, verified).
- ``edl`` (cmx_3600, Avid style): the writer starts record timecode at 00:00:00:00 and writes no FCM
  line; both are fixed here. Locators are source timecode of the clip, names upper-cased, no notes.
- ``fcp7xml`` (fcp_xml): the writer drops marker comments (given through its own ``fcp_xml`` metadata
  namespace instead), writes point markers with ``<out>`` = ``<in>`` (Premiere writes -1) and counts clip
  markers from the source timecode (FCP 7 XML counts them from the media's first frame).
- ``fcpxml`` (fcpx_xml): the writer leaves ``frameDuration`` empty at 23.976/29.97/59.94, drops marker
  notes, writes no chapter markers and no sequence start timecode; all four are added here.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from fractions import Fraction

import opentimelineio as otio
from opentimelineio import opentime

from cogvlm_media.export.timeline import Plan, tagged, to_otio
from cogvlm_media.media.timecode import is_drop_frame_rate

_EVENT_RE = re.compile(r"^(\d{3,}\s.*?)(\d\d:\d\d:\d\d[:;]\d\d) (\d\d:\d\d:\d\d[:;]\d\d)\s*$")


def write_otio(p: Plan) -> str:
    return otio.adapters.write_to_string(to_otio(p), "otio_json")


def write_edl(p: Plan) -> str:
    tl = to_otio(p)
    rate = float(p.rate)
    text = otio.adapters.write_to_string(tl, "cmx_3600", rate=rate, style="avid")
    drop = is_drop_frame_rate(p.rate)  # the adapter's opentime infers drop-frame labels at 29.97 and 59.94
    out = []
    for line in text.splitlines():
        found = _EVENT_RE.match(line)
        if found:  # shift record timecode to the timeline's start
            rec = [opentime.from_timecode(tc, rate) + opentime.RationalTime(p.record_start, rate)
                   for tc in found.group(2, 3)]
            line = found.group(1) + " ".join(opentime.to_timecode(t, rate, drop_frame=drop) for t in rec)
        out.append(line)
        if line.startswith("TITLE:"):
            out.append(f"FCM: {'DROP FRAME' if drop else 'NON-DROP FRAME'}")
    return "\n".join(out) + "\n"


def write_fcp7xml(p: Plan) -> str:
    tl = to_otio(p, relative_clip_markers=True, sequence_markers=True, comments_in="fcp_xml")
    text = otio.adapters.write_to_string(tl, "fcp_xml")
    root = ET.fromstring(text)
    for marker in root.iter("marker"):
        if marker.findtext("in") == marker.findtext("out"):
            marker.find("out").text = "-1"
        comment = marker.find("comment")
        if comment is None:
            comment = ET.Element("comment")
            comment.text = ""
        else:
            marker.remove(comment)
        marker.insert(0, comment)  # Premiere's order: comment, name, in, out
    ET.indent(root, space="\t")
    return '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE xmeml>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _seconds(frames: int, rate: Fraction) -> str:
    value = Fraction(frames) / rate
    return f"{value.numerator}/{value.denominator}s" if value.denominator != 1 else f"{value.numerator}s"


def write_fcpxml(p: Plan) -> str:
    text = otio.adapters.write_to_string(to_otio(p), "fcpx_xml")
    root = ET.fromstring(text)
    frame = 1 / p.rate
    for fmt in root.iter("format"):
        if not fmt.get("frameDuration"):
            fmt.set("frameDuration", f"{frame.numerator}/{frame.denominator}s")
    for seq in root.iter("sequence"):
        seq.set("tcStart", _seconds(p.record_start, p.rate))
        seq.set("tcFormat", "DF" if p.record_drop else "NDF")
    clips = [c for c in root.iter("clip") if c.find("marker") is not None]
    with_marks = [c for c in p.clips if c.marks]
    if len(clips) != len(with_marks):
        raise RuntimeError("fcpx_xml adapter output does not match the timeline's clips")
    for element, placed in zip(clips, with_marks):
        markers = element.findall("marker")
        for el, mk in zip(markers, placed.marks, strict=True):
            el.set("note", tagged(mk.note, mk.ids))
            if mk.kind == "scene":  # scenes become chapter markers (Final Cut, Resolve)
                el.tag = "chapter-marker"
                el.attrib.pop("completed", None)
                el.set("posterOffset", "0s")
    ET.indent(root, space="    ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n' + body + "\n"
