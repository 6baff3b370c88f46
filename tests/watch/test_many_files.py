"""5,000 files dropped at once are each queued exactly once, with bounded memory (`watch --scan-only`,
which queues without analysing, is a user-facing mode: fill the queue now, drain it later)."""

from __future__ import annotations

import watch_support as ws

N = 5000


def test_5000_files_dropped_at_once_are_queued_once_with_bounded_memory(tmp_path, daemons):
    watched = tmp_path / "drop"
    watched.mkdir()
    config = ws.write_config(tmp_path, stable_seconds=0.5, reconcile_seconds=2.0)
    d = daemons(config, [str(watched), "--scan-only", "--no-probe"], tmp_path / "d.log")
    d.wait_for("ready", 30)
    baseline_kb = ws.vm(d.pid, "VmRSS")
    for n in range(N):
        sub = watched / f"card{n % 10}"
        sub.mkdir(exist_ok=True)
        (sub / f"C{n:04d}.mp4").write_bytes(n.to_bytes(4, "little") * 16)

    def queued() -> int:
        with ws.db(tmp_path) as conn:
            return conn.execute("SELECT count(*) FROM ingest_runs").fetchone()[0]

    ws.wait_until(lambda: queued() >= N, 120, interval=0.5, what=f"{N} runs queued")
    # two more reconcile scans over the whole tree must not queue anything again
    reconciles = d.text().count("reconcile:")
    d.wait_for("reconcile:", 30, count=reconciles + 2)
    peak_kb = ws.vm(d.pid, "VmHWM")
    assert d.terminate() == 0
    with ws.db(tmp_path) as conn:
        total, distinct = conn.execute("SELECT count(*), count(DISTINCT path) FROM ingest_runs").fetchone()
        statuses = {s for (s,) in conn.execute("SELECT DISTINCT status FROM ingest_runs")}
    assert (total, distinct) == (N, N)
    assert statuses == {"queued"}
    # bounded: the gate holds a few hundred bytes per pending file, far below this for 5,000 files
    assert peak_kb - baseline_kb < 64 * 1024, (baseline_kb, peak_kb)
