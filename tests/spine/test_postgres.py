"""The schema, writer, document and queue on a real PostgreSQL server (started by the test)."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from cogvlm_media.store import jobs
from cogvlm_media.store.engine import get_engine, read_session, write_session
from cogvlm_media.store.migrate import current_revision, head_revision
from cogvlm_media.store.queries import asset_document, find_asset
from cogvlm_media.store.writer import FileState, record_analysis

from pgserver import pg_server_fixture  # (tests/ is on sys.path, see conftest.py)
from storedata import MEDIA, analysis, claim_concurrently


pg_server = pg_server_fixture()


@pytest.fixture(scope="module")
def pg_url(pg_server):
    return pg_server.url()


def test_migrations_writer_and_document_on_postgresql(pg_url, tmp_path):
    engine = get_engine(pg_url)
    assert current_revision(engine) == head_revision()
    assert {"assets", "markers", "ingest_runs"} <= set(inspect(engine).get_table_names())
    with write_session(engine) as s:
        record_analysis(s, state=FileState(str(tmp_path / "a.mov"), 1000, 1, 1), fingerprint="a" * 64,
                        media=MEDIA, **analysis())
    with write_session(engine) as s:  # re-analysis replaces in place
        record_analysis(s, state=FileState(str(tmp_path / "a.mov"), 1000, 1, 1), fingerprint="a" * 64,
                        media=MEDIA, **analysis(" v2"))
    with read_session(engine) as s:
        doc = asset_document(find_asset(s, str(tmp_path / "a.mov")))
    assert [mk["name"] for mk in doc["markers"]] == ["Hello v2", "Hello world. v2"]
    assert doc["windows"][0]["frame_times"] == [0.0, 1.001, 2.002]


def test_claims_are_exclusive_on_postgresql(pg_url, tmp_path):
    engine = get_engine(pg_url)
    ids = [jobs.enqueue(engine, str(tmp_path / f"{i}.mp4"), size=i, mtime_ns=i, source="watch")[0] for i in range(8)]
    claimed = claim_concurrently(engine)
    assert sorted(claimed) == sorted(ids)
