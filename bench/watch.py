"""Watch-daemon benchmark: latency from write-complete to job start, and time to queue 60,000 files.

    python bench/watch.py [--files 60000] [--samples 5] [--out bench/results/watch.json]

The daemon runs as a subprocess through tests/watch/launch.py, which swaps in a cheap analysis (one
shot, no speech, embedded analyser) so job starts are not delayed by the previous file's analysis; the
gate, queue and observers are the product's. Figures depend on the machine (and its other load).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "watch"))

import watch_support as ws  # noqa: E402


def _utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def _wait_runs(folder: Path, n: int, timeout: float, column: str = "created_at") -> list[sqlite3.Row]:
    def done():
        rows = [r for r in ws.runs(folder) if r[column]] if (folder / "home").exists() else []
        return rows if len(rows) >= n else None
    return ws.wait_until(done, timeout, interval=0.05, what=f"{n} runs with {column}")


def latency(tmp: Path, base: Path, samples: int, mode: str) -> dict:
    """mode: "write" (written in place, close event), "rename" (temp name then rename), "poll" (--poll)."""
    folder = tmp / f"lat-{mode}"
    watched = folder / "in"
    watched.mkdir(parents=True)
    config = ws.write_config(folder, stable_seconds=5.0, stable_seconds_network=15.0, close_hint_seconds=1.0,
                             poll_seconds=2.0, backoff_seconds=15.0)
    args = [str(watched)] + (["--poll"] if mode == "poll" else [])
    d = ws.DaemonProcess(config, args, folder / "d.log")
    try:
        d.wait_for("ready", 60)
        to_queue, to_start = [], []
        for n in range(samples):
            src = ws.variant(base, folder / f"v{n}.mp4", n)
            data = src.read_bytes()
            final = watched / f"clip{n}.mp4"
            if mode == "rename":
                tmpname = watched / f".clip{n}.mp4.XyZ"
                tmpname.write_bytes(data)
                os.rename(tmpname, final)
            else:
                final.write_bytes(data)
            finished = time.time()
            rows = _wait_runs(folder, n + 1, 120, "started_at")
            row = rows[-1]
            to_queue.append(_utc(row["created_at"]) - finished)
            to_start.append(_utc(row["started_at"]) - finished)
            _wait_runs(folder, n + 1, 300, "finished_at")  # the worker is free again before the next sample
        return {"mode": mode, "samples": samples, "queue_s": _stats(to_queue), "job_start_s": _stats(to_start)}
    finally:
        d.kill()


def _stats(values: list[float]) -> dict:
    values = sorted(values)
    return {"min": round(values[0], 3), "median": round(values[len(values) // 2], 3), "max": round(values[-1], 3)}


def make_tree(watched: Path, files: int) -> float:
    started = time.monotonic()
    for n in range(files):
        sub = watched / f"card{n // 1000:03d}"
        if n % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        (sub / f"C{n:05d}.mp4").write_bytes(n.to_bytes(4, "little"))
    return time.monotonic() - started


def queue_scan(tmp: Path, files: int) -> dict:
    """Startup scan of a tree that already holds ``files`` files (their mtimes older than the window)."""
    folder = tmp / "scan"
    watched = folder / "in"
    make_tree(watched, files)
    old = time.time() - 3600
    for dirpath, _dirs, names in os.walk(watched):
        for name in names:
            os.utime(os.path.join(dirpath, name), (old, old))
    config = ws.write_config(folder, stable_seconds=5.0)
    started = time.monotonic()
    d = ws.DaemonProcess(config, [str(watched), "--scan-only", "--no-probe", "--exit-when-idle"], folder / "d.log")
    try:
        peak = 0
        while d.proc.poll() is None:
            try:
                peak = max(peak, ws.vm(d.pid, "VmHWM"))
            except (OSError, KeyError):
                pass
            time.sleep(0.2)
        seconds = time.monotonic() - started
        assert d.proc.returncode == 0, d.text()
    finally:
        d.kill()
    with ws.db(folder) as conn:
        total, distinct = conn.execute("SELECT count(*), count(DISTINCT path) FROM ingest_runs").fetchone()
    return {"files": files, "queued": total, "distinct": distinct, "seconds_incl_startup": round(seconds, 2),
            "files_per_second": round(total / seconds), "peak_rss_mb": round(peak / 1024, 1)}


def queue_events(tmp: Path, files: int) -> dict:
    """``files`` files created while the daemon runs: events → gate (1 s window) → queue."""
    folder = tmp / "events"
    watched = folder / "in"
    watched.mkdir(parents=True)
    config = ws.write_config(folder, stable_seconds=1.0, reconcile_seconds=3600.0)
    d = ws.DaemonProcess(config, [str(watched), "--scan-only", "--no-probe"], folder / "d.log")
    try:
        d.wait_for("ready", 60)
        base_rss = ws.vm(d.pid, "VmRSS")
        started = time.monotonic()
        create_s = make_tree(watched, files)

        def count():
            with ws.db(folder) as conn:
                return conn.execute("SELECT count(*) FROM ingest_runs").fetchone()[0] >= files
        ws.wait_until(count, 600, interval=0.25, what="all files queued")
        seconds = time.monotonic() - started
        peak = ws.vm(d.pid, "VmHWM")
        assert d.terminate(60) == 0
    finally:
        d.kill()
    with ws.db(folder) as conn:
        total, distinct = conn.execute("SELECT count(*), count(DISTINCT path) FROM ingest_runs").fetchone()
    return {"files": files, "queued": total, "distinct": distinct, "create_seconds": round(create_s, 2),
            "seconds_first_create_to_all_queued": round(seconds, 2), "stable_window_s": 1.0,
            "rss_before_mb": round(base_rss / 1024, 1), "peak_rss_mb": round(peak / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=60_000)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "watch.json")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="watchbench-"))
    try:
        base = ws.render_base(tmp / "base.mp4")
        result = {
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
            "settings": {"stable_seconds": 5.0, "close_hint_seconds": 1.0, "stable_seconds_network": 15.0},
            "latency": [latency(tmp, base, args.samples, m) for m in ("write", "rename", "poll")],
            "queue_startup_scan": queue_scan(tmp, args.files),
            "queue_events": queue_events(tmp, args.files),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
