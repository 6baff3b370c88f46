"""The ffprobe check before queueing, run beside the daemon's main loop instead of inside it.

The gate hands each stable file to :class:`ProbePool`: a few daemon threads probe in arrival order while
the loop goes on handling events, queueing the files that passed and answering signals. At most
``backlog`` files are handed over at a time (the rest wait in the gate), so a stop has little to drop.
:class:`InlineProbes` is the same interface answered at once (the gate's own tests, fake clocks).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)

Probe = Callable[[str], str | None]  # path -> None when readable, else the reason


class InlineProbes:
    """Probes on the caller's thread, at submission."""

    def __init__(self, probe: Probe) -> None:
        self._probe = probe
        self._done: list[tuple[Hashable, str | None]] = []

    def has_room(self) -> bool:
        return True

    def submit(self, key: Hashable, path: str) -> None:
        self._done.append((key, self._probe(path)))

    def results(self) -> list[tuple[Hashable, str | None]]:
        done, self._done = self._done, []
        return done

    def close(self) -> None:
        pass

    @property
    def busy(self) -> bool:
        return False


class ProbePool:
    """``workers`` daemon threads running ``probe``; results are collected with :meth:`results`.

    A probe that hangs (a stalled network mount) holds one thread, never the loop; :meth:`close` drops
    what is waiting and does not wait for probes in progress."""

    def __init__(self, probe: Probe, workers: int = 4, backlog: int | None = None) -> None:
        self._probe = probe
        self.workers = max(1, workers)
        self.backlog = backlog or self.workers * 4
        self._todo: queue.SimpleQueue = queue.SimpleQueue()
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._in_flight = 0  # handed over and not yet collected
        self._probing = 0  # inside ``probe`` right now
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []

    def _start(self) -> None:
        for n in range(self.workers):
            t = threading.Thread(target=self._run, name=f"probe-{n}", daemon=True)
            t.start()
            self._threads.append(t)

    def _run(self) -> None:
        while True:
            item = self._todo.get()
            if item is None or self._closed.is_set():
                return
            key, path = item
            with self._lock:
                self._probing += 1
            try:
                reason = self._probe(path)
            except Exception as exc:  # a probe must never kill its thread
                reason = f"{type(exc).__name__}: {exc}"
            finally:
                with self._lock:
                    self._probing -= 1
            if self._closed.is_set():
                return
            self._done.put((key, reason))

    def has_room(self) -> bool:
        with self._lock:
            return not self._closed.is_set() and self._in_flight < self.backlog

    def submit(self, key: Hashable, path: str) -> None:
        if not self._threads:
            self._start()
        with self._lock:
            self._in_flight += 1
        self._todo.put((key, path))

    def results(self) -> list[tuple[Hashable, str | None]]:
        out = []
        while True:
            try:
                out.append(self._done.get_nowait())
            except queue.Empty:
                break
        with self._lock:
            self._in_flight -= len(out)
        return out

    def close(self) -> None:
        """Stop: waiting files are dropped (the gate keeps them until the process ends), probes in
        progress are not waited for (their threads are daemons and exit after them)."""
        self._closed.set()
        for _ in self._threads:
            self._todo.put(None)

    @property
    def busy(self) -> bool:
        """A probe still running (after :meth:`close`: its thread is abandoned)."""
        with self._lock:
            return self._probing > 0
