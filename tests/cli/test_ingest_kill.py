"""`kill -9` of a real `cogvlm-media ingest`, then the next `ingest` (issue 13, item 3, the ingest part).

Before, the re-run skipped the killed file as "already being ingested by another process" for the whole
lease, and the stage a worker died in was only written by the heartbeat (every lease/3 s), so two kills
anywhere in the first minutes both read as a crash "in stage start": counted against the file. Now the
next `ingest` takes the dead process's run back at once, each new stage is recorded when it starts, and
only a second crash in the same stage counts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "watch"))

import watch_support as ws  # noqa: E402

LEASE = 600.0  # far longer than the test: a run comes back because its holder is dead, not by expiry


@pytest.fixture
def clip(tmp_path) -> Path:
    base = ws.render_base(tmp_path / "base.mp4")
    return ws.variant(base, tmp_path / "a.mp4", 1)


def the_runs(tmp_path) -> list[dict]:
    if not (tmp_path / "home" / "cogvlm-media.db").exists():
        return []
    try:
        return [dict(r) for r in ws.runs(tmp_path)]
    except Exception:  # the schema is still being created by the first process
        return []


def ingest_killed_in(tmp_path, config, clip, stage: str | None, **slow: str) -> None:
    """Start `ingest`, wait until its run is claimed (and recorded in ``stage``), then kill -9 it."""
    before = {r["id"]: r["attempts"] for r in the_runs(tmp_path)}
    proc = subprocess.Popen([sys.executable, str(ws.LAUNCH), "ingest", "-q", str(clip)],
                            env=ws.cli_env(config, **slow), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def claimed() -> bool:
            return any(r["status"] == "running" and stage in (None, r["stage"]) and r["attempts"] > before.get(r["id"], 0)
                       for r in the_runs(tmp_path))
        ws.wait_until(claimed, 60, interval=0.05, what=f"the run claimed (stage {stage})")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert [r["status"] for r in the_runs(tmp_path)][-1] == "running"  # left behind, lease 600 s to go


def ingest(config, clip) -> subprocess.CompletedProcess:
    return ws.cli(config, "ingest", "-q", str(clip), timeout=120)


def test_a_killed_ingest_is_redone_at_once_by_the_next(tmp_path, clip):
    config = ws.write_config(tmp_path, lease_seconds=LEASE)
    ingest_killed_in(tmp_path, config, clip, None, WATCHTEST_SLOW="a.mp4:120")  # killed once claimed
    [killed] = the_runs(tmp_path)
    started = time.monotonic()
    again = ingest(config, clip)
    assert again.returncode == 0, again.stdout + again.stderr
    assert time.monotonic() - started < 60  # not the 600 s lease
    assert "already being ingested" not in again.stdout + again.stderr
    assert "analysed" in again.stdout
    [run] = the_runs(tmp_path)  # the same run, taken back and finished
    assert (run["id"], run["status"], run["outcome"], run["attempts"]) == (killed["id"], "done", "analysed", 2)


def test_kills_in_two_stages_do_not_count_against_the_file(tmp_path, clip):
    config = ws.write_config(tmp_path, lease_seconds=LEASE)
    ingest_killed_in(tmp_path, config, clip, "windows", WATCHTEST_SLOW="a.mp4:120")
    # shots sleep; speech, beside it, has reported: the run is recorded in stage speech
    ingest_killed_in(tmp_path, config, clip, "speech", WATCHTEST_SLOW_SHOTS="120")
    done = ingest(config, clip)
    assert done.returncode == 0, done.stdout + done.stderr
    [run] = the_runs(tmp_path)  # neither kill quarantined it: the same run, third attempt
    assert (run["status"], run["outcome"], run["attempts"]) == ("done", "analysed", 3)


def test_two_crashes_in_the_same_stage_count(tmp_path, clip):
    config = ws.write_config(tmp_path, lease_seconds=LEASE)
    for _ in range(2):
        ingest_killed_in(tmp_path, config, clip, "windows", WATCHTEST_SLOW="a.mp4:120")
    # the next `ingest` takes the run back: its second crash in stage windows counts, with the first
    again = ingest(config, clip)
    assert again.returncode == 0, again.stdout + again.stderr
    first, second = the_runs(tmp_path)
    assert first["status"] == "quarantined" and "stopped during the job in stage windows" in first["error"]
    assert "not counted" not in first["error"]
    assert (second["status"], second["outcome"]) == ("done", "analysed")  # an explicit ingest asks again
