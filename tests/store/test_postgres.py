"""The schema, writer, document and queue on a real PostgreSQL server (started by the test)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile

import pytest
from sqlalchemy import inspect

from cogvlm_media.store import jobs
from cogvlm_media.store.engine import get_engine, read_session, write_session
from cogvlm_media.store.migrate import current_revision, head_revision
from cogvlm_media.store.queries import asset_document, find_asset
from cogvlm_media.store.writer import FileState, record_analysis

from storedata import MEDIA, analysis, claim_concurrently  # noqa: E402  (tests/ is on sys.path, see conftest.py)


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    assert found, f"{name} not found: install the Debian package postgresql (see the README test command)"
    return found


@pytest.fixture(scope="module")
def pg_url():
    root = tempfile.mkdtemp(prefix="cogvlm-pg-")
    data, sock = os.path.join(root, "data"), os.path.join(root, "sock")
    os.makedirs(sock)
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, timeout=120)  # noqa: E731
    run(_pg_bin("initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
    run(_pg_bin("pg_ctl"), "-D", data, "-w", "-o", f"-k {sock} -c listen_addresses=''", "-l",
        os.path.join(root, "log"), "start")
    try:
        run(_pg_bin("createdb"), "-h", sock, "-U", "postgres", "cogvlm")
        yield f"postgresql+psycopg2://postgres@/cogvlm?host={sock}"
    finally:
        run(_pg_bin("pg_ctl"), "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


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


def test_marker_import_log_and_undo_on_postgresql(pg_url, tmp_path):
    from cogvlm_media.store.import_log import record_import, undo_import
    from cogvlm_media.store.import_plan import apply_plan, plan_import
    from cogvlm_media.store.marker_edits import ImportSet, Incoming

    engine = get_engine(pg_url)
    with write_session(engine) as s:
        record_analysis(s, state=FileState(str(tmp_path / "b.mov"), 1000, 1, 1), fingerprint="b" * 64,
                        media=MEDIA, **analysis())
    with read_session(engine) as s:
        before = asset_document(find_asset(s, str(tmp_path / "b.mov")))
    first = before["markers"][0]
    with write_session(engine) as s:
        asset = find_asset(s, str(tmp_path / "b.mov"))
        data = ImportSet("json", [Incoming((first["id"],), first["frame"], 0, "Renamed", ""),
                                  Incoming((), 24, 0, "Added", "")], True)
        plan = plan_import(s, asset, data)
        created, superseded = apply_plan(s, asset, plan)
        row = record_import(s, asset, fmt="json", file="x.json", forced=False, added=1, changed=1, deleted=1,
                            refused=0, created=created, superseded=superseded)
        assert (len(plan.changes), len(plan.additions), len(plan.deletions)) == (1, 1, 1)
    with write_session(engine) as s:
        assert undo_import(s, row.id)[1:] == (2, 2)
    with read_session(engine) as s:
        after = asset_document(find_asset(s, str(tmp_path / "b.mov")))
    assert after["markers"] == before["markers"] and after["history"] == before["history"]
