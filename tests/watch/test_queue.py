"""Queue extensions for the daemon: batch enqueue with dedup, crash recovery, concurrent claims."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from cogvlm_media.store import jobs
from cogvlm_media.store.engine import make_engine, read_session, write_session
from cogvlm_media.store.migrate import upgrade
from cogvlm_media.store.models import IngestRun
from storedata import claim_concurrently  # tests/ is on sys.path (conftest.py)


@pytest.fixture
def engine(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'q.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()


def all_runs(engine):
    with read_session(engine) as s:
        return s.scalars(select(IngestRun).order_by(IngestRun.id)).all()


def test_enqueue_many_queues_each_version_once_and_supersedes_old_versions(engine):
    created = jobs.enqueue_many(engine, [("/a", 1, 1), ("/b", 1, 1), ("/a", 1, 1)])
    assert [p for p, _ in created] == ["/a", "/b"]
    assert jobs.enqueue_many(engine, [("/a", 1, 1), ("/b", 1, 1)]) == []
    assert jobs.known_versions(engine, [("/a", 1, 1), ("/a", 2, 2), ("/c", 1, 1)]) == {"/a"}
    (new_a,) = jobs.enqueue_many(engine, [("/a", 2, 2)])  # modified while queued
    runs = {r.id: r for r in all_runs(engine)}
    assert runs[created[0][1]].outcome == "superseded" and runs[new_a[1]].status == "queued"
    # a finished version is not queued again by a later scan; a quarantined one waits for `retry`
    run = jobs.claim(engine, "w", 60)
    with write_session(engine) as s:
        jobs.complete(s, run.id, "w", outcome="analysed", asset_id=None, fingerprint="f")
    run = jobs.claim(engine, "w", 60)
    jobs.fail(engine, run.id, "w", "bad", retryable=False)
    assert jobs.enqueue_many(engine, [("/a", 2, 2), ("/b", 1, 1)]) == []
    assert jobs.counts(engine) == {"queued": 0, "running": 0, "failed": 0, "done": 1, "quarantined": 1}


def test_recover_takes_back_runs_of_dead_local_workers_at_once(engine):
    jobs.enqueue_many(engine, [("/a", 1, 1), ("/b", 1, 1), ("/c", 1, 1)])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    a = jobs.claim(engine, f"{host}:{dead.pid}:1", 600)  # worker process gone, lease still long
    b = jobs.claim(engine, "otherhost:1:1", 600)  # another machine: only its lease can tell
    c = jobs.claim(engine, jobs.worker_id(), 600)  # ourselves: alive
    assert jobs.recover(engine) == [(a.id, "failed")]
    with write_session(engine) as s:  # now the other machine's lease expires
        s.execute(update(IngestRun).where(IngestRun.id == b.id).values(
            lease_until=jobs._now() - timedelta(seconds=1)))
    assert jobs.recover(engine) == [(b.id, "failed")]
    statuses = {r.id: r.status for r in all_runs(engine)}
    assert statuses == {a.id: "failed", b.id: "failed", c.id: "running"}
    again = jobs.claim(engine, "me", 60, run_id=a.id)
    assert again.attempts == 2


def test_a_file_that_kills_its_worker_every_time_ends_quarantined(engine):
    jobs.enqueue_many(engine, [("/crasher", 1, 1)], max_attempts=2)
    for _ in range(2):
        run = jobs.claim(engine, "otherhost:1:1", 60, run_id=None)
        with write_session(engine) as s:
            s.execute(update(IngestRun).where(IngestRun.id == run.id).values(
                lease_until=jobs._now() - timedelta(seconds=1)))
        jobs.recover(engine)
    (run,) = all_runs(engine)
    assert run.status == "quarantined" and "stopped during the job" in run.error


def test_concurrent_claims_never_share_a_run(engine):
    jobs.enqueue_many(engine, [(f"/f{n}", 1, 1) for n in range(40)])
    claimed = claim_concurrently(engine)
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 40
