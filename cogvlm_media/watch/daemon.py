"""The watch daemon: observers and scans feed the gate, the gate feeds the durable queue, workers drain it.

Main thread: events → gate; supervisor checks; reconcile scans; ready files → ``jobs.enqueue_many``;
crash recovery (``jobs.recover``); status snapshots to the reporter (:mod:`cogvlm_media.watch.snapshot`).
Probe threads (:mod:`cogvlm_media.watch.probes`): the ffprobe check of stable files, beside the loop.
Worker threads: ``jobs.claim`` → ``process_run``.
SIGTERM/SIGINT: stop claiming, let running jobs finish for ``shutdown_seconds``, then release them to
the queue (a second signal releases at once). Search-index updates still pending get a few seconds
more, within the same deadline; the index catches up from the database on the next start.
"""

from __future__ import annotations

import collections
import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from cogvlm_media import hooks
from cogvlm_media.config import Settings
from cogvlm_media.store import jobs
from cogvlm_media.store.engine import database_error_line, is_unavailable
from cogvlm_media.store.fspath import shown
from cogvlm_media.watch.gate import Gate, ffprobe_check, wanted
from cogvlm_media.watch.links import reachable
from cogvlm_media.watch.observers import Root, Supervisor
from cogvlm_media.watch.probes import ProbePool
from cogvlm_media.watch.scan import new_versions
from cogvlm_media.watch.snapshot import Reporter, RootState, RunningJob, WatchStatus, print_notes

log = logging.getLogger(__name__)
TICK = 0.2
OUTAGE_PAUSE = 1.0  # seconds between queue updates while the database is out of reach
CHECK_SECONDS = 1.0
RECOVER_SECONDS = 2.0
INDEX_DRAIN_SECONDS = 5.0  # on a signal, at most this long for pending search-index updates
IDLE_DRAIN_SECONDS = 3600.0  # --exit-when-idle: bring the index up to date before leaving


@dataclass
class WatchOptions:
    roots: list[str]
    poll: bool = False
    workers: int = 1
    exit_when_idle: bool = False
    scan_only: bool = False  # queue files, analyse nothing (another process or a later run drains the queue)
    probe: bool = True


@dataclass
class Current:
    run_id: int
    path: str
    worker: str
    stage: str = "start"
    started: float = 0.0


class Daemon:
    def __init__(self, engine: Engine, settings: Settings, options: WatchOptions,
                 reporter: Reporter | None = None, process: Callable | None = None) -> None:
        self.engine, self.settings, self.options = engine, settings, options
        w = settings.watch
        self.reporter = reporter or print_notes
        from cogvlm_media.ingest.batched import pipeline_for
        from cogvlm_media.ingest.claimed_run import process_run

        # the batched GPU path (ingest/batched.py) when the configuration picks it
        self.pipeline = pipeline_for(settings) if process is None else None
        self.process = process or (self.pipeline.process_run if self.pipeline else process_run)
        # queue.Queue, not SimpleQueue: CPython 3.11's SimpleQueue.get(timeout=...) waits forever when a
        # signal lands late in the wait (its remaining time goes negative), so a SIGTERM could hang the loop
        self.events: queue.Queue = queue.Queue()
        self.supervisor = Supervisor(options.roots, self.events, force_poll=options.poll,
                                     poll_seconds=w.poll_seconds)
        probes = ProbePool(ffprobe_check, w.probe_workers) if (options.probe and w.probe_check) else None
        self.gate = Gate(w.stable_seconds, w.close_hint_seconds, probe=probes)
        self.stopping = threading.Event()
        self.abort = threading.Event()
        self._wake = threading.Condition()
        self.current: dict[int, Current] = {}
        self.recent: collections.deque[str] = collections.deque(maxlen=8)
        self._recent_lock = threading.Lock()  # notes come from the worker threads too
        self.counts: dict[str, int] = {}
        self.queued_here = 0
        self.finished_here = 0
        self._threads: list[threading.Thread] = []
        self._hooks = None  # the background listener thread, while running
        self._db_down = False  # noted once per database outage
        self._missing: set[str] = set()

    # --- helpers ---------------------------------------------------------------------------------------

    def _root_of(self, path: str) -> Root | None:
        best = None
        for root in self.supervisor.roots:
            if path == root.path or path.startswith(root.path.rstrip(os.sep) + os.sep):
                if best is None or len(root.path) > len(best.path):
                    best = root
        return best

    def _window(self, root: Root | None) -> float:
        w = self.settings.watch
        return w.stable_seconds_network if root is not None and root.polling else w.stable_seconds

    def note(self, message: str) -> None:
        message = shown(message)  # a file name that is not UTF-8 is printed with its bytes as \xNN
        line = f"{time.strftime('%H:%M:%S')} {message}"
        with self._recent_lock:
            self.recent.append(line)
        self.report(note=line)

    # --- feeding the gate ------------------------------------------------------------------------------

    def scan(self, folder: str) -> int:
        root = self._root_of(folder)
        window = self._window(root)
        found = 0
        for batch in new_versions(self.engine, folder, self.settings.watch.extensions,
                                  root=root.path if root else None):
            for path, st in batch:
                self.gate.offer(path, window=window, scanned=True, st=st)
            found += len(batch)
            if self.abort.is_set():
                break
        return found

    def drain_events(self, first_wait: float) -> int:
        handled = 0
        exts = self.settings.watch.extensions
        try:
            item = self.events.get(timeout=first_wait)
        except queue.Empty:
            return 0
        while True:
            kind, path, is_dir = item
            handled += 1
            try:
                if is_dir:
                    if kind in ("created", "moved"):
                        self.scan(path)  # a folder moved or copied in: its files gave no events
                    elif kind == "deleted":
                        self.gate.forget_under(path)
                elif kind == "deleted":
                    self.gate.forget(path)
                elif wanted(path, exts) and (root := self._root_of(path)) is not None \
                        and reachable(root.path, path):  # no link out of the tree
                    self.gate.offer(path, window=self._window(root), closed=kind == "closed" and not root.polling)
            except Exception as exc:  # one odd path must not stop the loop
                log.debug("event %s %r: %s", kind, path, exc)
            if handled >= 50_000:
                break
            try:
                item = self.events.get_nowait()
            except queue.Empty:
                break
        return handled

    def promote(self) -> int:
        ready = self.gate.ready()
        if not ready:
            return 0
        w = self.settings.watch
        created = jobs.enqueue_many(self.engine, ready, source="watch", max_attempts=w.max_attempts)
        for path, run_id in created[:20]:
            self.note(f"queued #{run_id} {path}")
        if len(created) > 20:
            self.note(f"queued {len(created) - 20} more")
        self.queued_here += len(created)
        with self._wake:
            self._wake.notify_all()
        return len(created)

    # --- workers ---------------------------------------------------------------------------------------

    def _work(self, slot: int) -> None:
        worker = jobs.worker_id()
        lease = self.settings.watch.lease_seconds
        while not self.stopping.is_set():
            try:
                run = jobs.claim(self.engine, worker, lease)
            except Exception as exc:
                log.warning("claim failed: %s", exc)
                run = None
            if run is None:
                with self._wake:
                    self._wake.wait(0.5)
                continue
            cur = self.current[slot] = Current(run.id, run.path, worker, started=time.monotonic())

            def on_stage(stage: str, done: float, total: float, cur: Current = cur) -> None:
                cur.stage = stage

            self.note(f"start #{run.id} {run.path} (attempt {run.attempts}/{run.max_attempts})")
            try:
                outcome = self.process(self.engine, self.settings, run, worker, on_stage=on_stage)
                status, detail = outcome.status, outcome.outcome if outcome.status == "done" else outcome.error
            except Exception as exc:  # process_run records failures itself; this is a last resort
                detail = f"{type(exc).__name__}: {exc}"[:500]
                try:
                    status = jobs.fail(self.engine, run.id, worker, detail,
                                       backoff_seconds=self.settings.watch.backoff_seconds)
                except Exception:
                    status = "failed"
            self.current.pop(slot, None)
            self.finished_here += 1
            self.note(f"{status} #{run.id} {run.path}: {detail} ({time.monotonic() - cur.started:.1f} s)")

    # --- status ------------------------------------------------------------------------------------

    def snapshot(self, note: str | None = None) -> WatchStatus:
        idle = "stopped" if self.stopping.is_set() else "starting"  # no observer (yet, or any more)
        roots = tuple(RootState(r.path, r.mode, "missing" if r.missing else ("watching" if r.observer else idle),
                                r.error or "", r.rebuilds) for r in self.supervisor.roots)
        now = time.monotonic()
        running = tuple(RunningJob(cur.run_id, cur.path, cur.stage, now - cur.started)
                        for cur in list(self.current.values()))
        with self._recent_lock:
            recent = tuple(self.recent)
        return WatchStatus(roots, dict(self.counts), len(self.gate), running, recent, note)

    def report(self, note: str | None = None) -> None:
        """Hand the reporter a snapshot (after each note, from whichever thread noted it, and each tick)."""
        self.reporter(self.snapshot(note))

    # --- main loop -------------------------------------------------------------------------------------

    def _signal(self, signum, _frame) -> None:
        if self.stopping.is_set():
            self.abort.set()
        self.stopping.set()

    def _idle(self) -> bool:
        if len(self.gate) or not self.events.empty():
            return False
        if self.options.scan_only:
            return True
        c = self.counts
        return not self.current and c.get("queued", 0) == 0 and c.get("running", 0) == 0 and c.get("failed", 0) == 0

    def run(self) -> int:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._signal)
            signal.signal(signal.SIGINT, self._signal)
        for run_id, status in jobs.recover(self.engine):
            self.note(f"recovered #{run_id} from a stopped worker: {status}")
        for root in self.supervisor.check():
            self.scan(root.path)
        for root in self.supervisor.roots:
            self.note(f"watching {root.path} ({root.mode})" if not root.missing else f"missing {root.path}")
        if not self.options.scan_only:
            workers = max(1, self.options.workers, self.pipeline.files_in_flight if self.pipeline else 1)
            for slot in range(workers):
                t = threading.Thread(target=self._work, args=(slot,), name=f"worker-{slot}", daemon=True)
                t.start()
                self._threads.append(t)
        self.note("ready")
        # index updates after each stored file run beside the workers, not inside them
        with hooks.background(drain_seconds=INDEX_DRAIN_SECONDS) as self._hooks:
            # first, bring the search index up to date (a stop may have left an update behind)
            hooks.emit("asset_changed", self.engine, self.settings)
            try:
                self._loop()
            finally:
                self.report()
                self._shutdown()
        if self._hooks.busy:
            self.note("stopped; a search-index update was still running (the index catches up on the next start)")
        else:
            self.note("stopped")
        return 0

    def _loop(self) -> None:
        w = self.settings.watch
        last_check = last_recover = time.monotonic()
        last_reconcile = time.monotonic()
        while not self.stopping.is_set():
            self.drain_events(TICK)
            now = time.monotonic()
            if now - last_check >= CHECK_SECONDS:
                last_check = now
                for root in self.supervisor.check():
                    self.note(f"observer for {root.path} rebuilt ({root.mode}); rescanning")
                    self.scan(root.path)
                for root in self.supervisor.roots:
                    if root.missing and root.path not in self._missing:
                        self.gate.forget_under(root.path)
                        self.note(f"observer for {root.path} stopped: folder missing; waiting for it")
                    (self._missing.add if root.missing else self._missing.discard)(root.path)
            if now - last_reconcile >= w.reconcile_seconds:
                last_reconcile = now
                found = sum(self.scan(r.path) for r in self.supervisor.roots if not r.missing)
                self.note(f"reconcile: {found} new or changed file(s)")
            try:
                self.promote()
                if now - last_recover >= RECOVER_SECONDS:
                    last_recover = now
                    for run_id, status in jobs.recover(self.engine):
                        self.note(f"recovered #{run_id} from a stopped worker: {status}")
                self.counts = jobs.counts(self.engine)
            except Exception as exc:  # a locked or briefly unavailable database: try again next tick
                self._database_trouble(exc)
                continue
            if self._db_down:
                self._db_down = False
                self.note("database reachable again")
            self.report()
            if self.options.exit_when_idle and self._idle():
                self.note("idle: exiting")
                break

    def _database_trouble(self, exc: Exception) -> None:
        """Note an unreachable database once per outage (the engine already retried with backoff); stay up."""
        if not is_unavailable(exc):
            log.warning("queue update failed: %s", exc)
        elif not self._db_down:
            self._db_down = True
            self.note(database_error_line(exc) + "; the daemon keeps retrying")
        self.stopping.wait(OUTAGE_PAUSE if self._db_down else 0)

    @property
    def abandoned_threads(self) -> bool:
        """Worker threads still inside a released job, or a search-index update still running, after
        shutdown (they must not outlive the process through interpreter teardown, where native
        libraries abort on running threads)."""
        probing = self.gate.probes is not None and self.gate.probes.busy  # a hung ffprobe (stalled mount)
        return any(t.is_alive() for t in self._threads) or bool(self._hooks and self._hooks.busy) or probing

    def _shutdown(self) -> None:
        signalled = self.stopping.is_set()  # else: --exit-when-idle found nothing left to do
        self.stopping.set()
        if signalled:
            running = len(self.current)
            self.note(f"stopping: {running} running job(s) get up to {self.settings.watch.shutdown_seconds:.0f} s"
                      if running else "stopping")
        self.gate.close()  # files not yet probed are found again by the next start's scan
        with self._wake:
            self._wake.notify_all()
        self.supervisor.stop()
        deadline = time.monotonic() + self.settings.watch.shutdown_seconds
        for t in self._threads:
            while t.is_alive() and time.monotonic() < deadline and not self.abort.is_set():
                t.join(timeout=0.1)
        if self.pipeline is not None and not any(t.is_alive() for t in self._threads):
            self.pipeline.close()
        for cur in list(self.current.values()):
            try:
                jobs.release(self.engine, cur.run_id, cur.worker)
                self.note(f"released #{cur.run_id} {cur.path} back to the queue")
            except Exception as exc:
                self.note(f"could not release #{cur.run_id}: {exc} (its lease will expire)")
        if self._hooks is not None and not signalled:
            self._hooks.drain_seconds = IDLE_DRAIN_SECONDS  # finishing normally: the index too
        elif self._hooks is not None:
            left = 0.0 if self.abort.is_set() else max(0.0, deadline - time.monotonic())
            self._hooks.drain_seconds = min(INDEX_DRAIN_SECONDS, left)
