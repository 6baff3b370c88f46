"""Speakers end to end: ingest two voices taking turns, name one, and the name follows the voice into
a second file; `show`, `speakers list`, `search --speaker` and the API use the labels."""

from __future__ import annotations

import json

import mediagen
import pytest
from typer.testing import CliRunner

from cogvlm_media.cli.app import app


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COGVLM_MEDIA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("COGVLM_MEDIA_DB", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    return tmp_path / "home"


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


def show(asset: str) -> dict:
    result = cli("show", asset, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def words_by_speaker(doc: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for seg in doc["transcript"]["segments"]:
        out.setdefault(seg["speaker"], []).extend(w["text"].strip(" .,").lower() for w in seg["words"])
    return out


def test_named_voice_keeps_its_name_in_another_file(home, tmp_path):
    dialogue = mediagen.dialogue_clip(tmp_path / "dialogue.mp4")
    monologue = mediagen.dialogue_clip(tmp_path / "monologue.mp4", mediagen.MONOLOGUE, 10)
    assert cli("ingest", "-q", str(dialogue.path)).exit_code == 0
    doc = show("1")
    assert [s["label"] for s in doc["speakers"]] == ["Speaker 1", "Speaker 2"]
    turns = doc["speaker_turns"]
    assert [t["speaker"] for t in turns] == ["Speaker 1", "Speaker 2", "Speaker 1", "Speaker 2"]
    for turn, said in zip(turns, dialogue.spoken):
        assert abs(turn["start"] - said.start) <= 0.5 and abs(turn["end"] - said.end) <= 0.5
    # every segment carries the speaker of the turn it was said in
    for seg in doc["transcript"]["segments"]:
        said = min(range(4), key=lambda i: abs(dialogue.spoken[i].start - seg["start"]))
        assert seg["speaker"] == ("Speaker 1" if said % 2 == 0 else "Speaker 2"), seg
    spoken = words_by_speaker(doc)
    assert "morning" in spoken["Speaker 1"] and "glad" in spoken["Speaker 2"], spoken

    named = cli("speakers", "name", "1", "Speaker 1", "Ada Lovelace")
    assert named.exit_code == 0, named.output
    assert "Speaker 1 of asset 1 is now 'Ada Lovelace'" in named.output
    doc = show("1")
    assert {s["speaker"] for s in doc["transcript"]["segments"]} == {"Ada Lovelace", "Speaker 2"}
    assert [(s["label"], s["name"]) for s in doc["speakers"]] == [("Speaker 1", "Ada Lovelace"), ("Speaker 2", None)]

    # a later file with the same voice shows the name; the other voice of file 1 stays unnamed
    assert cli("ingest", "-q", str(monologue.path)).exit_code == 0
    later = show("2")
    assert [(s["label"], s["name"]) for s in later["speakers"]] == [("Speaker 1", "Ada Lovelace")]
    assert later["transcript"]["segments"] and {s["speaker"] for s in later["transcript"]["segments"]} == {"Ada Lovelace"}
    listed = json.loads(cli("speakers", "list", "2", "--json").stdout)
    assert listed["speakers"][0]["name"] == "Ada Lovelace" and listed["speakers"][0]["turns"] == 1
    plain = cli("show", "2")
    assert plain.exit_code == 0 and "Ada Lovelace" in plain.output

    # search --speaker: only where that voice speaks, in every file it speaks in
    found = json.loads(cli("search", "the", "--mode", "lexical", "--speaker", "ada lovelace", "-n", "50",
                           "--json").stdout)
    assert found["hits"] and {h["asset_id"] for h in found["hits"]} == {1, 2}
    ada = {1: [(t["start"], t["end"]) for t in show("1")["speaker_turns"] if t["speaker"] == "Ada Lovelace"],
           2: [(t["start"], t["end"]) for t in later["speaker_turns"]]}
    for hit in found["hits"]:
        assert any(a - 0.25 <= hit["time"] < b for a, b in ada[hit["asset_id"]]), hit
    other = json.loads(cli("search", "the", "--mode", "lexical", "--speaker", "Speaker 2", "--json").stdout)
    assert other["hits"] and {h["asset_id"] for h in other["hits"]} == {1}
    assert all(h["time"] >= dialogue.spoken[1].start - 0.5 for h in other["hits"])
    nobody = json.loads(cli("search", "the", "--speaker", "Nobody", "--json").stdout)
    assert nobody["count"] == 0
    # a plain search for the name finds what that voice said, in both files, and nothing else
    by_name = json.loads(cli("search", "Ada Lovelace", "--mode", "lexical", "-n", "50", "--json").stdout)
    assert by_name["hits"] and {h["asset_id"] for h in by_name["hits"]} == {1, 2}
    for hit in by_name["hits"]:
        assert hit["kind"] == "transcript" and hit["text"].startswith("Ada Lovelace: "), hit
        assert any(a - 0.25 <= hit["time"] < b for a, b in ada[hit["asset_id"]]), hit


def test_naming_an_unknown_speaker_is_one_line(home, tmp_path):
    clip = mediagen.dialogue_clip(tmp_path / "mono.mp4", mediagen.MONOLOGUE, 10)
    assert cli("ingest", "-q", str(clip.path)).exit_code == 0
    result = cli("speakers", "name", "1", "Speaker 7", "Someone")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: asset 1 has no speaker 'Speaker 7' (its speakers: Speaker 1)"]
    blank = cli("speakers", "name", "1", "Speaker 1", "  ")
    assert blank.exit_code == 1 and "cannot be empty" in blank.output
