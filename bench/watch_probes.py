"""Issue 13 item 5: 5,000 tiny files dropped into a running `watch --scan-only`, with the ffprobe check
(the probe pool) and with `--no-probe`: time from the start of the drop to the first queued run, and how
long SIGTERM takes to end the daemon when it is sent as the first file is queued.

    python bench/watch_probes.py [--files 5000] [--all-queued] [--out bench/results/watch_probes.json]

``--all-queued`` adds a second drop per mode, left to run until every file is queued (with the probe:
one ffprobe per file, minutes of both cores on a 2-core machine).

The daemon is the real `cogvlm-media watch` (scan-only: nothing is analysed); the files are copies of one
0.2 s 32x32 H.264 clip (each readable by ffprobe). Default [watch] settings except the folder's home.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

CLI = [sys.executable, "-c", "from cogvlm_media.cli.app import main; import sys; sys.argv[0] = 'cogvlm-media'; main()"]


def _queued(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(str(db), timeout=30) as conn:
            return conn.execute("SELECT count(*) FROM ingest_runs").fetchone()[0]
    except sqlite3.OperationalError:  # tables not made yet
        return 0


def _wait(pred, timeout: float, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError


@contextmanager
def _daemon(folder: Path, probe: bool):
    """A real `watch --scan-only` on ``folder / "in"``, ready; yields (process, watched folder, database).
    On leaving, a daemon still running gets SIGTERM, then a kill after 120 s."""
    watched = folder / "in"
    watched.mkdir(parents=True)
    (folder / "config.toml").write_text(f'home = "{folder / "home"}"\n')
    env = {**os.environ, "COGVLM_MEDIA_CONFIG": str(folder / "config.toml"), "PYTHONUNBUFFERED": "1"}
    args = [*CLI, "watch", "--scan-only", str(watched)] + ([] if probe else ["--no-probe"])
    with open(folder / "d.log", "wb") as log:
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            _wait(lambda: b"ready" in (folder / "d.log").read_bytes(), 120, 0.1)
            yield proc, watched, folder / "home" / "cogvlm-media.db"
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _drop(watched: Path, data: bytes, files: int) -> None:
    for n in range(files):
        (watched / f"clip{n:05d}.mp4").write_bytes(data)


def run(tmp: Path, clip: Path, files: int, probe: bool) -> dict:
    with _daemon(tmp / ("probe" if probe else "no-probe"), probe) as (proc, watched, db):
        data = clip.read_bytes()
        started = time.monotonic()
        _drop(watched, data, files)
        drop = time.monotonic() - started
        _wait(lambda: _queued(db) >= 1, 900)
        first = time.monotonic() - started
        at_signal = _queued(db)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=900)
        sigterm = time.monotonic() - signalled
        return {"probe": probe, "drop_s": round(drop, 3), "first_queued_s": round(first, 3),
                "queued_at_sigterm": at_signal, "sigterm_exit_s": round(sigterm, 3), "exit_code": proc.returncode,
                "queued_at_exit": _queued(db)}


def run_all_queued(tmp: Path, clip: Path, files: int, probe: bool) -> float:
    """The same drop without a signal: seconds until every file is queued."""
    with _daemon(tmp / ("all-probe" if probe else "all-no-probe"), probe) as (_, watched, db):
        _drop(watched, clip.read_bytes(), files)
        dropped = time.monotonic()
        _wait(lambda: _queued(db) >= files, 1800, 0.1)
        return round(time.monotonic() - dropped, 3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--all-queued", action="store_true", help="also time the whole drop until every file is queued")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "watch_probes.json"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        clip = tmp / "tiny.mp4"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=size=32x32:rate=25:duration=0.2", "-c:v", "libx264", "-preset", "ultrafast",
                        "-pix_fmt", "yuv420p", str(clip)], check=True)
        load_before = os.getloadavg()
        results = []
        for probe in (False, True):
            r = run(tmp, clip, a.files, probe)
            if a.all_queued:
                r["all_queued_s"] = run_all_queued(tmp, clip, a.files, probe)
            results.append(r)
            print(json.dumps(r), flush=True)
        doc = {"when": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "files": a.files,
               "clip_bytes": clip.stat().st_size,
               "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
               "load_before": [round(x, 2) for x in load_before],
               "load_after": [round(x, 2) for x in os.getloadavg()],
               "settings": "default [watch]: stable_seconds 5, close_hint_seconds 1, probe_workers 4, shutdown_seconds 30",
               "runs": results}
    Path(a.out).write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
