"""Leases of dead workers and what a crash counts for (issue 13, item 3, the queue's part).

Before, a re-run of ``ingest`` after ``kill -9`` skipped the killed files as "already being ingested by
another process" for the whole 120 s lease, and two unrelated kills quarantined a good file. Now a lease
held by a dead process of this machine is free at once, and a crash counts against the file only when
the same file crashed its worker in the same stage."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from sqlalchemy import select

from cogvlm_media.store import jobs
from cogvlm_media.store.engine import make_engine, read_session, write_session
from cogvlm_media.store.migrate import upgrade
from cogvlm_media.store.models import IngestRun


@pytest.fixture
def engine(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'q.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()


def dead_worker() -> str:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return f"{socket.gethostname()}:{proc.pid}:1"


def crash_in(engine, stage: str, run_id: int | None = None) -> None:
    """A worker claims the run, reaches ``stage`` and is killed; the daemon's recovery takes it back."""
    worker = dead_worker()
    run = jobs.claim(engine, worker, 600, run_id=run_id)
    assert run is not None
    assert jobs.heartbeat(engine, run.id, worker, 600, stage)
    jobs.recover(engine)


def the_run(engine) -> IngestRun:
    with read_session(engine) as s:
        return s.scalars(select(IngestRun)).one()


def test_ingest_takes_a_run_whose_worker_was_killed_at_once(engine):
    run_id, _ = jobs.enqueue(engine, "/v/a.mp4", size=1, mtime_ns=1, source="ingest", max_attempts=1)
    worker = dead_worker()
    assert jobs.claim(engine, worker, 120, run_id=run_id) is not None  # then kill -9: lease 120 s left
    # the next `ingest` finds the same version running and asks for it by id
    again_id, created = jobs.enqueue(engine, "/v/a.mp4", size=1, mtime_ns=1, source="ingest", max_attempts=1)
    assert (again_id, created) == (run_id, False)
    run = jobs.claim(engine, jobs.worker_id(), 120, run_id=run_id)
    assert run is not None and run.worker == jobs.worker_id()
    with write_session(engine) as s:
        assert jobs.complete(s, run.id, run.worker, outcome="analysed", asset_id=None, fingerprint="f")
    assert the_run(engine).status == "done"


def test_a_live_workers_lease_is_still_respected(engine):
    run_id, _ = jobs.enqueue(engine, "/v/a.mp4", size=1, mtime_ns=1)
    assert jobs.claim(engine, jobs.worker_id(), 120, run_id=run_id) is not None
    assert jobs.claim(engine, "someone-else", 120, run_id=run_id) is None


def test_unrelated_kills_do_not_quarantine_a_good_file(engine):
    jobs.enqueue_many(engine, [("/v/good.mp4", 1, 1)], max_attempts=2)
    for stage in ("frames", "shots", "speech", "analyse"):  # killed four times, each time somewhere else
        crash_in(engine, stage)
        assert the_run(engine).status == "failed", stage
    run = jobs.claim(engine, jobs.worker_id(), 60)
    with write_session(engine) as s:
        assert jobs.complete(s, run.id, run.worker, outcome="analysed", asset_id=None, fingerprint="f")
    assert the_run(engine).status == "done"


def test_the_same_file_crashing_its_worker_in_the_same_stage_counts(engine):
    jobs.enqueue_many(engine, [("/v/crasher.mp4", 1, 1)], max_attempts=3)
    crash_in(engine, "analyse")
    crash_in(engine, "shots")  # an unrelated kill in between
    assert the_run(engine).status == "failed"
    crash_in(engine, "shots")  # the second crash in "shots": both now count, 2 of the 3 allowed
    run = the_run(engine)
    assert run.status == "failed" and "stage shots" in run.error
    crash_in(engine, "shots")
    run = the_run(engine)
    assert run.status == "quarantined" and "stopped during the job in stage shots" in run.error


def test_a_crash_in_another_stage_between_two_in_the_same_stage_does_not_hide_the_repeat(engine):
    """Only the last crash's stage was remembered: shots, then an unrelated kill in analyse, then shots
    again read as three different stages, and none counted."""
    jobs.enqueue_many(engine, [("/v/crasher.mp4", 1, 1)], max_attempts=2)
    crash_in(engine, "shots")
    crash_in(engine, "analyse")
    assert the_run(engine).status == "failed"
    crash_in(engine, "shots")  # this file crashed its worker in shots before: both shots crashes count
    run = the_run(engine)
    assert run.status == "quarantined" and "stage shots" in run.error and "not counted" not in run.error
    assert run.error.endswith("crashes so far: shots 2, analyse 1")


def test_a_crasher_recorded_in_alternating_stages_still_ends_quarantined(engine):
    """Shots and speech run side by side, and the stage recorded is the one that reported last: a file
    that kills its worker every time may be recorded in either. Each crash in a stage it crashed in
    before counts (with the earlier one), so it ends quarantined instead of being retried forever."""
    jobs.enqueue_many(engine, [("/v/crasher.mp4", 1, 1)], max_attempts=3)
    statuses = []
    for n in range(8):
        crash_in(engine, ("shots", "speech")[n % 2])
        statuses.append(the_run(engine).status)
        if statuses[-1] == "quarantined":
            break
    # shots, speech: given back; shots again: 2 count; speech again: 4 count, over the 3 allowed
    assert statuses == ["failed", "failed", "failed", "quarantined"]


def test_a_crash_note_written_before_the_tally_still_counts_its_stage():
    from cogvlm_media.store.crash_notes import count_crash, crashes_by_stage

    old = "worker h:1:1 stopped during the job in stage shots (crash, kill or lost lease); not counted"
    assert crashes_by_stage(old) == {"shots": 1}
    assert crashes_by_stage(old.removesuffix("; not counted")) == {"shots": 2}
    assert crashes_by_stage("permission denied") == crashes_by_stage(None) == {}
    assert count_crash(old, "h:2:1", "shots") == (
        -1, "worker h:2:1 stopped during the job in stage shots (crash, kill or lost lease); crashes so far: shots 2")
    assert count_crash(old, "h:2:1", "speech")[0] == 1
