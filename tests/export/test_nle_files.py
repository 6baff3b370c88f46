"""The files the NLEs read, against the structure the NLEs themselves write: a 1280x720 29.97 DF clip
with sound whose timecode starts at 01:00:00;00 (as a camera writes it), and a silent one.

The expected structure is written out here from files exported by Premiere Pro (FCP 7 XML) and Avid
(CMX 3600 with locators): Premiere writes drop-frame timecode as ``01;00;00;00`` with
``<displayformat>DF``; a clipitem holds masterclipid, name, enabled, duration, one rate, start, end,
in, out, then the file, then its markers; the sequence format has the frame size; a file with sound
has a clip on an audio track; Avid writes locators at record timecode inside their own event.

Premiere's own file also gives the media's details: a file's ``<media><audio>`` holds
``<samplecharacteristics><depth>16</depth><samplerate>48000</samplerate></samplecharacteristics>``
then ``<channelcount>2</channelcount>``; a file's (and the sequence format's) video
samplecharacteristics end in ``anamorphic``, ``pixelaspectratio``, ``fielddominance`` (the sequence's
then ``colordepth`` 24); the sequence ``<audio>`` opens with ``numOutputChannels`` 2, its format and
``outputs`` (two one-channel groups); a stereo file is one clipitem per channel on a pair of tracks
(``premiereTrackType="Stereo"``, exploded index 0 and 1, ``outputchannelindex`` 1 and 2), each with
``<sourcetrack>`` naming its channel, all of a file's clipitems linked to each other; ``pathurl`` is
``file://localhost/`` and the percent-encoded path.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
import xml.etree.ElementTree as ET
from fractions import Fraction

import mediagen
import opentimelineio as otio
import pytest
from exportkit import record
from sqlalchemy import text

SCENES = [(0.0, 1.5, "Opening", "A test pattern."), (1.5, 3.0, "Second part", "More of it.")]
MOMENTS = [(0.5, "Flash", "a bright flash", "moment", 0.0),
           (2.0, "Señor Müller says… hello", "Señor Müller says… hello there.", "speech", 0.5)]
DF_START = 107892  # 01:00:00;00 at 29.97 drop-frame


@pytest.fixture(scope="module")
def df_clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("nle") / "cam_df.mov"
    return mediagen.tone_clip(path, fps="30000/1001", frames=90, size="1280x720",
                              extra_args=("-timecode", "01:00:00;00"))


@pytest.fixture
def df_asset(env, df_clip) -> int:
    return record(env.engine, df_clip.path, scenes=SCENES, moments=MOMENTS)


def _export(env, asset: int, fmt: str, out, *extra: str) -> str:
    env.cli("export", str(asset), "--format", fmt, "-o", str(out), *extra)
    return out.read_text(encoding="utf-8")


def test_fcp7xml_is_shaped_as_premiere_writes_it(env, df_asset, tmp_path):
    text = _export(env, df_asset, "fcp7xml", tmp_path / "p.xml")
    root = ET.fromstring(text)
    seq = root.find("sequence")  # directly under <xmeml>, as Premiere writes it
    assert seq is not None
    # drop-frame timecode as Premiere writes it, for the file and for the sequence
    for tc in (seq.find("timecode"), seq.find(".//clipitem/file/timecode")):
        assert (tc.findtext("string"), tc.findtext("frame"), tc.findtext("displayformat")) == (
            "01;00;00;00", str(DF_START), "DF")
    # the sequence: its timecode, then its markers
    tags = [c.tag for c in seq]
    assert tags[:5] == ["duration", "rate", "name", "media", "timecode"]
    assert set(tags[5:]) == {"marker"} and len(tags) == 5 + len(SCENES) + len(MOMENTS)
    chars = seq.find("media/video/format/samplecharacteristics")
    assert (chars.findtext("width"), chars.findtext("height")) == ("1280", "720")
    assert chars.findtext("rate/timebase") == "30" and chars.findtext("rate/ntsc") == "TRUE"
    (video,) = seq.findall("media/video/track/clipitem")
    tags = [c.tag for c in video]
    assert tags[:10] == ["masterclipid", "name", "enabled", "duration", "rate", "start", "end", "in", "out",
                         "file"]
    assert tags.count("rate") == 1
    assert tags[10:10 + len(SCENES) + len(MOMENTS)] == ["marker"] * (len(SCENES) + len(MOMENTS))
    assert set(tags[10 + len(SCENES) + len(MOMENTS):]) == {"link"}
    assert (video.findtext("masterclipid"), video.findtext("enabled")) == ("masterclip-1", "TRUE")
    file_el = video.find("file")
    assert [c.tag for c in file_el] == ["name", "pathurl", "rate", "duration", "timecode", "media"]
    assert file_el.findtext("media/video/samplecharacteristics/width") == "1280"
    assert file_el.find("media/audio") is not None
    # the sound: a clip on the audio track, of the same master clip, linked to the video clip
    (audio,) = seq.findall("media/audio/track/clipitem")
    assert audio.findtext("masterclipid") == "masterclip-1"
    assert audio.find("file").get("id") == file_el.get("id") and len(audio.find("file")) == 0
    assert audio.findtext("sourcetrack/mediatype") == "audio"
    assert audio.findall("marker") == []
    refs = {(ln.findtext("linkclipref"), ln.findtext("mediatype")) for ln in video.findall("link")}
    assert refs == {(video.get("id"), "video"), (audio.get("id"), "audio")}
    assert seq.findtext("media/audio/format/samplecharacteristics/samplerate") == "48000"
    for track in seq.iter("track"):
        assert [c.tag for c in track][-2:] == ["enabled", "locked"]
    # OpenTimelineIO's reader still reads it: both clips, all markers
    tl = otio.adapters.read_from_string(text, "fcp_xml")
    clips = list(tl.find_clips())
    assert len(clips) == 2 and len(clips[0].markers) == len(SCENES) + len(MOMENTS)


def tree(el: ET.Element):
    """An element as (tag, text) when it has no children, else (tag, [children as trees])."""
    return (el.tag, [tree(c) for c in el]) if len(el) else (el.tag, el.text)


def video_chars(timebase: str, ntsc: str, width: int, height: int, par: str = "square", anamorphic: str = "FALSE"):
    rate = ("rate", [("timebase", timebase), ("ntsc", ntsc)])
    return [rate, ("width", str(width)), ("height", str(height)), ("anamorphic", anamorphic),
            ("pixelaspectratio", par), ("fielddominance", "none")]


def audio_chars(depth: int, rate: int, channels: int):
    return ("audio", [("samplecharacteristics", [("depth", str(depth)), ("samplerate", str(rate))]),
                      ("channelcount", str(channels))])


SEQUENCE_AUDIO_HEAD = [  # the sequence's own audio settings, as Premiere writes them
    ("numOutputChannels", "2"),
    ("format", [("samplecharacteristics", [("depth", "16"), ("samplerate", "48000")])]),
    ("outputs", [("group", [("index", str(i)), ("numchannels", "1"), ("downmix", "0"),
                            ("channel", [("index", str(i))])]) for i in (1, 2)]),
]


def pathurl(path) -> str:
    """Premiere's form: file://localhost then the absolute path, percent-encoded."""
    return "file://localhost" + urllib.parse.quote(os.path.abspath(path))


def test_fcp7xml_media_details_as_premiere_writes_them(env, df_asset, df_clip, tmp_path):
    """The 29.97 DF clip's sound is one AAC channel at 48 kHz (no bit depth in AAC: Premiere's 16)."""
    seq = ET.fromstring(_export(env, df_asset, "fcp7xml", tmp_path / "p.xml")).find("sequence")
    assert seq.get("explodedTracks") == "true"
    (video,) = seq.findall("media/video/track/clipitem")
    file_el = video.find("file")
    assert file_el.findtext("pathurl") == pathurl(df_clip.path)
    assert tree(file_el.find("media")) == ("media", [
        ("video", [("samplecharacteristics", video_chars("30", "TRUE", 1280, 720))]), audio_chars(16, 48000, 1)])
    assert tree(seq.find("media/video/format")) == ("format", [
        ("samplecharacteristics", video_chars("30", "TRUE", 1280, 720) + [("colordepth", "24")])])
    audio = seq.find("media/audio")
    assert [c.tag for c in audio] == ["numOutputChannels", "format", "outputs", "track"]
    assert [tree(c) for c in audio][:3] == SEQUENCE_AUDIO_HEAD
    (track,) = audio.findall("track")  # a mono file: one channel, one track, one clipitem
    assert {k: track.get(k) for k in ("premiereTrackType", "currentExplodedTrackIndex", "totalExplodedTrackCount")} \
        == {"premiereTrackType": "Mono", "currentExplodedTrackIndex": "0", "totalExplodedTrackCount": "1"}
    assert [c.tag for c in track] == ["clipitem", "enabled", "locked"]
    (sound,) = track.findall("clipitem")
    assert sound.get("premiereChannelType") == "mono"
    assert tree(sound.find("sourcetrack")) == ("sourcetrack", [("mediatype", "audio"), ("trackindex", "1")])


def test_fcp7xml_of_a_silent_file_has_no_audio(env, assets, clips, tmp_path):
    text = _export(env, assets["25"], "fcp7xml", tmp_path / "s.xml")
    seq = ET.fromstring(text).find("sequence")
    assert seq.findall("media/audio/track/clipitem") == []
    assert seq.find(".//clipitem/file/media/audio") is None
    tc = seq.find(".//clipitem/file/timecode")
    assert (tc.findtext("string"), tc.findtext("displayformat")) == ("10:00:00:00", "NDF")
    file_el = seq.find("media/video/track/clipitem/file")
    assert file_el.findtext("pathurl") == pathurl(clips["25"].path)
    assert tree(file_el.find("media")) == ("media", [
        ("video", [("samplecharacteristics", video_chars("25", "FALSE", 64, 48))])])
    # the sequence keeps its own audio settings (a sequence always has its outputs), with no track
    assert [tree(c) for c in seq.find("media/audio")] == SEQUENCE_AUDIO_HEAD


# (channels, container, audio options, size, aspect option) -> what Premiere is told about the file
SOUND = {
    "mono": (1, "mono take.mp4", ("-ar", "32000"), "160x120", ()),
    "stereo": (2, "stereo take.mov", ("-c:a", "pcm_s24le", "-ar", "44100"), "720x576", ("-aspect", "4:3")),
}
EXPECTED = {  # depth, sample rate, size, pixel aspect ratio
    "mono": (16, 32000, (160, 120), "square"),  # AAC carries no bit depth: Premiere's 16
    "stereo": (24, 44100, (720, 576), "PAL-601"),  # 720x576 shown at 4:3 has 16:15 pixels: PAL 601
}


@pytest.fixture(scope="module")
def sound_clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sound")
    out = {}
    for key, (channels, name, audio, size, aspect) in SOUND.items():
        out[key] = mediagen.tone_clip(folder / name, fps="25", frames=75, size=size, channels=channels,
                                      extra_args=audio + aspect)
    return out


def _links(item: ET.Element) -> list[tuple]:
    return [(ln.findtext("linkclipref"), ln.findtext("mediatype"), ln.findtext("trackindex"), ln.findtext("clipindex"),
             ln.findtext("groupindex")) for ln in item.findall("link")]


@pytest.mark.parametrize("key", ["mono", "stereo"])
def test_fcp7xml_one_audio_clipitem_per_channel(env, sound_clips, tmp_path, key):
    clip = sound_clips[key]
    channels = SOUND[key][0]
    depth, rate, (width, height), par = EXPECTED[key]
    asset = record(env.engine, clip.path, scenes=SCENES, moments=MOMENTS)
    text = _export(env, asset, "fcp7xml", tmp_path / "p.xml")
    seq = ET.fromstring(text).find("sequence")
    (video,) = seq.findall("media/video/track/clipitem")
    file_el = video.find("file")
    assert file_el.findtext("pathurl") == pathurl(clip.path) and "%20take" in file_el.findtext("pathurl")
    assert tree(file_el.find("media")) == ("media", [
        ("video", [("samplecharacteristics", video_chars("25", "FALSE", width, height, par))]),
        audio_chars(depth, rate, channels)])
    fmt = seq.find("media/video/format/samplecharacteristics")
    assert tree(fmt)[1] == video_chars("25", "FALSE", width, height, par) + [("colordepth", "24")]
    audio = seq.find("media/audio")
    assert [tree(c) for c in audio][:3] == SEQUENCE_AUDIO_HEAD
    tracks = audio.findall("track")
    assert len(tracks) == channels
    items = [t.findall("clipitem") for t in tracks]
    assert [len(i) for i in items] == [1] * channels
    sounds = [i[0] for i in items]
    ids = [video.get("id")] + [s.get("id") for s in sounds]
    assert len(set(ids)) == len(ids) == 1 + channels
    kind = "Stereo" if channels == 2 else "Mono"
    for n, (track, sound) in enumerate(zip(tracks, sounds), 1):
        assert track.get("premiereTrackType") == kind
        assert (track.get("currentExplodedTrackIndex"), track.get("totalExplodedTrackCount")) == (
            (str(n - 1), "2") if channels == 2 else ("0", "1"))
        tail = ["enabled", "locked"] + (["outputchannelindex"] if channels == 2 else [])
        assert [c.tag for c in track][1:] == tail
        if channels == 2:
            assert track.findtext("outputchannelindex") == str(n)
        assert sound.get("premiereChannelType") == kind.lower()
        assert tree(sound.find("sourcetrack")) == ("sourcetrack", [("mediatype", "audio"), ("trackindex", str(n))])
        assert sound.findtext("masterclipid") == "masterclip-1" and sound.findall("marker") == []
        assert sound.find("file").get("id") == file_el.get("id") and len(sound.find("file")) == 0
        for tag in ("start", "end", "in", "out", "duration"):
            assert sound.findtext(tag) == video.findtext(tag)
    # every clipitem of the file links to all of them: the video, then each channel on its own track
    expected = [(ids[0], "video", "1", "1", None)] + [(ids[n], "audio", str(n), "1", "1")
                                                      for n in range(1, channels + 1)]
    for item in [video] + sounds:
        assert _links(item) == expected
    # OpenTimelineIO's reader still reads it: the video clip with its markers, and the sound as one clip on
    # one audio track (it gangs an exploded stereo pair, as in Premiere's own files, into one track)
    tl = otio.adapters.read_from_string(text, "fcp_xml")
    found = list(tl.find_clips())
    assert len(found) == 2 and len(found[0].markers) == len(SCENES) + len(MOMENTS)
    assert [t.kind for t in tl.tracks] == [otio.schema.TrackKind.Video, otio.schema.TrackKind.Audio]


def test_fcp7xml_of_assets_stored_before_the_media_details(env, sound_clips, tmp_path):
    """An asset ingested before the archive kept channels, sample rate, bit depth and pixel aspect (NULL):
    the file is probed again when it is there, else Premiere's defaults (2 channels, 48 kHz, 16 bits, square)."""
    path = tmp_path / "old stereo.mov"
    shutil.copy(sound_clips["stereo"].path, path)
    asset = record(env.engine, path, scenes=SCENES, moments=MOMENTS)
    with env.engine.begin() as conn:
        conn.execute(text("UPDATE assets SET audio_channels = NULL, audio_sample_rate = NULL, audio_bits = NULL, "
                          "pixel_aspect_num = NULL, pixel_aspect_den = NULL WHERE id = :id"), {"id": asset})

    def shape(name: str):
        seq = ET.fromstring(_export(env, asset, "fcp7xml", tmp_path / name)).find("sequence")
        media = seq.find("media/video/track/clipitem/file/media")
        return (tree(media.find("audio")), media.findtext("video/samplecharacteristics/pixelaspectratio"),
                len(seq.findall("media/audio/track/clipitem")))

    assert shape("there.xml") == (audio_chars(24, 44100, 2), "PAL-601", 2)  # probed again
    path.unlink()
    assert shape("gone.xml") == (audio_chars(16, 48000, 2), "square", 2)  # Premiere's defaults


def test_otio_export_has_an_audio_track(env, df_asset, tmp_path):
    _export(env, df_asset, "otio", tmp_path / "t.otio")
    tl = otio.adapters.read_from_file(str(tmp_path / "t.otio"))
    kinds = [t.kind for t in tl.tracks]
    assert kinds == [otio.schema.TrackKind.Video, otio.schema.TrackKind.Audio]
    (sound,) = tl.tracks[1].find_clips()
    assert sound.media_reference.target_url == tl.tracks[0].find_clips()[0].media_reference.target_url
    assert sound.source_range.start_time.value == DF_START and sound.source_range.duration.value == 90
    assert list(sound.markers) == []


def test_fcpxml_audio_format_and_plain_markers(env, df_asset, tmp_path):
    root = ET.fromstring(_export(env, df_asset, "fcpxml", tmp_path / "t.fcpxml"))
    fmt = root.find("resources/format")
    assert (fmt.get("name"), fmt.get("width"), fmt.get("height"), fmt.get("frameDuration")) == (
        "FFVideoFormat720p2997", "1280", "720", "1001/30000s")
    assert root.find("resources/asset").get("hasAudio") == "1"
    markers = list(root.iter("marker"))
    assert len(markers) == len(MOMENTS)
    assert all("completed" not in el.attrib for el in markers + list(root.iter("chapter-marker")))


@pytest.mark.parametrize("which", ["df", "25"])
def test_fcpxml_media_times_as_final_cut_writes_them(env, df_asset, assets, tmp_path, which):
    """Final Cut Pro (and Resolve) write a sequence's spine in sequence time, which starts at its tcStart:
    the first clip's offset is the tcStart. A clip's start opens its own timeline in source time, so the
    video inside it sits at that start (offset) and reads the media from the asset's start (start); an
    asset-clip's start is a source time inside its asset too. With offset 0s and no start, the video lay
    an hour before its clip's visible range and read before the media's first frame."""
    asset = df_asset if which == "df" else assets["25"]
    root = ET.fromstring(_export(env, asset, "fcpxml", tmp_path / "t.fcpxml"))
    res = root.find("resources/asset")
    seq = root.find(".//sequence")
    (clip,) = seq.findall("spine/clip")
    start, length = _t(res, "start"), _t(res, "duration")
    assert start > 0 and _t(clip, "offset") == _t(seq, "tcStart") == start
    assert (_t(clip, "start"), _t(clip, "duration")) == (start, length)
    (video,) = clip.findall("video")
    assert (_t(video, "offset"), _t(video, "start"), _t(video, "duration")) == (start, start, length)
    assert video.get("ref") == res.get("id")
    asset_clips = list(root.iter("asset-clip"))
    assert asset_clips and all(_t(el, "start") == start for el in asset_clips)
    # the markers stay in the clip's own (source) time: the first scene starts on the clip's first frame
    assert _t(clip.find("chapter-marker"), "start") == start


def _t(el, attr: str) -> Fraction:
    """An FCPXML time attribute ("3003/1000s", "36000s") as seconds; a missing one is FCPXML's default 0s."""
    return Fraction((el.get(attr) or "0s").rstrip("s"))


def test_fcpxml_clips_end_to_end_from_the_timeline_start(env, assets, tmp_path):
    root = ET.fromstring(_export(env, assets["25"], "fcpxml", tmp_path / "s.fcpxml", "--start-tc", "01:00:00:00"))
    seq = root.find(".//sequence")
    (clip,) = seq.findall("spine/clip")
    assert (_t(seq, "tcStart"), _t(clip, "offset"), _t(clip, "start")) == (3600, 3600, 36000)
    assert _t(clip.find("video"), "offset") == _t(clip.find("video"), "start") == 36000


def test_fcpxml_silent_custom_size(env, assets, tmp_path):
    root = ET.fromstring(_export(env, assets["25"], "fcpxml", tmp_path / "s.fcpxml"))
    fmt = root.find("resources/format")
    assert (fmt.get("name"), fmt.get("width"), fmt.get("height"), fmt.get("frameDuration")) == (
        None, "64", "48", "1/25s")
    assert root.find("resources/asset").get("hasAudio") == "0"


@pytest.mark.parametrize("start_tc", [None, "00:00:10;00"])
def test_edl_locators_at_record_timecode_drop_frame(env, df_asset, tmp_path, start_tc):
    extra = ("--start-tc", start_tc) if start_tc else ()
    text = _export(env, df_asset, "edl", tmp_path / "a.edl", *extra)
    assert text.isascii()
    lines = text.splitlines()
    event = next(ln for ln in lines if ln.startswith("001 "))
    rate = 30000 / 1001
    rec_in, rec_out = (int(otio.opentime.from_timecode(tc, rate).value) for tc in event.split()[-2:])
    assert rec_in == (DF_START if start_tc is None else 300)  # no label is dropped in the first minute
    # OpenTimelineIO's CMX reader finds every locator, at its record frame, inside its own event
    tl = otio.adapters.read_from_string(text, "cmx_3600", rate=rate)
    (clip,) = tl.find_clips()
    got = sorted((int(m.marked_range.start_time.value), m.name) for m in clip.markers)
    assert got == [(rec_in + 0, "OPENING"), (rec_in + 15, "FLASH"), (rec_in + 45, "SECOND PART"),
                   (rec_in + 60, "SENOR MULLER SAYS... HELLO")]
    assert all(rec_in <= frame < rec_out for frame, _ in got)


def test_edl_locators_without_file_timecode(env, assets, tmp_path):
    """23.976 with no timecode tag: the timeline starts at 01:00:00:00, and so do the locators."""
    text = _export(env, assets["23.976"], "edl", tmp_path / "n.edl")
    event = next(ln for ln in text.splitlines() if ln.startswith("001 "))
    assert event.split()[-4] == "00:00:00:00" and event.split()[-2] == "01:00:00:00"
    locs = [ln.split()[2] for ln in text.splitlines() if ln.startswith("* LOC:")]
    assert locs and all(tc >= "01:00:00:00" for tc in locs)


@pytest.mark.parametrize("aspect, size, expected", [
    (Fraction(1), (1920, 1080), ("square", False)),
    (Fraction(10, 11), (720, 480), ("NTSC-601", False)),
    (Fraction(40, 33), (720, 480), ("NTSC-601", True)),  # 16:9 in an NTSC frame
    (Fraction(16, 15), (720, 576), ("PAL-601", False)),
    (Fraction(64, 45), (720, 576), ("PAL-601", True)),  # 16:9 in a PAL frame
    (Fraction(4, 3), (1440, 1080), ("HD-(1440x1080)", False)),
    (Fraction(3, 2), (1280, 1080), ("HD-(1280x1080)", False)),
    (Fraction(4, 3), (960, 720), ("HD-(960x720)", False)),
    (Fraction(2), (320, 240), ("square", False)),  # FCP 7 XML has no name for it
])
def test_fcp7xml_pixel_aspect_names(aspect, size, expected):
    from cogvlm_media.export.media_details import fcp_pixel_aspect

    assert fcp_pixel_aspect(aspect, *size) == expected
