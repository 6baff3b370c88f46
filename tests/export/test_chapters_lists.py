"""Chapter files consumed by ffmpeg, mkvmerge and ffprobe; WebVTT parsed; YouTube rules; JSON and CSV lists."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from fractions import Fraction

import pytest
from exportkit import MOMENTS, RATES, SCENES, SPECIAL_NAME, SPECIAL_NOTE, record, stored


def scene_starts(doc) -> list[Fraction]:
    rate = Fraction(doc["asset"]["fps"]["num"], doc["asset"]["fps"]["den"])
    return [Fraction(round(Fraction(s).limit_denominator(10**6) * rate)) / rate for s, *_ in SCENES]


def ffprobe_chapters(path) -> list[dict]:
    run = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_chapters", str(path)],
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout)["chapters"]


@pytest.mark.parametrize("key", list(RATES))
def test_embed_chapters_ffprobe_reads_them_original_untouched(env, assets, clips, tmp_path, key):
    src = clips[key].path
    before = src.read_bytes()
    out = tmp_path / "with_chapters.mp4"
    env.cli("embed-chapters", str(assets[key]), "-o", str(out))
    assert src.read_bytes() == before
    doc = stored(env, assets[key])
    chapters = ffprobe_chapters(out)
    starts = scene_starts(doc)
    assert [c["tags"]["title"] for c in chapters] == [t for _, _, t, _ in SCENES]
    for ch, start in zip(chapters, starts):
        assert abs(float(ch["start_time"]) - float(start)) <= 0.0005  # TIMEBASE 1/1000
    assert float(chapters[-1]["end_time"]) == pytest.approx(doc["asset"]["duration"], abs=0.002)
    streams = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,nb_frames", "-of", "csv=p=0",
                              str(out)], capture_output=True, text=True, check=True).stdout.split()
    assert streams[0].startswith("h264") and streams[0].split(",")[1] == str(doc["asset"]["frame_count"])
    tag = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream_tags=timecode",
                          "-of", "csv=p=0", str(out)], capture_output=True, text=True, check=True).stdout.strip()
    assert tag == (doc["asset"]["start_timecode"] or "")  # the start timecode survives


def test_embed_refuses_to_overwrite_the_original(env, assets, clips):
    res = env.cli("embed-chapters", str(assets["25"]), "-o", str(clips["25"].path), ok=False)
    assert res.exit_code != 0 and "never modified" in res.output


def test_ffmetadata_escaping_read_by_ffmpeg(env, clips, tmp_path):
    scenes = [(0.0, 12.0, "a=b;c#d\\e", ""), (12.0, 36.0, SPECIAL_NAME, "")]
    asset = record(env.engine, clips["25"].path, scenes=scenes, moments=[])
    meta = tmp_path / "ch.txt"
    env.cli("export", str(asset), "--format", "ffmetadata", "-o", str(meta))
    text = meta.read_text(encoding="utf-8")
    assert text.startswith(";FFMETADATA1\n") and text.count("TIMEBASE=1/1000") == 2
    assert "title=a\\=b\\;c\\#d\\\\e" in text
    out = tmp_path / "o.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(clips["25"].path), "-i", str(meta),
                    "-map_metadata", "1", "-map_chapters", "1", "-c", "copy", str(out)], check=True)
    assert [c["tags"]["title"] for c in ffprobe_chapters(out)] == ["a=b;c#d\\e", SPECIAL_NAME]


@pytest.mark.parametrize("key", ["23.976", "29.97df"])
def test_mkvxml_consumed_by_mkvmerge(env, assets, clips, tmp_path, key):
    xml = tmp_path / "ch.xml"
    env.cli("export", str(assets[key]), "--format", "mkvxml", "-o", str(xml))
    out = tmp_path / "o.mkv"
    run = subprocess.run(["mkvmerge", "-q", "-o", str(out), "--chapters", str(xml), str(clips[key].path)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    chapters = ffprobe_chapters(out)
    starts = scene_starts(stored(env, assets[key]))
    assert [c["tags"]["title"] for c in chapters] == [t for _, _, t, _ in SCENES]
    for ch, start in zip(chapters, starts):
        assert abs(Fraction(ch["start"]) * Fraction(ch["time_base"]) - start) < Fraction(1, 10**6)


def parse_vtt(text: str) -> list[tuple[float, float, str]]:
    """A strict WebVTT reader for chapter cues (header, blank-line separated cues, ordered times)."""
    blocks = text.replace("\r\n", "\n").strip("\n").split("\n\n")
    assert blocks[0].split("\n")[0] == "WEBVTT"
    cues = []
    for block in blocks[1:]:
        lines = block.split("\n")
        timing = next(i for i, line in enumerate(lines) if "-->" in line)
        found = re.fullmatch(r"(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})", lines[timing])
        assert found, lines[timing]
        g = [int(v) for v in found.groups()]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        payload = "\n".join(lines[timing + 1:])
        assert payload and "-->" not in payload and "<" not in payload
        cues.append((start, end, payload.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")))
    assert all(a[1] <= b[0] + 1e-9 and a[0] < a[1] for a, b in zip(cues, cues[1:]))
    return cues


@pytest.mark.parametrize("key", ["59.94", "25"])
def test_webvtt_chapters(env, assets, tmp_path, key):
    out = tmp_path / "c.vtt"
    env.cli("export", str(assets[key]), "--format", "vtt", "-o", str(out))
    cues = parse_vtt(out.read_text(encoding="utf-8"))
    starts = scene_starts(stored(env, assets[key]))
    assert [c[2] for c in cues] == [" ".join(t.split()) for _, _, t, _ in SCENES]
    assert all(abs(c[0] - float(s)) <= 0.0005 for c, s in zip(cues, starts))


def test_youtube_chapters_ok_merged_and_impossible(env, clips, tmp_path):
    asset = record(env.engine, clips["25"].path,
                   scenes=[(1.0, 12.0, "Intro", ""), (12.0, 15.0, "Blip", ""), (15.0, 26.0, "Middle", ""),
                           (26.0, 36.0, "End", "")], moments=[])
    res = env.cli("export", str(asset), "--format", "youtube")
    lines = [line for line in res.stdout.splitlines() if line]
    assert lines == ["0:00 Intro", "0:15 Middle", "0:26 End"]
    assert "merged short chapter 'Blip'" in res.stderr and "starts at 0:00" in res.stderr
    short = record(env.engine, clips["23.976"].path, scenes=[(0.0, 5.0, "A", ""), (5.0, 9.0, "B", ""),
                                                              (9.0, 36.0, "C", "")], moments=[])
    out = tmp_path / "yt.txt"
    bad = env.cli("export", str(short), "--format", "youtube", "-o", str(out), ok=False)
    assert bad.exit_code != 0 and "at least 3 chapters" in bad.output and not out.exists()


def test_json_and_csv_lists(env, assets, tmp_path):
    key = "29.97df"
    doc = stored(env, assets[key])
    out = tmp_path / "m.json"
    env.cli("export", str(assets[key]), "--format", "json", "-o", str(out))
    data = json.loads(out.read_text(encoding="utf-8"))
    (entry,) = data["assets"]
    by_id = {m["marker_id"]: m for m in entry["markers"]}
    assert set(by_id) == {m["id"] for m in doc["markers"]}
    for m in doc["markers"]:
        assert (by_id[m["id"]]["frame"], by_id[m["id"]]["timecode"], by_id[m["id"]]["note"]) == (
            m["frame"], m["timecode"], m["note"])
    assert any(";" in m["timecode"] for m in entry["markers"])  # drop-frame labels from the file's tag
    csv_path = tmp_path / "m.csv"
    env.cli("export", str(assets[key]), "--format", "csv", "-o", str(csv_path))
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    assert len(rows) == len(SCENES) + len(MOMENTS)
    special = next(r for r in rows if r["name"] == SPECIAL_NAME)
    assert special["note"] == SPECIAL_NOTE and special["kind"] == "scene" and special["resolve_colour"] == "Blue"
