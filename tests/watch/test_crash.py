"""kill -9 in the middle of a job, then SIGTERM in the middle of another, then a restart: every file is
ingested exactly once and the database passes `PRAGMA integrity_check`."""

from __future__ import annotations

import json
import os
import signal
import time

import watch_support as ws


def test_kill_9_then_graceful_stop_then_restart_ingests_each_file_once(tmp_path, base_clip, daemons):
    watched = tmp_path / "in"
    watched.mkdir()
    names = [f"clip{n}.mp4" for n in range(4)]
    for n, name in enumerate(names):
        ws.variant(base_clip, watched / name, n)
    # a long lease: recovery after kill -9 must come from noticing the dead process, not from expiry
    config = ws.write_config(tmp_path, lease_seconds=600.0, shutdown_seconds=0.5, max_attempts=3)
    log = tmp_path / "analysed.log"
    env = {"WATCHTEST_LOG": str(log), "WATCHTEST_SLOW": "clip:1.5"}

    def sleeping() -> int:
        return log.read_text().count("sleeping ") if log.exists() else 0

    first = daemons(config, [str(watched)], tmp_path / "d1.log", **env)
    ws.wait_until(lambda: sleeping() >= 2, 60, what="second job in progress")  # one done (or nearly), one running
    os.kill(first.pid, signal.SIGKILL)
    first.proc.wait(timeout=10)
    killed = [r for r in ws.runs(tmp_path) if r["status"] == "running"]
    assert len(killed) == 1, [tuple(r) for r in ws.runs(tmp_path)]

    second = daemons(config, [str(watched)], tmp_path / "d2.log", **env)
    second.wait_for(f"recovered #{killed[0]['id']}", 30)
    before = sleeping()
    ws.wait_until(lambda: sleeping() > before, 60, what="a job in progress in the second daemon")
    started = time.monotonic()
    assert second.terminate(timeout=20) == 0
    assert time.monotonic() - started < 8  # shutdown_seconds 0.5 + releasing + exit
    assert "released #" in second.text()
    assert not [r for r in ws.runs(tmp_path) if r["status"] == "running"]

    third = daemons(config, [str(watched), "--exit-when-idle"], tmp_path / "d3.log", **env)
    assert third.proc.wait(timeout=90) == 0, third.text()

    rows = ws.runs(tmp_path)
    for name in names:
        mine = [r for r in rows if os.path.basename(r["path"]) == name]
        assert [r["outcome"] for r in mine] == ["analysed"], [tuple(r) for r in mine]
        assert mine[0]["status"] == "done"
    assert ws.db(tmp_path).execute("SELECT count(*) FROM assets").fetchone()[0] == len(names)
    assert ws.db(tmp_path).execute("SELECT count(*) FROM asset_paths").fetchone()[0] == len(names)
    assert ws.db(tmp_path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    killed_after = next(r for r in rows if r["id"] == killed[0]["id"])
    assert killed_after["attempts"] >= 2  # the killed attempt counted


def test_sigterm_leaves_a_slow_index_update_behind_but_exit_when_idle_waits_for_it(tmp_path, base_clip, daemons):
    watched = tmp_path / "in"
    watched.mkdir()
    ws.variant(base_clip, watched / "a.mp4", 1)
    config = ws.write_config(tmp_path)  # default shutdown_seconds (30): the index wait has its own bound
    log = tmp_path / "hooks.log"
    env = {"WATCHTEST_LOG": str(log), "WATCHTEST_SLOW_INDEX": "15"}
    first = daemons(config, [str(watched)], tmp_path / "d1.log", **env)
    ws.wait_until(lambda: log.exists() and "analysed " in log.read_text(), 60, what="a.mp4 analysed")
    started = time.monotonic()
    assert first.terminate(timeout=20) == 0
    assert time.monotonic() - started < 11  # 5 s for derived data, not the 15 s listener or 30 s
    assert "index catches up on the next start" in first.text()
    assert "indexed " not in log.read_text()
    assert [r["outcome"] for r in ws.runs(tmp_path)] == ["analysed"]  # the stored analysis is whole

    env["WATCHTEST_SLOW_INDEX"] = "6"  # longer than the 5 s a signal allows
    second = daemons(config, [str(watched), "--exit-when-idle"], tmp_path / "d2.log", **env)
    assert second.proc.wait(timeout=90) == 0, second.text()
    assert "indexed None" in log.read_text()  # the catch-up on start ran, and finishing normally waited for it
    assert second.text().rstrip().endswith("stopped")
    checked = ws.cli(config, "reindex", "--check", "--no-repair", "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr  # a.mp4, left behind by the stop, is indexed
    assert json.loads(checked.stdout)["pending"] == []
