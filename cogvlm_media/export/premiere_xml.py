"""FCP 7 XML (xmeml) reshaped into the structure Adobe Premiere Pro itself exports.

OpenTimelineIO's ``fcp_xml`` writer gives the right frames but not Premiere's layout. Here, after it:

- the sequence sits directly under ``<xmeml>`` (no ``<project>``), its children in Premiere's order
  (duration, rate, name, media, timecode, then the sequence markers);
- timecode is written as Premiere writes it: drop-frame as ``01;00;00;00`` with
  ``<displayformat>DF</displayformat>``, non-drop as ``10:00:00:00`` with ``NDF``; ``<frame>`` is the
  frame count of that label;
- a ``<clipitem>`` has one ``<rate>`` and Premiere's order: masterclipid, name, enabled, duration, rate,
  start, end, in, out, file, markers, sourcetrack (audio), links;
- the sequence ``<format>`` carries the frame size (and square pixels, progressive), the file's
  ``<media>`` its video size and an ``<audio>`` element only when the file has sound;
- a file with sound gets a clip on the audio track, linked to its video clip; tracks end in
  ``<enabled>TRUE</enabled><locked>FALSE</locked>``; point markers have ``<out>-1</out>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from cogvlm_media.export.timeline import Placement, Plan
from cogvlm_media.media.timecode import label

CLIPITEM_ORDER = ("masterclipid", "name", "enabled", "duration", "rate", "start", "end", "in", "out",
                  "file", "marker", "sourcetrack", "link")
FILE_ORDER = ("name", "pathurl", "rate", "duration", "timecode", "media")
SEQUENCE_ORDER = ("duration", "rate", "name", "media", "timecode", "marker")
SEQUENCE_AUDIO_RATE = 48000  # the sequence's audio settings (ours to choose), not the files'


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = text
    return el


def premiere_timecode(frame: int, p: Plan, drop: bool) -> str:
    """``01;00;00;00`` for drop-frame (Premiere writes ``;`` throughout), ``10:00:00:00`` otherwise."""
    text = label(frame, p.rate, drop)
    return text.replace(":", ";") if drop else text


def _reorder(el: ET.Element, order: tuple[str, ...]) -> None:
    """Children in ``order`` (first occurrence of a repeated singleton only); others keep their place at
    the end, in document order."""
    children = list(el)
    for child in children:
        el.remove(child)
    seen: set[str] = set()
    ranked = []
    for child in children:
        if child.tag in seen and child.tag not in ("marker", "link"):
            continue  # a second <rate> (OTIO writes two in a clipitem)
        seen.add(child.tag)
        rank = order.index(child.tag) if child.tag in order else len(order)
        ranked.append((rank, child))
    for _rank, child in sorted(ranked, key=lambda item: item[0]):
        el.append(child)


def _fix_timecode(tc: ET.Element, p: Plan, drop: bool) -> None:
    frame = int(tc.findtext("frame") or 0)
    tc.find("string").text = premiere_timecode(frame, p, drop)
    tc.find("displayformat").text = "DF" if drop else "NDF"
    if tc.find("reel") is None:
        _sub(_sub(tc, "reel"), "name", "")


def _samplecharacteristics(parent: ET.Element, rate: ET.Element | None, c: Placement) -> ET.Element:
    chars = _sub(parent, "samplecharacteristics")
    if rate is not None:
        chars.append(_copy(rate))
    _sub(chars, "width", str(c.width))
    _sub(chars, "height", str(c.height))
    return chars


def _copy(el: ET.Element) -> ET.Element:
    return ET.fromstring(ET.tostring(el))


def _fix_file(file_el: ET.Element, c: Placement, p: Plan) -> None:
    tc = file_el.find("timecode")
    if tc is not None:
        _fix_timecode(tc, p, c.source_drop)
    media = file_el.find("media")
    if media is not None:
        for child in list(media):
            media.remove(child)
        _samplecharacteristics(_sub(media, "video"), file_el.find("rate"), c)
        if c.has_audio:
            _sub(media, "audio")
    _reorder(file_el, FILE_ORDER)


def _fix_clipitem(item: ET.Element, c: Placement, p: Plan, master: str, audio: bool) -> None:
    if item.find("masterclipid") is None:
        _sub(item, "masterclipid", master)
    if item.find("enabled") is None:
        _sub(item, "enabled", "TRUE")
    file_el = item.find("file")
    if file_el is not None and len(file_el):
        _fix_file(file_el, c, p)
    if audio and item.find("sourcetrack") is None:
        src = _sub(item, "sourcetrack")
        _sub(src, "mediatype", "audio")
        _sub(src, "trackindex", "1")
    _reorder(item, CLIPITEM_ORDER)


def _link(item: ET.Element, ref: str, mediatype: str, clipindex: int) -> None:
    link = _sub(item, "link")
    _sub(link, "linkclipref", ref)
    _sub(link, "mediatype", mediatype)
    _sub(link, "trackindex", "1")
    _sub(link, "clipindex", str(clipindex))
    if mediatype == "audio":
        _sub(link, "groupindex", "1")


def _clipitems(track: ET.Element | None) -> list[ET.Element]:
    return [] if track is None else track.findall("clipitem")


def _fix_tracks(media: ET.Element, p: Plan) -> None:
    video_items = _clipitems(media.find("video/track"))
    if len(video_items) != len(p.clips):
        raise RuntimeError("fcp_xml adapter output does not match the timeline's clips")
    audio_clips = [c for c in p.clips if c.has_audio]
    audio_items = _clipitems(media.find("audio/track"))
    if len(audio_items) != len(audio_clips):
        raise RuntimeError("fcp_xml adapter output does not match the timeline's audio clips")
    audio_by_asset = dict(zip((c.asset_id for c in audio_clips), audio_items))
    for index, (item, c) in enumerate(zip(video_items, p.clips), 1):
        master = f"masterclip-{index}"
        sound = audio_by_asset.get(c.asset_id)
        _fix_clipitem(item, c, p, master, audio=False)
        if sound is None:
            continue
        _fix_clipitem(sound, c, p, master, audio=True)
        audio_index = audio_items.index(sound) + 1
        for el in (item, sound):  # Premiere links a file's video and audio clips both ways
            _link(el, item.get("id"), "video", index)
            _link(el, sound.get("id"), "audio", audio_index)
    for track in media.iter("track"):
        for tag, value in (("enabled", "TRUE"), ("locked", "FALSE")):
            if track.find(tag) is None:
                _sub(track, tag, value)


def _fix_format(media: ET.Element, seq_rate: ET.Element | None, p: Plan) -> None:
    video = media.find("video")
    fmt = video.find("format")
    if fmt is None:
        fmt = ET.Element("format")
        video.insert(0, fmt)
    for child in list(fmt):
        fmt.remove(child)
    chars = _samplecharacteristics(fmt, seq_rate, p.clips[0])
    _sub(chars, "anamorphic", "FALSE")
    _sub(chars, "pixelaspectratio", "square")
    _sub(chars, "fielddominance", "none")
    audio = media.find("audio")
    if audio is None:
        audio = _sub(media, "audio")
    if audio.find("format") is None:
        afmt = ET.Element("format")
        achars = _sub(afmt, "samplecharacteristics")
        _sub(achars, "depth", "16")
        _sub(achars, "samplerate", str(SEQUENCE_AUDIO_RATE))
        audio.insert(0, afmt)


def _fix_markers(root: ET.Element) -> None:
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


def reshape(text: str, p: Plan) -> str:
    root = ET.fromstring(text)
    seq = root.find(".//sequence")
    for child in list(root):
        root.remove(child)
    root.append(seq)  # Premiere writes the sequence directly under <xmeml>
    media = seq.find("media")
    _fix_format(media, seq.find("rate"), p)
    _fix_tracks(media, p)
    tc = seq.find("timecode")
    if tc is not None:
        _fix_timecode(tc, p, p.record_drop)
        reel = tc.find("reel")
        if reel is not None:  # a sequence timecode has no reel in Premiere's files
            tc.remove(reel)
    _reorder(seq, SEQUENCE_ORDER)
    _fix_markers(root)
    ET.indent(root, space="\t")
    return '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE xmeml>\n' + ET.tostring(root, encoding="unicode") + "\n"
