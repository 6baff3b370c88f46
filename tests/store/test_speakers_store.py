"""Speakers in the store: the migration, turns and voices per asset, a named voice matched across files."""

from __future__ import annotations

import numpy as np
import pytest
from alembic import command
from sqlalchemy import inspect

from cogvlm_media import records
from cogvlm_media.store.engine import get_engine, read_session, write_session
from cogvlm_media.store.migrate import alembic_config, upgrade
from cogvlm_media.store.queries import asset_document, find_asset
from cogvlm_media.store.speakers import SpeakerNotFound, asset_speakers, name_speaker, turns_of
from cogvlm_media.store.writer import FileState, record_analysis

from storedata import MEDIA, analysis  # noqa: E402

A, B = np.zeros(256), np.zeros(256)
A[:128], B[128:] = 1.0, 1.0  # two voices at cosine distance 1
A_AGAIN = A.copy()
A_AGAIN[128:140] = 0.5  # the first voice, a little different: distance ~0.05


def unit(v) -> tuple[float, ...]:
    return tuple(float(x) for x in v / np.linalg.norm(v))


def diarization(*voices) -> records.Diarization:
    turns = tuple(records.SpeakerTurn(float(i), float(i) + 0.9, f"Speaker {i + 1}") for i in range(len(voices)))
    return records.Diarization("resemblyzer-0.1.4", 0.27, turns,
                               tuple(records.SpeakerVoice(f"Speaker {i + 1}", 0.9, unit(v)) for i, v in enumerate(voices)))


def store(engine, tmp_path, name: str, diar: records.Diarization) -> int:
    data = analysis()
    segments = tuple(records.SpeechSegment(i, t.start, t.end, f"words {i}", (), t.speaker)
                     for i, t in enumerate(diar.turns))
    data["transcript"] = records.Transcript("en", segments)
    with write_session(engine) as session:
        asset = record_analysis(session, state=FileState(str(tmp_path / name), 1, 1, 1), fingerprint=name,
                                media=MEDIA, speakers=diar, speaker_match=0.25, **data)
        return asset.id


@pytest.fixture
def engine(tmp_path):
    return get_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")


def test_migration_adds_and_removes_the_speaker_tables(engine):
    speaker_tables = {"voices", "asset_speakers", "speaker_turns"}
    assert speaker_tables <= set(inspect(engine).get_table_names())
    triggers = transcript_triggers(engine)
    assert len(triggers) == 3  # insert, update, delete (migration 0002)
    assert {"speaker", "speaker_label"} <= {c["name"] for c in inspect(engine).get_columns("transcript_segments")}
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
    assert not speaker_tables & set(inspect(engine).get_table_names())
    assert "speaker" not in {c["name"] for c in inspect(engine).get_columns("transcript_segments")}
    assert transcript_triggers(engine) == triggers  # the search change log still hears transcript edits
    upgrade(engine)
    assert speaker_tables <= set(inspect(engine).get_table_names())
    assert transcript_triggers(engine) == triggers


def transcript_triggers(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                        "AND tbl_name = 'transcript_segments'").scalars())


def test_naming_carries_to_matching_voices_now_and_later(engine, tmp_path):
    first = store(engine, tmp_path, "one", diarization(A, B))
    second = store(engine, tmp_path, "two", diarization(B, A_AGAIN))
    with write_session(engine) as session:
        assert name_speaker(session, first, "Speaker 1", " Maria Keller ", 0.25) == [first, second]
        with pytest.raises(SpeakerNotFound, match="its speakers: Speaker 1, Speaker 2"):
            name_speaker(session, first, "Speaker 9", "X", 0.25)
    third = store(engine, tmp_path, "three", diarization(A_AGAIN))
    with read_session(engine) as session:
        shown = {aid: [(s["label"], s["name"]) for s in asset_speakers(session, aid)] for aid in (first, second, third)}
        doc = asset_document(find_asset(session, str(third)))
        assert [s["speaker"] for s in doc["transcript"]["segments"]] == ["Maria Keller"]
        assert [s["speaker"] for s in asset_document(find_asset(session, str(second)))["transcript"]["segments"]] \
            == ["Speaker 1", "Maria Keller"]
        assert set(turns_of(session, "maria keller")) == {first, second, third}
        assert turns_of(session, "Speaker 1") == {second: [(0.0, 0.9)]}
    assert shown == {first: [("Speaker 1", "Maria Keller"), ("Speaker 2", None)],
                     second: [("Speaker 1", None), ("Speaker 2", "Maria Keller")],
                     third: [("Speaker 1", "Maria Keller")]}


def test_reanalysis_replaces_speakers_and_none_writes_none(engine, tmp_path):
    aid = store(engine, tmp_path, "one", diarization(A, B))
    assert store(engine, tmp_path, "one", diarization(B)) == aid
    with read_session(engine) as session:
        assert [s["label"] for s in asset_speakers(session, aid)] == ["Speaker 1"]
    with write_session(engine) as session:
        other = record_analysis(session, state=FileState(str(tmp_path / "x"), 1, 1, 1), fingerprint="x",
                                media=MEDIA, **analysis()).id
    with read_session(engine) as session:
        doc = asset_document(find_asset(session, str(other)))
        assert doc["speakers"] == [] and doc["speaker_turns"] == []
        assert [s["speaker"] for s in doc["transcript"]["segments"]] == [None]
