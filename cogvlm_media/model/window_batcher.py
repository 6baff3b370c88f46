"""One GPU thread answering the windows of many files together through one ``VideoChat``.

Each file gets a ``Ticket``; its thread submits ``Questions`` (a window's frames and prompts, or a text
question) one at a time and gets a ``Future`` per item. The batcher thread takes queued items of any
file, in arrival order, and runs them through ``VideoChat.answer_groups`` (shared vision pass and prefix
per window). Memory stays bounded: the queue holds at most ``queue_items`` items (decoded windows) and
``submit`` blocks while it is full.

When a batch runs: as soon as its rows (questions) reach ``batch_rows``; or when no open ticket can add
to it (every open ticket is waiting for its answers, or none is open); or when the oldest queued item has
waited ``linger`` seconds (a file still in its CPU stages is not waited for longer); or when a submit is
blocked on a full queue.

A batch that raises is run again in halves until the failing item is alone, so only that item gets the
exception (and only its file fails) and the rest are still answered in batches (after out of memory, with
PyTorch's cache emptied first); a ticket that is cancelled (its file failed while submitting) has its queued
items dropped.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import torch

from cogvlm_media.model.engine import Questions


class BatcherClosed(RuntimeError):
    """The batcher was closed before the item could be answered."""


@dataclass
class _Entry:
    ticket: "Ticket"
    item: Questions
    future: Future
    queued: float
    rows: int = field(init=False)

    def __post_init__(self) -> None:
        self.rows = max(1, len(self.item.queries))


class Ticket:
    """One file's access to the batcher (use as a context manager; ``close`` when the file is done)."""

    def __init__(self, batcher: "WindowBatcher", name: str) -> None:
        self.batcher, self.name = batcher, name
        self.waiting = False  # blocked on its own answers: it adds nothing to the queue meanwhile
        self.closed = False
        self.cancelled = False

    def submit(self, item: Questions) -> Future:
        return self.batcher._submit(self, item)

    def gather(self, futures: Sequence[Future],
               progress: Callable[[int, int], None] | None = None) -> list[list[str]]:
        """The answers of ``futures`` in order (the first failure is raised)."""
        self.batcher._set_waiting(self, True)
        try:
            out = []
            for k, f in enumerate(futures, 1):
                out.append(f.result())
                if progress:
                    progress(k, len(futures))
            return out
        except BaseException:
            self.cancel()  # the file has failed: the rest of its items are not worth the GPU's time
            raise
        finally:
            self.batcher._set_waiting(self, False)

    def answer_stream(self, items: Iterable[Questions], max_new_tokens: int | None = None,
                      progress: Callable[[int, int], None] | None = None) -> list[list[str]]:
        """Submit every item (the iterable is read one item at a time, blocking while the queue is full),
        then wait for all answers. A failure while reading the items cancels what this call queued."""
        futures = []
        try:
            for item in items:
                if max_new_tokens and not item.max_new_tokens:
                    item = Questions(item.queries, item.frames, max_new_tokens)
                futures.append(self.submit(item))
        except BaseException:
            self.cancel()
            raise
        return self.gather(futures, progress)

    def cancel(self) -> None:
        self.batcher._cancel(self)

    def finish(self) -> None:
        """The file will submit nothing more (the batcher no longer waits for it)."""
        self.batcher._close_ticket(self)

    def close(self) -> None:
        self.batcher._close_ticket(self)

    def __enter__(self) -> "Ticket":
        return self

    def __exit__(self, exc_type, *_) -> None:
        if exc_type is not None:
            self.cancel()
        self.close()


class WindowBatcher:
    def __init__(self, chat, batch_rows: int | None = None, queue_items: int | None = None, linger: float = 0.5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.chat = chat
        self.batch_rows = max(1, batch_rows or chat.batch_size)
        self.queue_items = max(1, queue_items or self.batch_rows)
        self.linger = linger
        self.clock = clock
        self._queue: deque[_Entry] = deque()
        self._tickets: set[Ticket] = set()
        self._blocked = 0
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self.batches: list[list[str]] = []  # the ticket names of each batch run (for tests and reports)
        self.busy_seconds = 0.0  # time spent inside the model
        self.peak_queued = 0  # the most items ever queued at once (never above queue_items)

    # --- the files' side ---------------------------------------------------------------------------

    def ticket(self, name: str) -> Ticket:
        t = Ticket(self, name)
        with self._cond:
            if self._closed:
                raise BatcherClosed("the window batcher is closed")
            self._tickets.add(t)
        return t

    def _submit(self, ticket: Ticket, item: Questions) -> Future:
        future: Future = Future()
        with self._cond:
            while len(self._queue) >= self.queue_items and not self._closed and not ticket.cancelled:
                self._blocked += 1
                self._cond.notify_all()
                try:
                    self._cond.wait()
                finally:
                    self._blocked -= 1
            if self._closed:
                raise BatcherClosed("the window batcher is closed")
            if ticket.cancelled:
                raise BatcherClosed(f"{ticket.name}: cancelled")
            self._queue.append(_Entry(ticket, item, future, self.clock()))
            self.peak_queued = max(self.peak_queued, len(self._queue))
            self._cond.notify_all()
        return future

    def _set_waiting(self, ticket: Ticket, waiting: bool) -> None:
        with self._cond:
            ticket.waiting = waiting
            self._cond.notify_all()

    def _cancel(self, ticket: Ticket) -> None:
        with self._cond:
            ticket.cancelled = True
            keep = deque()
            for e in self._queue:
                if e.ticket is ticket:
                    e.future.cancel()
                else:
                    keep.append(e)
            self._queue = keep
            self._cond.notify_all()

    def _close_ticket(self, ticket: Ticket) -> None:
        with self._cond:
            ticket.closed = True
            self._tickets.discard(ticket)
            self._cond.notify_all()

    # --- the GPU thread ----------------------------------------------------------------------------

    def _ready(self) -> float | None:
        """0 when a batch should run now, else how long to wait (None: until notified)."""
        if not self._queue:
            return None
        if self._closed or self._blocked or sum(e.rows for e in self._queue) >= self.batch_rows:
            return 0.0
        if not any(not t.waiting for t in self._tickets):
            return 0.0
        return max(0.0, self._queue[0].queued + self.linger - self.clock())

    def _take(self) -> list[_Entry] | None:
        with self._cond:
            while True:
                wait = self._ready()
                if wait == 0.0:
                    break
                if wait is None and self._closed:
                    return None
                self._cond.wait(wait)
            batch, rows = [], 0
            # two batches' worth when queued: the next one's vision pass overlaps this one's decode
            while self._queue and (not batch or rows + self._queue[0].rows <= 2 * self.batch_rows):
                e = self._queue.popleft()
                if e.future.set_running_or_notify_cancel():
                    batch.append(e)
                    rows += e.rows
            self._cond.notify_all()
            return batch

    def _run(self, batch: list[_Entry]) -> None:
        try:
            answers = self.chat.answer_groups([e.item for e in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0].future.set_exception(exc)
                return
            if isinstance(exc, torch.cuda.OutOfMemoryError):
                torch.cuda.empty_cache()  # give the halves the cache the failed batch left behind
            # halves until the failing item is alone: the others are still answered in batches (item by
            # item, a 256-row batch would be rerun a few rows at a time)
            half = len(batch) // 2
            self._run(batch[:half])
            self._run(batch[half:])
            return
        for e, a in zip(batch, answers):
            e.future.set_result(a)

    def _loop(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            if not batch:
                continue
            self.batches.append([e.ticket.name for e in batch])
            started = time.monotonic()
            self._run(batch)
            self.busy_seconds += time.monotonic() - started

    def start(self) -> "WindowBatcher":
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="window-batcher", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float | None = None) -> None:
        """Answer what is queued, then stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> "WindowBatcher":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
