"""The ffprobe check runs beside the daemon's loop (issue 13, item 5).

Before, the gate probed every ready file inside the main loop before returning any: with 5,000 new files
nothing was queued for 257 s, and SIGTERM waited for the last probe (261 s). Now a pool of probe threads
checks them while the loop queues each file as it passes and answers a signal at once."""

from __future__ import annotations

import os
import time

import watch_support as ws

N = 600
PROBE_SECONDS = 0.1  # one file at a time: 60 s before the last is probed; four at once: 15 s
SHUTDOWN_SECONDS = 2.0


def probed(log) -> int:
    return log.read_text().count("probed ") if log.exists() else 0


def queued(tmp_path) -> int:
    with ws.db(tmp_path) as conn:
        return conn.execute("SELECT count(*) FROM ingest_runs").fetchone()[0]


def test_files_are_queued_as_their_probe_passes_and_sigterm_does_not_wait_for_the_rest(tmp_path, daemons):
    watched = tmp_path / "drop"
    watched.mkdir()
    (watched / "A-hangs.mp4").write_bytes(b"h" * 64)  # its probe never ends while the test runs
    for n in range(N):
        (watched / f"C{n:04d}.mp4").write_bytes(n.to_bytes(4, "little") * 16)
    old = time.time() - 3600
    for f in watched.iterdir():  # untouched for an hour: stable at the first scan
        os.utime(f, (old, old))
    config = ws.write_config(tmp_path, stable_seconds=0.5, shutdown_seconds=SHUTDOWN_SECONDS, probe_workers=4)
    log = tmp_path / "probes.log"
    d = daemons(config, [str(watched), "--scan-only"], tmp_path / "d.log", WATCHTEST_LOG=str(log),
                WATCHTEST_SLOW_PROBE=f"{PROBE_SECONDS},A-hangs:600")
    d.wait_for("ready", 60)
    ws.wait_until(lambda: queued(tmp_path) >= 20, 60, interval=0.05, what="20 files queued")
    assert probed(log) < N // 2  # the first were queued while most were still waiting for their probe
    # the files queued are exactly the ones whose probe passed, never the hung one
    with ws.db(tmp_path) as conn:
        names = [p.rsplit("/", 1)[1] for (p,) in conn.execute("SELECT path FROM ingest_runs")]
    assert "A-hangs.mp4" not in names and len(set(names)) == len(names)
    assert set(names) <= {line.split(" ", 1)[1].rsplit("/", 1)[1] for line in log.read_text().splitlines()}

    started = time.monotonic()
    assert d.terminate(timeout=30) == 0
    took = time.monotonic() - started
    assert took < SHUTDOWN_SECONDS + 3, took  # not the ~hour the pending and hung probes would take
    left = N - probed(log)
    assert left > N // 4, left  # there was much still pending when it stopped
    assert queued(tmp_path) <= probed(log)



def test_a_probe_answer_for_a_version_that_changed_meanwhile_is_not_used(tmp_path):
    """In process, with a fake clock: the pool answers on a later call of ready(); an answer about a
    version the file no longer has queues nothing, and the new version is probed after its own window."""
    from fakeclock import Clock

    from cogvlm_media.watch.gate import Gate
    from cogvlm_media.watch.probes import ProbePool

    clock = Clock()
    f = tmp_path / "growing.mp4"
    f.write_bytes(b"1")
    seen: list[int] = []

    def probe(path):
        seen.append(os.path.getsize(path))
        if len(seen) == 1:
            with open(path, "ab") as fh:  # the writer goes on while ffprobe reads
                fh.write(b"2")
        return None

    pool = ProbePool(probe, workers=2)
    gate = Gate(1.0, probe=pool, clock=clock)
    gate.offer(str(f))
    clock.now += 1.1
    assert gate.ready() == []  # handed to the pool
    candidate = gate.pending[str(f)]
    ws.wait_until(lambda: gate.ready() == [] and not candidate.probing, 10, interval=0.01, what="the answer read")
    assert (candidate.size, seen) == (2, [1])  # the answer was about size 1: the new version waits its window
    assert gate.ready() == []
    clock.now += 1.1
    ready = ws.wait_until(lambda: gate.ready(), 10, interval=0.01, what="the new version queued")
    assert ready == [(str(f), 2, f.stat().st_mtime_ns)] and seen == [1, 2]
    pool.close()
