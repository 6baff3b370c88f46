"""Store: migrations, one transaction per file, re-analysis keeps editor markers, portable schema, queue."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

from cogvlm_media import records
from cogvlm_media.store import jobs
from cogvlm_media.store import models as store_models
from cogvlm_media.store.engine import get_engine, read_session, write_session
from cogvlm_media.store.migrate import current_revision, head_revision
from cogvlm_media.store.queries import asset_document, find_asset
from cogvlm_media.store.writer import FileState, record_analysis

from storedata import MEDIA, analysis, claim_concurrently  # noqa: E402  (tests/ is on sys.path, see conftest.py)


@pytest.fixture
def engine(tmp_path):
    return get_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")


def state(tmp_path, name="a.mov") -> FileState:
    return FileState(str(tmp_path / name), 1000, 1, 1)


def test_migrated_on_first_use_with_wal(engine):
    assert current_revision(engine) == head_revision()
    names = set(inspect(engine).get_table_names())
    assert {"assets", "asset_paths", "ingest_runs", "shots", "windows", "scenes", "markers",
            "transcript_segments", "alembic_version"} <= names
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_schema_compiles_for_postgresql():
    dialect = postgresql.dialect()
    for table in store_models.Base.metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=dialect))
        assert "CREATE TABLE" in ddl
    assert "JSON" in str(CreateTable(store_models.Window.__table__).compile(dialect=dialect))


def test_record_and_document(engine, tmp_path):
    with write_session(engine) as s:
        record_analysis(s, state=state(tmp_path), fingerprint="f" * 64, media=MEDIA, **analysis())
    with read_session(engine) as s:
        doc = asset_document(find_asset(s, 1))
    assert doc["schema_version"] == 1 and isinstance(doc["asset"]["id"], int)
    assert doc["asset"]["fps"] == {"num": 24000, "den": 1001, "value": pytest.approx(23.976, abs=1e-3)}
    assert [(mk["kind"], mk["timecode"]) for mk in doc["markers"]] == [("scene", "01:00:00:00"), ("speech", "01:00:01:00")]
    assert doc["scenes"][0]["marker_id"] == doc["markers"][0]["id"]
    assert doc["shots"][1]["start_tc"] == "01:00:05:00" and doc["windows"][0]["caption"] == "a caption"
    assert doc["transcript"]["segments"][0]["words"][1] == {"text": " world.", "start": 1.4, "end": 2.0, "probability": 1.0}


def test_media_details_are_stored(engine, tmp_path):
    """Channels, sample rate and bit depth of the first audio stream and the pixel aspect ratio go into the
    asset row (nullable: rows from before migration 0011 hold NULL); re-analysis writes them again."""
    import dataclasses

    media = dataclasses.replace(MEDIA, audio_channels=2, audio_sample_rate=44100, audio_bits=24,
                                pixel_aspect_num=16, pixel_aspect_den=15)
    with write_session(engine) as s:
        record_analysis(s, state=state(tmp_path), fingerprint="c" * 64, media=media, **analysis())
    with write_session(engine) as s:
        record_analysis(s, state=state(tmp_path), fingerprint="b" * 64, media=MEDIA, **analysis())
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT fingerprint, audio_channels, audio_sample_rate, audio_bits, pixel_aspect_num, "
                                 "pixel_aspect_den FROM assets ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [("c" * 64, 2, 44100, 24, 16, 15), ("b" * 64, None, None, None, None, None)]


def test_a_failure_mid_write_leaves_nothing(engine, tmp_path):
    bad = analysis()
    bad["analysis"].moments.append(records.KeyMoment(2.0, None, "", "speech"))  # NOT NULL name → fails at flush
    with pytest.raises(Exception):
        with write_session(engine) as s:
            record_analysis(s, state=state(tmp_path), fingerprint="e" * 64, media=MEDIA, **bad)
    with read_session(engine) as s:
        for table in (store_models.Asset, store_models.AssetPath, store_models.Shot, store_models.Window,
                      store_models.Scene, store_models.Marker, store_models.TranscriptSegment):
            assert s.scalar(select(func.count()).select_from(table)) == 0, table.__tablename__


def test_reanalysis_replaces_model_output_but_keeps_editor_markers(engine, tmp_path):
    with write_session(engine) as s:
        asset = record_analysis(s, state=state(tmp_path), fingerprint="d" * 64, media=MEDIA, **analysis())
        old = asset.markers[1]
        old.superseded = True
        s.add(store_models.Marker(asset_id=asset.id, time=1.5, name="Editor's fix", kind="speech", colour="RED",
                       source="editor", verified=True, replaces_id=old.id))
    with write_session(engine) as s:
        record_analysis(s, state=state(tmp_path), fingerprint="d" * 64, media=MEDIA, **analysis(" v2"))
    with read_session(engine) as s:
        doc = asset_document(find_asset(s, 1))
        assert s.scalar(select(func.count()).select_from(store_models.Shot)) == 2
        assert s.scalar(select(func.count()).select_from(store_models.AssetPath)) == 1
    names = sorted(mk["name"] for mk in doc["markers"])
    assert names == ["Editor's fix", "Hello v2", "Hello world. v2"]
    assert [h["name"] for h in doc["history"]] == ["Hello world."]  # the replaced model marker stays as history


def test_claims_are_exclusive_across_threads(engine, tmp_path):
    for i in range(5):
        jobs.enqueue(engine, str(tmp_path / f"{i}.mp4"), size=i, mtime_ns=i, source="watch")
    claimed = claim_concurrently(engine)
    assert sorted(claimed) == [1, 2, 3, 4, 5]


def test_enqueue_dedups_and_expired_leases_are_reclaimed(engine, tmp_path):
    path = str(tmp_path / "a.mp4")
    first, created = jobs.enqueue(engine, path, size=1, mtime_ns=1)
    again, created_again = jobs.enqueue(engine, path, size=1, mtime_ns=1)
    assert created and not created_again and first == again
    run = jobs.claim(engine, "dead-worker", lease_seconds=-1)  # a lease already expired: the worker "died"
    assert run.id == first
    stolen = jobs.claim(engine, "alive", lease_seconds=60)
    assert stolen.id == first and stolen.attempts == 2
    assert not jobs.heartbeat(engine, first, "dead-worker", 60)
    assert jobs.fail(engine, first, "alive", "boom", backoff_seconds=100) == "failed"
    assert jobs.claim(engine, "alive", 60) is None  # backing off
    with write_session(engine) as s:
        s.execute(text("UPDATE ingest_runs SET attempts = max_attempts"))
    assert jobs.claim(engine, "alive", 60, run_id=first).id == first
    assert jobs.fail(engine, first, "alive", "boom again") == "quarantined"
    assert jobs.retry(engine, quarantined=True) == 1


def test_concurrent_first_use_migrates_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'race.sqlite'}"
    code = ("import sys; from cogvlm_media.store.engine import get_engine; "
            f"get_engine({url!r}); print('ok')")
    import subprocess
    import sys
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ)
             for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    engine = get_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
