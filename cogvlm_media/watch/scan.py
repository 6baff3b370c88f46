"""Startup and periodic reconcile scans: the database, not the events, decides what is ingested.

A scan walks a tree without following symlinks (no loops), skips junk and hidden names and folders,
and yields file versions in batches so memory stays bounded however large the tree is. Versions the
database already knows (queued, running, retrying, done, quarantined or ingested) are dropped before
they reach the gate.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from sqlalchemy.engine import Engine

from cogvlm_media.store import jobs
from cogvlm_media.watch.gate import is_junk, is_junk_dir

BATCH = 400


def walk(root: str, extensions: tuple[str, ...]) -> Iterator[tuple[str, os.stat_result]]:
    """(path, stat) of every footage file under ``root``; unreadable folders are skipped."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not is_junk_dir(name):
                        stack.append(entry.path)
                    continue
                if is_junk(name) or os.path.splitext(name)[1].lower() not in extensions:
                    continue
                st = entry.stat(follow_symlinks=True)  # a symlinked file is fine; symlinked dirs are not walked
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                yield entry.path, st


def new_versions(engine: Engine, root: str, extensions: tuple[str, ...],
                 batch: int = BATCH) -> Iterator[list[tuple[str, os.stat_result]]]:
    """Batches of (path, stat) under ``root`` whose current version the database does not know."""
    chunk: list[tuple[str, os.stat_result]] = []

    def flush() -> list[tuple[str, os.stat_result]]:
        known = jobs.known_versions(engine, [(p, st.st_size, st.st_mtime_ns) for p, st in chunk])
        return [(p, st) for p, st in chunk if p not in known]

    for item in walk(root, extensions):
        chunk.append(item)
        if len(chunk) >= batch:
            fresh = flush()
            chunk = []
            if fresh:
                yield fresh
    if chunk:
        fresh = flush()
        if fresh:
            yield fresh
