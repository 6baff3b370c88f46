"""FCP 7 XML (xmeml) reshaped into the structure Adobe Premiere Pro itself exports.

OpenTimelineIO's ``fcp_xml`` writer gives the right frames but not Premiere's layout. Here, after it:

- the sequence sits directly under ``<xmeml>`` (no ``<project>``), its children in Premiere's order
  (duration, rate, name, media, timecode, then the sequence markers);
- timecode is written as Premiere writes it: drop-frame as ``01;00;00;00`` with
  ``<displayformat>DF</displayformat>``, non-drop as ``10:00:00:00`` with ``NDF``; ``<frame>`` is the
  frame count of that label;
- a ``<clipitem>`` has one ``<rate>`` and Premiere's order: masterclipid, name, enabled, duration, rate,
  start, end, in, out, file, markers, sourcetrack (audio), links;
- the sequence ``<format>`` carries the frame size, pixel aspect ratio (progressive) and colour depth 24; the
  file's ``<media>`` its video size and pixel aspect ratio and, only when the file has sound, an
  ``<audio>`` with its bit depth, sample rate and ``<channelcount>`` (:mod:`.media_details`);
- the sequence ``<audio>`` opens with Premiere's stereo output (``numOutputChannels`` 2, 16-bit 48 kHz,
  two one-channel output groups);
- a file with sound gets one audio clipitem per channel, each on its own track with a ``<sourcetrack>``
  naming that channel, as Premiere writes them. A stereo file's two tracks are an exploded stereo pair
  (``premiereTrackType="Stereo"``, ``outputchannelindex`` 1 and 2); a file of one or of more than two
  channels gets mono tracks (``premiereTrackType="Mono"``, no output index, so Premiere pans each one to
  both outputs). Files with the same channel count share tracks. Every clipitem of a file links to all
  the others;
- tracks end in ``<enabled>TRUE</enabled><locked>FALSE</locked>``; point markers have ``<out>-1</out>``;
- ``pathurl`` is ``file://localhost`` and the absolute path, percent-encoded, as Premiere writes it.
"""

from __future__ import annotations

import itertools
import os
import re
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator

from cogvlm_media.export.media_details import MediaDetails, fcp_pixel_aspect, media_details
from cogvlm_media.export.timeline import Placement, Plan
from cogvlm_media.media.timecode import label

CLIPITEM_ORDER = ("masterclipid", "name", "enabled", "duration", "rate", "start", "end", "in", "out",
                  "file", "marker", "sourcetrack", "link")
FILE_ORDER = ("name", "pathurl", "rate", "duration", "timecode", "media")
SEQUENCE_ORDER = ("duration", "rate", "name", "media", "timecode", "marker")
SEQUENCE_AUDIO_RATE = 48000  # the sequence's audio settings (ours to choose), not the files'
SEQUENCE_OUTPUTS = 2  # Premiere's stereo master: two output channels, one group each


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


def _samplecharacteristics(parent: ET.Element, rate: ET.Element | None, c: Placement,
                           d: MediaDetails) -> ET.Element:
    chars = _sub(parent, "samplecharacteristics")
    if rate is not None:
        chars.append(_copy(rate))
    _sub(chars, "width", str(c.width))
    _sub(chars, "height", str(c.height))
    name, anamorphic = fcp_pixel_aspect(d.pixel_aspect, c.width, c.height)
    _sub(chars, "anamorphic", "TRUE" if anamorphic else "FALSE")
    _sub(chars, "pixelaspectratio", name)
    _sub(chars, "fielddominance", "none")
    return chars


def _copy(el: ET.Element) -> ET.Element:
    return ET.fromstring(ET.tostring(el))


def pathurl(path: str) -> str:
    """``file://localhost/...`` with the absolute path percent-encoded (its bytes, for a name that is not UTF-8)."""
    return "file://localhost" + urllib.parse.quote_from_bytes(os.fsencode(os.path.abspath(path)))


def _fix_file(file_el: ET.Element, c: Placement, p: Plan, d: MediaDetails) -> None:
    tc = file_el.find("timecode")
    if tc is not None:
        _fix_timecode(tc, p, c.source_drop)
    url = file_el.find("pathurl")
    if url is not None:
        url.text = pathurl(c.path)
    media = file_el.find("media")
    if media is not None:
        for child in list(media):
            media.remove(child)
        _samplecharacteristics(_sub(media, "video"), file_el.find("rate"), c, d)
        if d.channels is not None:
            sound = _sub(media, "audio")
            chars = _sub(sound, "samplecharacteristics")
            _sub(chars, "depth", str(d.depth))
            _sub(chars, "samplerate", str(d.sample_rate))
            _sub(sound, "channelcount", str(d.channels))
    _reorder(file_el, FILE_ORDER)


def _fix_clipitem(item: ET.Element, c: Placement, p: Plan, d: MediaDetails, master: str,
                  channel: int | None = None) -> None:
    if item.find("masterclipid") is None:
        _sub(item, "masterclipid", master)
    if item.find("enabled") is None:
        _sub(item, "enabled", "TRUE")
    file_el = item.find("file")
    if file_el is not None and len(file_el):
        _fix_file(file_el, c, p, d)
    if channel is not None:
        item.set("premiereChannelType", "stereo" if d.channels == 2 else "mono")
        src = _sub(item, "sourcetrack")
        _sub(src, "mediatype", "audio")
        _sub(src, "trackindex", str(channel))
    _reorder(item, CLIPITEM_ORDER)


def _link(item: ET.Element, ref: str, mediatype: str, trackindex: int, clipindex: int) -> None:
    link = _sub(item, "link")
    _sub(link, "linkclipref", ref)
    _sub(link, "mediatype", mediatype)
    _sub(link, "trackindex", str(trackindex))
    _sub(link, "clipindex", str(clipindex))
    if mediatype == "audio":
        _sub(link, "groupindex", "1")


def _clipitems(track: ET.Element | None) -> list[ET.Element]:
    return [] if track is None else track.findall("clipitem")


def _unused_ids(media: ET.Element) -> Iterator[str]:
    """Clipitem ids after the adapter's own (``clipitem-N``), for the clipitems of a file's further channels."""
    used = [int(found.group(1)) for el in media.iter("clipitem")
            if (found := re.fullmatch(r"clipitem-(\d+)", el.get("id") or ""))]
    return (f"clipitem-{n}" for n in itertools.count(max(used, default=0) + 1))


def _audio_tracks(audio: ET.Element, channels: int) -> list[ET.Element]:
    """New tracks, at the end of ``audio``, for the files of ``channels`` channels: a stereo pair, else mono ones."""
    tracks = []
    for n in range(channels):
        track = _sub(audio, "track")
        stereo = channels == 2
        track.set("currentExplodedTrackIndex", str(n if stereo else 0))
        track.set("totalExplodedTrackCount", "2" if stereo else "1")
        track.set("premiereTrackType", "Stereo" if stereo else "Mono")
        tracks.append(track)
    return tracks


def _fix_tracks(media: ET.Element, p: Plan, details: list[MediaDetails]) -> None:
    video_items = _clipitems(media.find("video/track"))
    if len(video_items) != len(p.clips):
        raise RuntimeError("fcp_xml adapter output does not match the timeline's clips")
    audio = media.find("audio")
    written = audio.findall("track")
    audio_items = [item for track in written for item in _clipitems(track)]
    audio_clips = [c for c in p.clips if c.has_audio]
    if len(audio_items) != len(audio_clips):
        raise RuntimeError("fcp_xml adapter output does not match the timeline's audio clips")
    new_ids = _unused_ids(media)
    for track in written:  # rebuilt below: one track per channel
        audio.remove(track)
    sound_by_asset = dict(zip((c.asset_id for c in audio_clips), audio_items))
    layouts: dict[int, list[ET.Element]] = {}  # channel count -> its tracks (files alike share them)
    for index, (video, c, d) in enumerate(zip(video_items, p.clips, details), 1):
        master = f"masterclip-{index}"
        _fix_clipitem(video, c, p, d, master)
        sound = sound_by_asset.get(c.asset_id)
        if sound is None or d.channels is None:
            continue
        if d.channels not in layouts:
            layouts[d.channels] = _audio_tracks(audio, d.channels)
        tracks = layouts[d.channels]
        items = [sound] + [_copy(sound) for _ in tracks[1:]]
        links = [(video, video.get("id"), "video", 1, index)]
        for channel, (item, track) in enumerate(zip(items, tracks), 1):
            if channel > 1:
                item.set("id", next(new_ids))
            _fix_clipitem(item, c, p, d, master, channel)
            track.append(item)
            links.append((item, item.get("id"), "audio", audio.findall("track").index(track) + 1,
                          len(track.findall("clipitem"))))
        for item, *_ in links:  # Premiere links each of a file's clipitems to all of them, itself included
            for _, ref, kind, trackindex, clipindex in links:
                _link(item, ref, kind, trackindex, clipindex)
    for track in media.iter("track"):
        for tag, value in (("enabled", "TRUE"), ("locked", "FALSE")):
            if track.find(tag) is None:
                _sub(track, tag, value)
        if track.get("premiereTrackType") == "Stereo":
            _sub(track, "outputchannelindex", str(int(track.get("currentExplodedTrackIndex")) + 1))


def _fix_format(media: ET.Element, seq_rate: ET.Element | None, p: Plan, first: MediaDetails) -> None:
    video = media.find("video")
    fmt = video.find("format")
    if fmt is None:
        fmt = ET.Element("format")
        video.insert(0, fmt)
    for child in list(fmt):
        fmt.remove(child)
    chars = _samplecharacteristics(fmt, seq_rate, p.clips[0], first)
    _sub(chars, "colordepth", "24")
    audio = media.find("audio")
    if audio is None:
        audio = _sub(media, "audio")
    for child in list(audio):
        if child.tag != "track":
            audio.remove(child)
    head = [ET.Element("numOutputChannels"), ET.Element("format"), ET.Element("outputs")]
    head[0].text = str(SEQUENCE_OUTPUTS)
    achars = _sub(head[1], "samplecharacteristics")
    _sub(achars, "depth", "16")
    _sub(achars, "samplerate", str(SEQUENCE_AUDIO_RATE))
    for n in range(1, SEQUENCE_OUTPUTS + 1):
        group = _sub(head[2], "group")
        _sub(group, "index", str(n))
        _sub(group, "numchannels", "1")
        _sub(group, "downmix", "0")
        _sub(_sub(group, "channel"), "index", str(n))
    for position, el in enumerate(head):
        audio.insert(position, el)


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
    seq.set("explodedTracks", "true")  # a file's channels sit on tracks of their own
    media = seq.find("media")
    details = [media_details(c) for c in p.clips]
    _fix_format(media, seq.find("rate"), p, details[0])
    _fix_tracks(media, p, details)
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
