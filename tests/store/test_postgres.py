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
    # the same markers as before, field for field; only their edit revision moved on (replaced, then restored)
    assert all(a["revision"] > b["revision"] for a, b in zip(after["markers"], before["markers"]) if a != b)
    def unrevised(rows):
        return [{k: v for k, v in r.items() if k != "revision"} for r in rows]
    assert unrevised(after["markers"]) == unrevised(before["markers"])
    assert unrevised(after["history"]) == unrevised(before["history"])


# --- the migrations upgrade a populated schema alike on SQLite and PostgreSQL ------------------------------

def _fill(table, **given):
    """A row for ``table`` with every required column set (given values, else a plain one of its type)."""
    import datetime as dt

    from sqlalchemy import Boolean, DateTime, Float, Integer, Numeric

    row = dict(given)
    for col in table.columns:
        if col.name in row or col.nullable or col.primary_key or col.server_default is not None:
            continue
        kind = type(col.type)
        row[col.name] = (dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc) if issubclass(kind, DateTime) else
                         False if issubclass(kind, Boolean) else 0.0 if issubclass(kind, (Float, Numeric)) else
                         1 if issubclass(kind, Integer) else "x")
    return row


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_upgrade_a_populated_schema(backend, pg_server, tmp_path):
    from sqlalchemy import MetaData, insert, select, text

    from cogvlm_media.store.engine import make_engine
    from cogvlm_media.store.migrate import upgrade
    from cogvlm_media.store.models import Marker

    url = pg_server.new_database("mig") if backend == "postgresql" else f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade(engine, "0003")  # the schema before this round's revisions, with rows in it
    meta = MetaData()
    meta.reflect(engine)
    assert "revision" not in meta.tables["markers"].columns
    with engine.begin() as conn:
        conn.execute(insert(meta.tables["assets"]).values(_fill(meta.tables["assets"], id=1, fingerprint="f" * 64,
                                                                    fps_num=24, fps_den=1, duration=10.0)))
        for i, name in enumerate(["first", "second"], 1):
            conn.execute(insert(meta.tables["markers"]).values(_fill(
                meta.tables["markers"], id=i, asset_id=1, time=float(i), name=name, kind="moment", colour="RED")))
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert {"search_readers", "nle_links", "search_changes"} <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, name, time, revision FROM markers ORDER BY id")).all()
        changes = conn.execute(text("SELECT count(*) FROM search_changes")).scalar()
    assert [tuple(r) for r in rows] == [(1, "first", 1.0, 1), (2, "second", 2.0, 1)]
    assert changes == 3  # the triggers of 0002 logged the asset and both markers
    if backend == "postgresql":  # every logged change carries its transaction (0005)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM search_changes WHERE xid IS NOT NULL")).scalar() == 3
    with write_session(engine) as s:  # the ORM writes the upgraded rows, bumping the revision
        s.scalar(select(Marker).where(Marker.id == 1)).name = "first, edited"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT revision FROM markers WHERE id = 1")).scalar() == 2
    engine.dispose()


MEDIA_DETAILS = ("audio_channels", "audio_sample_rate", "audio_bits", "pixel_aspect_num", "pixel_aspect_den")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_media_details_migration_down_and_up(backend, pg_server, tmp_path):
    """0011 adds the nullable media-detail columns to assets and drops them again; the rows, and the search
    triggers on assets (0002), outlive both directions."""
    from alembic import command
    from sqlalchemy import text

    from cogvlm_media.store.engine import make_engine
    from cogvlm_media.store.migrate import alembic_config, upgrade

    url = pg_server.new_database("details") if backend == "postgresql" else f"sqlite:///{tmp_path / 'd.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with write_session(engine) as s:
        record_analysis(s, state=FileState(str(tmp_path / "a.mov"), 1000, 1, 1), fingerprint="a" * 64,
                        media=MEDIA, **analysis())

    def columns() -> set[str]:
        return {c["name"] for c in inspect(engine).get_columns("assets")}

    def logged() -> int:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM search_changes")).scalar()

    assert set(MEDIA_DETAILS) <= columns()
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0010")
    assert current_revision(engine) == "0010" and not set(MEDIA_DETAILS) & columns()
    upgrade(engine)
    assert current_revision(engine) == head_revision() == "0011" and set(MEDIA_DETAILS) <= columns()
    before = logged()
    with engine.begin() as conn:
        row = conn.execute(text(f"SELECT fingerprint, {', '.join(MEDIA_DETAILS)} FROM assets")).one()
        conn.execute(text("UPDATE assets SET audio_channels = 2"))
    assert tuple(row) == ("a" * 64, None, None, None, None, None)
    assert logged() == before + 1  # the assets trigger still logs a change
    engine.dispose()


# --- two editors, one marker: one wins, the other gets a conflict -------------------------------------------

def test_concurrent_marker_edits_one_wins_one_conflicts(pg_url, tmp_path):
    """Both editors read the marker at revision 1 in their own transactions (two review servers); the first
    to commit wins, the second's UPDATE matches no row at revision 1 and fails: no forked marker."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from cogvlm_media.store.marker_edits import CONFLICTS, replace_marker
    from cogvlm_media.store.models import Marker

    engine = get_engine(pg_url)
    with write_session(engine) as s:
        asset = record_analysis(s, state=FileState(str(tmp_path / "edit.mov"), 1000, 1, 1), fingerprint="e" * 64,
                                media=MEDIA, **analysis())
        asset_id = asset.id
    with read_session(engine) as s:
        target = s.scalar(select(Marker.id).where(Marker.asset_id == asset_id, Marker.kind == "speech"))
    first, second = Session(engine), Session(engine)
    a, b = first.get(Marker, target), second.get(Marker, target)
    assert a.revision == b.revision == 1 and not a.superseded and not b.superseded
    replace_marker(first, a, name="editor A")
    first.commit()
    replace_marker(second, b, name="editor B")
    with pytest.raises(CONFLICTS):
        second.commit()
    second.rollback()
    first.close(), second.close()
    with read_session(engine) as s:
        live = s.scalars(select(Marker.name).where(Marker.replaces_id == target)).all()
        assert live == ["editor A"]
        assert s.scalar(select(Marker.revision).where(Marker.id == target)) == 2
        assert s.scalar(select(func.count()).select_from(Marker).where(Marker.name == "editor B")) == 0


# --- a reader node's catch-up sees a change committed late with a lower id ---------------------------------

def test_snapshot_catch_up_sees_out_of_order_commits(pg_server, tmp_path):
    """Ids come from a sequence: a transaction holding id 1 commits after the one holding id 2. An id mark
    would skip id 1 once 2 is indexed; the snapshot the index records does not."""
    from sqlalchemy import text

    from cogvlm_media.config import Settings
    from cogvlm_media.search.postgres import SnapshotIndexer
    from cogvlm_media.search.sync import IndexState

    engine = get_engine(pg_server.new_database("snap"))
    indexer = SnapshotIndexer(Settings(home=tmp_path, database_url=str(engine.url)), engine)
    with read_session(engine) as s:
        hwm, snapshot = indexer.mark(s, IndexState("l", "v", 0, 0, snapshot="x"))
    start = IndexState("l", "v", hwm, 0, snapshot=snapshot)
    slow = engine.connect()
    slow_tx = slow.begin()
    slow.execute(text("INSERT INTO search_changes (asset_id) VALUES (101)"))  # id 1, not committed yet
    with engine.begin() as fast:
        fast.execute(text("INSERT INTO search_changes (asset_id) VALUES (202)"))  # id 2, committed
    with read_session(engine) as s:
        mark = indexer.mark(s, start)
        assert indexer.changed_since(s, start, mark) == [202]
    seen = IndexState("l", "v", mark[0], 1, snapshot=mark[1])
    assert mark[0] == 2  # the id mark has passed 101's id already
    slow_tx.commit()
    slow.close()
    with read_session(engine) as s:
        later = indexer.mark(s, seen)
        assert indexer.changed_since(s, seen, later) == [101]
        assert indexer.pending(s, IndexState("l", "v", later[0], 2, snapshot=later[1])) == []


def test_two_enqueuers_of_one_file_version_queue_it_once(pg_server, tmp_path, monkeypatch):
    """Two watch daemons seeing the same new file at once: the first is held between reading "not known"
    and inserting; the second must wait for it (and then find its run) rather than queue a duplicate."""
    import threading

    from sqlalchemy import select, text

    from cogvlm_media.store.models import IngestRun

    engine = get_engine(pg_server.new_database("enqueue"))
    version = (str(tmp_path / "new.mp4"), 10, 20)
    held, release = threading.Event(), threading.Event()
    real = jobs._ingested_versions

    def pausing(session, paths):
        found = real(session, paths)
        if threading.current_thread().name == "first":
            held.set()
            release.wait(30)
        return found

    monkeypatch.setattr(jobs, "_ingested_versions", pausing)
    created: dict[str, list] = {}

    def enqueue(name: str) -> None:
        created[name] = jobs.enqueue_many(engine, [version])

    a = threading.Thread(target=enqueue, args=("first",), name="first")
    a.start()
    assert held.wait(30)
    b = threading.Thread(target=enqueue, args=("second",), name="second")
    b.start()
    with engine.connect() as conn:  # until the second has finished or waits for a lock
        for _ in range(600):
            waiting = conn.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar()
            if waiting or not b.is_alive():
                break
            b.join(0.05)
    release.set()
    a.join(30)
    b.join(30)
    with read_session(engine) as s:
        runs = s.scalars(select(IngestRun.path)).all()
    assert runs == [version[0]], runs
    assert [len(created["first"]), len(created["second"])] == [1, 0]


def test_a_file_name_that_is_not_utf8_is_stored_and_given_back_exactly(pg_url, tmp_path):
    """Issue 13, item 2, on PostgreSQL: ``caf\\xe9.mov`` (Latin-1) is stored as the text ``caf\\\\xe9.mov``
    in the TEXT columns of the asset's path and of its run, and read back as the exact OS name."""
    import os

    from sqlalchemy import text

    path = os.path.join(str(tmp_path), os.fsdecode(b"caf\xe9.mov"))
    engine = get_engine(pg_url)
    run_id, _ = jobs.enqueue(engine, path, size=1000, mtime_ns=1, source="watch")
    with write_session(engine) as s:
        record_analysis(s, state=FileState(path, 1000, 1, 1), fingerprint="c4fe" * 16, media=MEDIA, **analysis())
    with read_session(engine) as s:
        asset = find_asset(s, path)
        assert [p.path for p in asset.paths] == [path]
        stored = s.execute(text("SELECT path FROM asset_paths WHERE asset_id = :a"), {"a": asset.id}).scalar()
        queued = s.execute(text("SELECT path FROM ingest_runs WHERE id = :r"), {"r": run_id}).scalar()
    assert stored == queued == os.path.join(str(tmp_path), "caf\\xe9.mov")
    assert os.fsencode(jobs.claim(engine, "w", 60, run_id=run_id).path).endswith(b"/caf\xe9.mov")
