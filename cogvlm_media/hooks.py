"""Events other stages subscribe to: the event-hooks of :mod:`cogvlm_media.hookspecs`, implemented by plugins.

``asset_changed`` fires after an asset's records were committed (ingest, marker import, edits);
listeners (``asset_changed`` hookimpls, such as the search index's in :mod:`cogvlm_media.search.sync`)
keep derived data current. Each listener is called on its own: a failure is logged, never raised, and
the other listeners still run; derived data is caught up from the database later.

Listeners run in the emitting thread, unless a long-running process (the watch daemon) opens
:func:`background`: then they run on one background thread, so a worker can claim its next file
at once; repeated events for the same asset are coalesced, and pending ones are drained on exit for a
bounded time. A listener still running after that is left behind (the owner must then leave without
interpreter teardown): listeners only keep derived data current, which catches up later.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)


def _dispatch(event: str, engine: Any, settings: Any, payload: dict[str, Any]) -> None:
    from cogvlm_media.plugin_manager import get_plugin_manager

    try:
        hook = getattr(get_plugin_manager().hook, event)
    except Exception:  # a plugin that fails to load is reported where its own hooks are used
        log.exception("no listeners for %s", event)
        return
    args = dict.fromkeys(hook.spec.argnames) if hook.spec else {}  # a payload key left out is None
    args.update(engine=engine, settings=settings, **payload)
    for impl in reversed(hook.get_hookimpls()):  # pluggy's call order: the last registered first
        if impl.hookwrapper or impl.wrapper:
            continue
        try:
            impl.function(*[args[name] for name in impl.argnames])
        except Exception:
            log.exception("listener %s for %s failed", impl.plugin_name, event)


class _Background:
    def __init__(self, drain_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.drain_seconds = drain_seconds  # the owner may change it before the block ends
        self.clock = clock
        self.closed = False
        self.queue: queue.Queue = queue.Queue()
        self.pending: set[tuple] = set()
        self.lock = threading.Lock()
        self.deadline: float | None = None  # set on close: pending events after it are dropped
        self.thread = threading.Thread(target=self._run, name="hooks", daemon=True)
        self.thread.start()

    def submit(self, event: str, engine: Any, settings: Any, payload: dict[str, Any]) -> None:
        key = (event, id(engine), tuple(sorted(payload.items())))
        with self.lock:
            if key in self.pending:
                return
            self.pending.add(key)
        self.queue.put((key, event, engine, settings, payload))

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            key, event, engine, settings, payload = item
            with self.lock:
                self.pending.discard(key)
            if self.deadline is not None and self.clock() > self.deadline:
                continue  # derived data: the search index catches up from the database later
            _dispatch(event, engine, settings, payload)

    def close(self) -> None:
        """Run pending events for up to ``drain_seconds``, drop the rest, and wait for the one in flight
        until the same deadline. A listener still running after it shows as :attr:`busy`: a thread left
        inside native code (torch) when the interpreter tears down aborts the process, so the owner must
        then leave with ``os._exit``."""
        wait = max(0.0, self.drain_seconds)
        self.closed = True
        self.deadline = self.clock() + wait
        self.queue.put(None)
        while self.thread.is_alive() and (left := self.deadline - self.clock()) > 0:
            self.thread.join(min(left, 0.05))  # the clock, not the join, decides when the budget is spent

    @property
    def busy(self) -> bool:
        """Closed with a listener still running (a nested block's owner never sees this: it did not close)."""
        return self.closed and self.thread.is_alive()


_background: _Background | None = None


@contextmanager
def background(drain_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic) -> Iterator[_Background]:
    """Run listeners on a background thread until the block ends, then drain them for up to
    ``drain_seconds`` (adjustable on the yielded object) as measured by ``clock``. Check ``.busy`` afterwards."""
    global _background
    if _background is not None:  # nested: the outer block owns the thread
        yield _background
        return
    _background = _Background(drain_seconds, clock)
    try:
        yield _background
    finally:
        worker, _background = _background, None
        worker.close()


def emit(event: str, engine: Any, settings: Any, **payload: Any) -> None:
    worker = _background
    if worker is not None:
        worker.submit(event, engine, settings, payload)
    else:
        _dispatch(event, engine, settings, payload)
