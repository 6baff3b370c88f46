"""Every timeline export read back by an independent reader (OpenTimelineIO's adapters, an XML parse),
frame-exact at 23.976, 25, 29.97 DF and 59.94, with special characters intact."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from fractions import Fraction

import opentimelineio as otio
import pytest
from exportkit import MOMENTS, RATES, SCENES, SPECIAL_NAME, SPECIAL_NOTE, stored

KEYS = list(RATES)


def expected(doc) -> dict[int, dict]:
    """marker id -> {frame, frames, name, note, kind, colour} computed from seconds × exact rate."""
    rate = Fraction(doc["asset"]["fps"]["num"], doc["asset"]["fps"]["den"])
    out = {}
    for mk in doc["markers"]:
        frame = round(Fraction(mk["time"]).limit_denominator(10**6) * rate)
        end = round(Fraction(mk["time"] + mk["duration"]).limit_denominator(10**6) * rate)
        out[mk["id"]] = {**mk, "frame": frame, "frames": end - frame if mk["duration"] else 0}
    assert len(out) == len(SCENES) + len(MOMENTS)
    return out


def nudged_id(doc) -> int:
    """The moment that shares its frame with a scene start (moved one frame for Resolve)."""
    return next(m["id"] for m in doc["markers"] if m["name"] == "Door opens")


def source_start(doc) -> int:
    tag = doc["asset"]["start_timecode"]
    rate = doc["asset"]["fps"]["num"] / doc["asset"]["fps"]["den"]
    return int(otio.opentime.from_timecode(tag, rate).value) if tag else 0


def record_start(doc) -> int:
    rate = doc["asset"]["fps"]["num"] / doc["asset"]["fps"]["den"]
    return int(otio.opentime.from_timecode(doc["asset"]["start_timecode"] or "01:00:00:00", rate).value)


@pytest.mark.parametrize("key", KEYS)
def test_otio_export_reads_back_frame_exact(env, assets, tmp_path, key):
    out = tmp_path / "t.otio"
    env.cli("export", str(assets[key]), "--format", "otio", "-o", str(out))
    doc = stored(env, assets[key])
    want = expected(doc)
    tl = otio.adapters.read_from_file(str(out))
    (clip,) = tl.find_clips()
    rate = doc["asset"]["fps"]["num"] / doc["asset"]["fps"]["den"]
    avail = clip.media_reference.available_range
    assert avail.start_time.rate == pytest.approx(rate, abs=1e-9)
    assert avail.start_time.value == source_start(doc)
    assert avail.duration.value == doc["asset"]["frame_count"]
    assert tl.global_start_time.value == record_start(doc)
    assert clip.media_reference.target_url.startswith("file://")
    seen = set()
    for mk in clip.markers:
        meta = mk.metadata["cogvlm_media"]
        w = want[meta["id"]]
        shift = 1 if meta["id"] == nudged_id(doc) else 0
        assert mk.marked_range.start_time.value - avail.start_time.value == w["frame"] + shift
        assert mk.marked_range.duration.value == w["frames"]
        assert (mk.name, mk.comment, mk.color, meta["kind"], meta["verified"]) == (
            w["name"], w["note"], w["colour"], w["kind"], False)
        seen.add(meta["id"])
    assert seen == set(want)
    assert any(m.name == SPECIAL_NAME and m.comment == SPECIAL_NOTE for m in clip.markers)


@pytest.mark.parametrize("key", KEYS)
def test_resolve_edl_reads_back_through_otio_cmx_reader(env, assets, tmp_path, key):
    out = tmp_path / "m.edl"
    env.cli("export", str(assets[key]), "--format", "edl-resolve", "-o", str(out))
    raw = out.read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    text = raw.decode("utf-8")
    doc = stored(env, assets[key])
    want = expected(doc)
    drop = key == "29.97df"
    assert ("FCM: DROP FRAME" if drop else "FCM: NON-DROP FRAME") in text
    rate = doc["asset"]["fps"]["num"] / doc["asset"]["fps"]["den"]
    tl = otio.adapters.read_from_string(text, "cmx_3600", rate=rate)
    events = tl.find_clips()
    assert len(events) == len(want)
    by_name = {}
    for ev in events:
        comment = " ".join(ev.metadata["cmx_3600"]["comments"])
        assert ev.source_range.duration.value == 1
        by_name[comment.split("|M:")[1].split(" |D:")[0]] = (ev.source_range.start_time.value, comment)
    frames = set()
    for w in want.values():
        name = " ".join(w["name"].replace("|", "/").split())
        start, comment = by_name[name]
        shift = 1 if w["id"] == nudged_id(doc) else 0
        assert start == record_start(doc) + w["frame"] + shift
        assert f"[cm:{w['id']}]" in comment
        assert f"|D:{max(w['frames'], 1)}" in comment
        frames.add(start)
    assert len(frames) == len(want)  # one marker per frame
    assert "|C:ResolveColorBlue |M:Opening" in text
    assert "second line — ✓" in text and "Café" in text


@pytest.mark.parametrize("key", KEYS)
def test_cmx_edl_locators(env, assets, tmp_path, key):
    """Locators at record (timeline) timecode, as in Avid's own EDLs, read by OpenTimelineIO's CMX reader
    as they are (drop-frame too); names upper-case ASCII."""
    out = tmp_path / "avid.edl"
    env.cli("export", str(assets[key]), "--format", "edl", "-o", str(out))
    text = out.read_text()
    assert text.isascii()
    doc = stored(env, assets[key])
    want = expected(doc)
    drop = doc["asset"]["fps"]["den"] == 1001 and doc["asset"]["fps"]["num"] in (30000, 60000)
    assert ("FCM: DROP FRAME" if drop else "FCM: NON-DROP FRAME") in text
    rate = doc["asset"]["fps"]["num"] / doc["asset"]["fps"]["den"]
    tl = otio.adapters.read_from_string(text, "cmx_3600", rate=rate)
    (clip,) = tl.find_clips()
    assert clip.source_range.start_time.value == source_start(doc)
    record_in, record_out = text.split("\n")[3].split()[-2:]
    rec_in = int(otio.opentime.from_timecode(record_in, rate).value)
    assert rec_in == record_start(doc)
    got = sorted((int(m.marked_range.start_time.value), m.name) for m in clip.markers)
    ascii_names = {SPECIAL_NAME: 'CAFE "UNICODE" & <B>|PIPE'}
    assert got == sorted((rec_in + w["frame"], ascii_names.get(w["name"], w["name"].upper())) for w in want.values())
    rec_out = int(otio.opentime.from_timecode(record_out, rate).value)
    assert all(rec_in <= frame < rec_out for frame, _ in got)  # inside their own event


@pytest.mark.parametrize("key", KEYS)
def test_fcp7xml_structure_and_markers(env, assets, tmp_path, key):
    out = tmp_path / "premiere.xml"
    env.cli("export", str(assets[key]), "--format", "fcp7xml", "-o", str(out))
    text = out.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE xmeml>')
    root = ET.fromstring(text)
    assert root.tag == "xmeml" and root.get("version") == "4"
    doc = stored(env, assets[key])
    want = expected(doc)
    seq = root.find(".//sequence")
    clipitem = seq.find("./media/video/track/clipitem")
    for parent in (clipitem, seq):
        markers = parent.findall("marker")
        assert len(markers) == len(want)
        for el in markers:  # Premiere's own structure: comment, name, in, out (-1 for a point)
            assert [c.tag for c in el] == ["comment", "name", "in", "out"]
            w = want[int(el.findtext("comment").rsplit("[cm:", 1)[1].rstrip("]"))]
            shift = 1 if w["id"] == nudged_id(doc) else 0
            assert int(el.findtext("in")) == w["frame"] + shift
            out_ = int(el.findtext("out"))
            assert out_ == (-1 if not w["frames"] else w["frame"] + w["frames"])
    ntsc = seq.findtext("./rate/ntsc")
    assert ntsc == ("TRUE" if doc["asset"]["fps"]["den"] == 1001 else "FALSE")
    # OTIO's reader agrees on names, comments and frames
    tl = otio.adapters.read_from_string(text, "fcp_xml")
    (clip,) = tl.find_clips()
    names = {m.name for m in clip.markers}
    assert SPECIAL_NAME in names
    special = next(m for m in clip.markers if m.name == SPECIAL_NAME)
    assert special.metadata["fcp_xml"]["comment"].startswith(SPECIAL_NOTE)
    assert len(tl.tracks.markers) == len(want)


@pytest.mark.parametrize("key", KEYS)
def test_fcpxml_markers_notes_and_chapters(env, assets, tmp_path, key):
    out = tmp_path / "t.fcpxml"
    env.cli("export", str(assets[key]), "--format", "fcpxml", "-o", str(out))
    text = out.read_text(encoding="utf-8")
    doc = stored(env, assets[key])
    want = expected(doc)
    rate = Fraction(doc["asset"]["fps"]["num"], doc["asset"]["fps"]["den"])
    root = ET.fromstring(text)
    assert root.find("./resources/format").get("frameDuration") == f"{rate.denominator}/{rate.numerator}s"
    clip = root.find(".//spine/clip")

    def frame(attr: str) -> Fraction:
        return Fraction(attr.rstrip("s")) * rate

    chapters = clip.findall("chapter-marker")
    markers = clip.findall("marker")
    assert len(chapters) == len(SCENES) and len(markers) == len(MOMENTS)
    for el in chapters + markers:
        w = want[int(el.get("note").rsplit("[cm:", 1)[1].rstrip("]"))]
        shift = 1 if w["id"] == nudged_id(doc) else 0
        assert frame(el.get("start")) - source_start(doc) == w["frame"] + shift
        assert el.get("value") == w["name"]
        assert el.get("note").startswith(w["note"])
        assert (el.tag == "chapter-marker") == (w["kind"] == "scene")
    assert frame(root.find(".//sequence").get("tcStart")) == record_start(doc)
    # OTIO's FCPX reader sees the plain markers; it truncates NTSC rates to whole numbers, so its
    # times are only good to a frame (exact times are checked on the XML above)
    tl = otio.adapters.read_from_string(text, "fcpx_xml")
    (oclip,) = tl.find_clips()
    got = sorted(m.marked_range.start_time.to_seconds() * rate - source_start(doc) for m in oclip.markers)
    exp = sorted(w["frame"] + (1 if w["id"] == nudged_id(doc) else 0) for w in want.values() if w["kind"] != "scene")
    tolerance = rate / int(rate)  # it truncates (int()) floats: one frame at its truncated rate
    assert len(got) == len(exp) and all(abs(g - e) <= tolerance for g, e in zip(got, exp))


def test_several_assets_split_and_mixed_rates_refused(env, assets, tmp_path):
    out = tmp_path / "split"
    env.cli("export", str(assets["25"]), str(assets["59.94"]), "--format", "otio", "--split", "-o", str(out))
    assert sorted(p.name for p in out.iterdir()) == ["export_25.otio", "export_59.94.otio"]
    bad = env.cli("export", str(assets["25"]), str(assets["59.94"]), "--format", "otio", "-o",
                  str(tmp_path / "one.otio"), ok=False)
    assert bad.exit_code != 0 and "different frame rates" in bad.output
    assert not (tmp_path / "one.otio").exists()
