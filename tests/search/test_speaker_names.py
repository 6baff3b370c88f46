"""Who speaks is searchable: a transcript segment's document starts with the name an editor gave its voice,
so a plain search for a named speaker finds what they said; naming and renaming a voice
(`speakers name`, through the change log and ``asset_changed``) re-index it, and the old name stops matching."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import searchkit

from cogvlm_media import hooks, records
from cogvlm_media.config import Settings
from cogvlm_media.search.documents import segment_text
from cogvlm_media.store.engine import get_engine, write_session
from cogvlm_media.store.writer import FileState, record_analysis

def voice(first: int) -> tuple[float, ...]:
    """A unit voice embedding on 64 of 256 axes: two voices on different axes are cosine distance 1 apart."""
    v = np.zeros(256)
    v[first:first + 64] = 1 / 8
    return tuple(v)


VOICE_A, VOICE_B, VOICE_C, VOICE_D = voice(0), voice(64), voice(128), voice(192)
SAID = [  # (start, label, text): two voices taking turns
    (1.0, "Speaker 1", "Good morning and welcome to the harbour."),
    (5.0, "Speaker 2", "Thank you, it is good to be here."),
    (9.0, "Speaker 1", "The boats came in early today."),
    (13.0, "Speaker 2", "The fishermen were up before dawn."),
    (17.0, "Speaker 1", "Let us walk down to the market."),
]


@pytest.fixture
def home(tmp_path, embedder):
    settings = Settings(home=tmp_path)
    return settings, get_engine(settings.db_url)


def add_dialogue(settings, engine, name: str, voices=(VOICE_A, VOICE_B)) -> int:
    segments, turns = [], []
    for i, (start, label, text) in enumerate(SAID):
        words = tuple(records.Word(w, start + 0.4 * j, start + 0.4 * j + 0.35, 0.9) for j, w in enumerate(text.split()))
        segments.append(records.SpeechSegment(i, start, words[-1].end, text, words, label))
        turns.append(records.SpeakerTurn(start, words[-1].end, label))
    diarization = records.Diarization("resemblyzer-0.1.4", 0.27, tuple(turns), (
        records.SpeakerVoice("Speaker 1", 8.0, voices[0]), records.SpeakerVoice("Speaker 2", 5.0, voices[1])))
    analysis = records.Analysis("embedded", "1", "test", moments=[records.KeyMoment(30.0, "Gulls overhead", "", "moment")])
    with write_session(engine) as session:
        asset = record_analysis(session, state=FileState(f"/archive/{name}", 1000, 0, 0),
                                fingerprint=hashlib.sha256(name.encode()).hexdigest(),
                                media=searchkit.media(name, 40.0), shots=[],
                                transcript=records.Transcript("en", tuple(segments)), windows=[],
                                analysis=analysis, speakers=diarization)
        asset_id = asset.id
    hooks.emit("asset_changed", engine, settings, asset_id=asset_id)
    return asset_id


def search(settings, query: str, *options) -> list[dict]:
    out = searchkit.cli(settings, "search", query, "--json", "-n", "20", *options)
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)["hits"]


def spoken_by(label: str) -> list[float]:
    return [start for start, who, _ in SAID if who == label]


def test_segment_text_names_a_named_speaker():
    assert segment_text(" Good morning. ", "Maria Keller", "Speaker 1") == "Maria Keller: Good morning."
    assert segment_text("Good morning.", "Speaker 1", "Speaker 1") == "Good morning."  # only the file's label
    assert segment_text("Good morning.", None, None) == "Good morning."
    assert segment_text("Good morning.", "  ", "Speaker 1") == "Good morning."
    assert segment_text("   ", "Maria Keller", "Speaker 1") == ""


def test_a_named_speaker_is_found_by_name_and_a_rename_moves_the_index(home):
    settings, engine = home
    asset = add_dialogue(settings, engine, "harbour.mov")
    strangers = add_dialogue(settings, engine, "other.mov", (VOICE_C, VOICE_D))  # the same words, other voices
    assert search(settings, "Maria Keller", "--mode", "lexical") == []

    named = searchkit.cli(settings, "speakers", "name", asset, "Speaker 1", "Maria Keller")
    assert named.exit_code == 0, named.output
    hits = search(settings, "Maria Keller", "--mode", "lexical")
    assert sorted((h["asset_id"], h["time"]) for h in hits) == [(asset, t) for t in spoken_by("Speaker 1")]
    assert all(h["kind"] == "transcript" and h["text"].startswith("Maria Keller: ") for h in hits)
    assert {h["text"] for h in hits} == {f"Maria Keller: {text}" for _, who, text in SAID if who == "Speaker 1"}
    # hybrid (the default) ranks her segments first, under the same rules
    hybrid = search(settings, "Maria Keller")
    top = hybrid[:len(spoken_by("Speaker 1"))]
    assert sorted((h["asset_id"], h["time"]) for h in top) == [(asset, t) for t in spoken_by("Speaker 1")]
    # the unnamed speaker's lines are the words alone ("speaker" would match every line; --speaker finds labels)
    other = search(settings, "fishermen dawn", "--mode", "lexical", "--asset", str(asset))
    assert other[0]["text"] == "The fishermen were up before dawn."
    assert search(settings, "speaker", "--mode", "lexical") == []
    # --speaker with a query that names her still agrees with the turns
    both = search(settings, "Maria Keller", "--mode", "lexical", "--speaker", "Maria Keller")
    assert sorted(h["time"] for h in both) == spoken_by("Speaker 1")

    # a file ingested later with her voice (as Speaker 2 there) takes the name and is found by it
    later = add_dialogue(settings, engine, "later.mov", (VOICE_D, VOICE_A))
    hits = search(settings, "Maria Keller", "--mode", "lexical")
    assert sorted((h["asset_id"], h["time"]) for h in hits) == sorted(
        [(asset, t) for t in spoken_by("Speaker 1")] + [(later, t) for t in spoken_by("Speaker 2")])
    assert strangers not in {h["asset_id"] for h in hits}

    renamed = searchkit.cli(settings, "speakers", "name", asset, "Speaker 1", "Maria Schmidt")
    assert renamed.exit_code == 0, renamed.output
    # the old name no longer matches this file (the later file's speaker keeps the voice it was given:
    # `speakers name` names one file's speaker, and unnamed matching speakers)
    keller = search(settings, "Keller", "--mode", "lexical")
    assert sorted((h["asset_id"], h["time"]) for h in keller) == [(later, t) for t in spoken_by("Speaker 2")]
    hits = search(settings, "Schmidt", "--mode", "lexical")
    assert sorted((h["asset_id"], h["time"]) for h in hits) == [(asset, t) for t in spoken_by("Speaker 1")]
    assert {h["text"] for h in hits} == {f"Maria Schmidt: {text}" for _, who, text in SAID if who == "Speaker 1"}
    # the index agrees with the database document by document
    check = searchkit.cli(settings, "reindex", "--check", "--no-repair")
    assert check.exit_code == 0, check.output


def test_rename_moves_a_voice_name_in_every_file(home):
    settings, engine = home
    first = add_dialogue(settings, engine, "harbour.mov")
    later = add_dialogue(settings, engine, "later.mov", (VOICE_D, VOICE_A))  # her voice is Speaker 2 there
    assert searchkit.cli(settings, "speakers", "name", first, "Speaker 1", "Maria Keller").exit_code == 0
    assert len(search(settings, "Keller", "--mode", "lexical")) == len(spoken_by("Speaker 1")) + len(spoken_by("Speaker 2"))

    renamed = searchkit.cli(settings, "speakers", "rename", "Maria Keller", "Maria Schmidt")
    assert renamed.exit_code == 0, renamed.output
    assert "in 2 file(s)" in renamed.output
    assert search(settings, "Keller", "--mode", "lexical") == []
    hits = search(settings, "Schmidt", "--mode", "lexical")
    assert sorted((h["asset_id"], h["time"]) for h in hits) == sorted(
        [(first, t) for t in spoken_by("Speaker 1")] + [(later, t) for t in spoken_by("Speaker 2")])
    listed = json.loads(searchkit.cli(settings, "speakers", "list", later, "--json").stdout)["speakers"]
    assert {s["label"]: s["name"] for s in listed} == {"Speaker 1": None, "Speaker 2": "Maria Schmidt"}

    # a voice not named, or a name already taken: one line, non-zero
    missing = searchkit.cli(settings, "speakers", "rename", "Nobody", "X")
    assert missing.exit_code != 0 and "no voice is named 'Nobody'" in missing.output
    assert searchkit.cli(settings, "speakers", "name", first, "Speaker 2", "Tom Berg").exit_code == 0
    taken = searchkit.cli(settings, "speakers", "rename", "Maria Schmidt", "Tom Berg")
    assert taken.exit_code != 0 and "already named 'Tom Berg'" in taken.output
    check = searchkit.cli(settings, "reindex", "--check", "--no-repair")
    assert check.exit_code == 0, check.output
