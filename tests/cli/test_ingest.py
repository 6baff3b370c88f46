"""`ingest`, `show`, `list` and `demo` end to end through the real pipeline (TransNetV2 + Whisper)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cogvlm_media.cli.app import app
from cogvlm_media.store import models as store_models
from cogvlm_media.store.engine import get_engine, read_session


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COGVLM_MEDIA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("COGVLM_MEDIA_DB", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    return tmp_path / "home"


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


def counts(home) -> dict[str, int]:
    engine = get_engine(f"sqlite:///{home / 'cogvlm-media.db'}")
    with read_session(engine) as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t))
                for t in (store_models.Asset, store_models.AssetPath, store_models.Shot, store_models.Window,
                          store_models.Scene, store_models.Marker, store_models.TranscriptSegment)}


def test_ingest_show_json_and_idempotence(home, speech_clip, tmp_path):
    result = cli("ingest", "-q", str(speech_clip.path))
    assert result.exit_code == 0, result.output
    doc = json.loads(cli("show", str(speech_clip.path), "--json").stdout)
    assert doc["schema_version"] == 1 and doc["asset"]["id"] == 1
    assert doc["asset"]["fps"]["num"] == 25 and doc["asset"]["frame_count"] == speech_clip.frame_count
    # shots: one cut at frame 225 (9.0 s), within one frame
    assert len(doc["shots"]) == 2 and abs(doc["shots"][1]["start_frame"] - 225) <= 1
    assert doc["shots"][0]["start"] == 0.0 and doc["shots"][-1]["end"] == pytest.approx(speech_clip.duration, abs=0.05)
    # windows cover the file, ≤ 24 s, ordinal frames inside each window
    for w in doc["windows"]:
        assert w["end"] - w["start"] <= 24.0
        assert all(w["first_frame"] <= i <= w["last_frame"] for i in w["frame_indices"])
    # transcript: known words, each timed inside the utterance that said it (Whisper tiny.en hears
    # espeak-ng imperfectly, so the checked words are ones it recognises reliably)
    words = [(w["text"].strip(" .,").lower(), w["start"]) for s in doc["transcript"]["segments"] for w in s["words"]]
    for word, spoken in (("quick", speech_clip.spoken[0]), ("please", speech_clip.spoken[1]),
                         ("kitchen", speech_clip.spoken[2]), ("table", speech_clip.spoken[2])):
        hits = [t for text, t in words if text == word]
        assert hits, (word, words)
        assert spoken.start - 0.5 <= hits[0] <= spoken.end + 0.5, (word, hits, spoken)
    assert abs(words[0][1] - speech_clip.spoken[0].start) <= 0.5
    # key moments at sentence starts, scenes as ranged markers
    speech_markers = [mk for mk in doc["markers"] if mk["kind"] == "speech"]
    assert len(speech_markers) == 3
    for mk, spoken in zip(speech_markers, speech_clip.spoken):
        assert abs(mk["time"] - spoken.start) <= 0.5 and mk["timecode"].startswith("00:00:")
    scene_markers = [mk for mk in doc["markers"] if mk["kind"] == "scene"]
    assert scene_markers and all(mk["duration"] > 0 for mk in scene_markers)
    assert sum(mk["duration"] for mk in scene_markers) == pytest.approx(speech_clip.duration, abs=0.05)

    before = counts(home)
    again = cli("ingest", "-q", str(speech_clip.path))
    assert again.exit_code == 0 and "unchanged" in again.stdout
    copy = tmp_path / "renamed copy.mp4"
    shutil.copy(speech_clip.path, copy)
    dup = cli("ingest", "-q", str(copy))
    assert dup.exit_code == 0 and "duplicate" in dup.stdout
    after = counts(home)
    assert after["asset_paths"] == before["asset_paths"] + 1
    assert {k: v for k, v in after.items() if k != "asset_paths"} == {k: v for k, v in before.items() if k != "asset_paths"}

    listing = json.loads(cli("list", "--json").stdout)
    assert [a["id"] for a in listing["assets"]] == [1] and len(listing["assets"][0]["paths"]) == 2
    human = cli("show", "1")
    assert human.exit_code == 0 and "Markers" in human.stdout and "kitchen" in human.stdout and "Transcript" in human.stdout


def test_bad_inputs_each_give_one_clear_line(home, bad_inputs, silent_clip):
    reasons = {
        "missing": "file not found",
        "zero_byte": "empty file (0 bytes)",
        "random_bytes": "not a readable media file",
        "truncated": "",  # ffprobe or decord rejects it; the reason names the problem
        "audio_only": "no video stream (audio-only file)",
        "directory": "directory contains no video files",
    }
    for name, path in bad_inputs.items():
        result = cli("ingest", "-q", str(path))
        assert result.exit_code == 1, (name, result.output)
        lines = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
        assert lines and str(path.name) in lines[0] and reasons[name] in lines[0], (name, result.stderr)
    assert counts(home)["assets"] == 0 if (home / "cogvlm-media.db").exists() else True

    # a good file beside bad ones is still ingested, and the run exits 0
    mixed = cli("ingest", "-q", str(bad_inputs["random_bytes"]), str(silent_clip.path), str(bad_inputs["zero_byte"]))
    assert mixed.exit_code == 0, mixed.output
    c = counts(home)
    assert c["assets"] == 1 and c["transcript_segments"] == 0  # no audio: speech skipped cleanly
    engine = get_engine(f"sqlite:///{home / 'cogvlm-media.db'}")
    with read_session(engine) as s:
        statuses = sorted(s.scalars(select(store_models.IngestRun.status)).all())
    assert statuses.count("quarantined") >= 2 and "done" in statuses


def test_show_unknown_asset(home):
    result = cli("show", "42")
    assert result.exit_code == 1 and "no ingested asset matches '42'" in result.stderr


def test_demo_command_prints_markers_of_its_own_clip(home):
    proc = subprocess.run([sys.executable, "-m", "cogvlm_media", "demo", "-q"], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Markers of cogvlm-media-demo.mp4" in proc.stdout
    assert (home / "demo" / "cogvlm-media-demo.mp4").exists()
    doc = json.loads(subprocess.run([sys.executable, "-m", "cogvlm_media", "show", "1", "--json"],
                                    capture_output=True, text=True, timeout=120).stdout)
    assert len(doc["shots"]) >= 4 and any(mk["kind"] == "speech" for mk in doc["markers"])
    assert doc["transcript"]["segments"]


def test_missing_ffmpeg_is_one_line(home, silent_clip, tmp_path):
    bare = tmp_path / "bin"
    bare.mkdir()
    env = {"PATH": str(bare), "COGVLM_MEDIA_HOME": str(home), "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "cogvlm_media", "ingest", str(silent_clip.path)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3
    assert proc.stderr.strip().splitlines() == [
        "error: ffprobe not found on PATH: cogvlm-media needs FFmpeg (Debian/Ubuntu: apt-get install ffmpeg; "
        "macOS: brew install ffmpeg)"]


def test_odd_names(home, silent_clip, bad_inputs, tmp_path):
    odd = tmp_path / "[bold]Café – take 2 (final) [red].mp4"
    shutil.copy(silent_clip.path, odd)
    bad = tmp_path / "[red]broken ünï.mp4"
    shutil.copy(bad_inputs["random_bytes"], bad)
    result = cli("ingest", "-q", str(odd), str(bad))
    assert result.exit_code == 0, result.output
    assert f"error: {bad}: not a readable media file" in result.stderr.replace("\n", "")
    doc = json.loads(cli("show", str(odd), "--json").stdout)
    assert doc["asset"]["paths"] == [str(odd)]


def test_variable_frame_rate_shots_and_windows_share_one_clock(home, tmp_path):
    import mediagen
    from cogvlm_media.media.frames import decoded_frame_times

    clip = mediagen.vfr_clip(tmp_path / "vfr.mp4")
    assert cli("ingest", "-q", str(clip)).exit_code == 0
    doc = json.loads(cli("show", str(clip), "--json").stdout)
    assert doc["asset"]["variable_frame_rate"] is True
    times = decoded_frame_times(clip)
    for shot in doc["shots"]:
        assert shot["start"] == pytest.approx(times[shot["start_frame"]], abs=1e-6)
    for w in doc["windows"]:
        assert w["start"] == pytest.approx(times[w["first_frame"]], abs=1e-6)
        assert w["frame_times"] == pytest.approx([times[i] for i in w["frame_indices"]], abs=1e-6)
