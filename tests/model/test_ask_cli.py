"""`cogvlm-media ask` end to end: tiny checkpoint in a temp folder, configured through a TOML file."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from cogvlm_media.cli.app import app


@pytest.fixture(scope="module")
def config(tmp_path_factory, checkpoint):
    folder = tmp_path_factory.mktemp("ask")
    path = folder / "config.toml"
    path.write_text(f'home = "{folder / "home"}"\n\n[model]\npath = "{checkpoint}"\nbatch_size = 2\n'
                    f'max_new_tokens = 6\n\n[analysis]\nwindow_seconds = 8.0\n')
    return path


def run(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_ask_json_covers_every_window(config, cut_clip):
    code, out = run("--config", config, "ask", cut_clip.path, "when does the door open?", "--json")
    assert code == 0, out
    doc = json.loads(out)
    windows = doc["windows"]
    assert len(windows) == 3  # ~19 s in windows of at most 8 s
    assert windows[0]["start"] == 0.0 and windows[-1]["end"] == pytest.approx(cut_clip.duration, abs=0.05)
    for a, b in zip(windows, windows[1:]):
        assert a["end"] == pytest.approx(b["start"])
    for w in windows:
        assert isinstance(w["answer"], str) and len(w["answer"].split()) <= 6
        assert re.fullmatch(r"\d\d:\d\d:\d\d:\d\d", w["start_timecode"])
        for t in w["times"]:
            assert w["start"] <= t["time"] <= w["end"]


def test_ask_prints_timecodes_and_words(config, cut_clip):
    code, out = run("--config", config, "ask", cut_clip.path, "what happens?", "--batch-size", "3")
    assert code == 0, out
    lines = [ln for ln in out.splitlines() if re.match(r"\d\d:\d\d:\d\d:\d\d–\d\d:\d\d:\d\d:\d\d", ln)]
    assert len(lines) == 3
    assert lines[0].startswith("00:00:00:00–")


def test_ask_grounds_time_references():
    from cogvlm_media.records import Window
    from cogvlm_media.analysis.ask_file import ground_answer
    from cogvlm_media.media.timecode import Clock

    w = Window(index=1, start=10.0, end=20.0, first_frame=250, last_frame=499,
               frame_indices=tuple(250 + 25 * i for i in range(10)), frame_times=tuple(10.0 + i for i in range(10)))
    text, refs = ground_answer("The door opens at 5s and closes 7-8 seconds later.", w, Clock.for_media(25, 1, "01:00:00:00"))
    assert text == "The door opens at [01:00:15:00] and closes [01:00:17:00–01:00:18:00] later."
    assert [r["seconds"] for r in refs] == ["00:00:15.000", "00:00:17.000"]


def test_ask_file_is_the_cli_without_its_printing(config, cut_clip):
    """The work below the CLI: ask_file answers with the same document `ask --json` prints."""
    from cogvlm_media.analysis.ask_file import NoVisionModel, ask_file
    from cogvlm_media.config import Settings, load_settings

    found = ask_file(load_settings(config), cut_clip.path, "when does the door open?")
    code, out = run("--config", config, "ask", cut_clip.path, "when does the door open?", "--json")
    assert code == 0, out
    assert found.as_dict() == json.loads(out)
    assert [w.window.index for w in found.windows] == [0, 1, 2] and found.file == str(cut_clip.path)
    with pytest.raises(NoVisionModel, match="no vision model configured"):
        ask_file(Settings(), cut_clip.path, "what happens?")  # before the file is even read


def test_ask_without_model_or_offline_hub(tmp_path, cut_clip, monkeypatch):
    bare = tmp_path / "bare.toml"
    bare.write_text(f'home = "{tmp_path / "home"}"\n')
    code, out = run("--config", bare, "ask", cut_clip.path, "what happens?")
    assert code == 1 and "no vision model configured" in out
    assert "set [model] path" in out and "\\[" not in out  # bracket shown as is, escaped once
    hub = tmp_path / "hub.toml"
    hub.write_text(f'home = "{tmp_path / "home"}"\n[model]\npath = "THUDM/cogvlm2-video-llama3-chat"\n')
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    code, out = run("--config", hub, "ask", cut_clip.path, "what happens?")
    assert code == 1 and "[model] path" in out and "local folder" in out


def test_ask_bad_file(config, tmp_path):
    code, out = run("--config", config, "ask", tmp_path / "missing.mp4", "what happens?")
    assert code == 1 and "file not found" in out
