"""What the watch daemon publishes about itself: a :class:`WatchStatus` snapshot, handed to a reporter
callback after every note and every tick of its main loop. The daemon draws nothing; ``cogvlm-media
watch`` draws the snapshots (a live panel on a terminal, else one line per note)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RootState:
    path: str
    mode: str  # inotify, polling, ...
    state: str  # watching, starting, missing or stopped
    error: str
    rebuilds: int


@dataclass(frozen=True)
class RunningJob:
    run_id: int
    path: str
    stage: str
    seconds: float  # since the job started


@dataclass(frozen=True)
class WatchStatus:
    roots: tuple[RootState, ...]
    counts: dict[str, int]  # the queue's jobs by status (jobs.counts)
    settling: int  # files the gate is waiting on
    running: tuple[RunningJob, ...]
    recent: tuple[str, ...]  # the latest notes, time-stamped, oldest first
    note: str | None = None  # the note that prompted this snapshot (None: a tick of the main loop)


Reporter = Callable[[WatchStatus], None]


def print_notes(status: WatchStatus) -> None:
    """The default reporter: each note as one line on stderr."""
    if status.note is not None:
        print(status.note, file=sys.stderr, flush=True)
