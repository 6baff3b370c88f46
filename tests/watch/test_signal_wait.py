"""A signal that lands while the daemon's loop waits for file events never turns the wait into a hang.

CPython 3.11's ``queue.SimpleQueue.get(timeout=...)``, once interrupted by a signal whose handler runs
past the wait's deadline, waits again with a negative time left: for ever. The daemon's loop waits like
that five times a second, so a SIGTERM at the wrong moment left it running (seen in CI). Here the moment
is made certain: a timer signal arrives 50 ms into a 100 ms wait and its handler takes 300 ms.
"""

from __future__ import annotations

import subprocess
import sys

CHILD = r"""
import pathlib, signal, sys, time
from cogvlm_media.config import Settings
from cogvlm_media.store.engine import get_engine
from cogvlm_media.watch.daemon import Daemon, WatchOptions

settings = Settings(home=pathlib.Path(sys.argv[1]))
daemon = Daemon(get_engine(settings.db_url), settings,
                WatchOptions(roots=[sys.argv[2]], scan_only=True, probe=False), reporter=lambda s: None)
signal.signal(signal.SIGALRM, lambda *_: time.sleep(0.3))
signal.setitimer(signal.ITIMER_REAL, 0.05)
started = time.monotonic()
handled = daemon.drain_events(0.1)
print(f"{handled} {time.monotonic() - started:.2f}")
"""


def test_a_late_signal_does_not_stall_the_event_wait(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "home"), str(folder)],
                              capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        raise AssertionError("the daemon's event wait never returned after a signal") from None
    assert done.returncode == 0, done.stderr
    handled, seconds = done.stdout.split()
    assert handled == "0"  # nothing happened in the folder
    assert 0.3 <= float(seconds) < 5
