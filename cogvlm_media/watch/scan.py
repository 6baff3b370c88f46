"""Startup and periodic reconcile scans: the database, not the events, decides what is ingested.

A scan walks a tree without following symlinks out of it (watch/links.py: no symlinked folder is
walked, a symlinked file counts only when it resolves inside the watched root), skips junk and hidden names and folders,
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
from cogvlm_media.watch.links import inside, walkable

BATCH = 400


def walk(folder: str, extensions: tuple[str, ...], root: str | None = None) -> Iterator[tuple[str, os.stat_result]]:
    """(path, stat) of every footage file under ``folder`` (in the watched ``root``, by default the
    folder itself); unreadable folders are skipped."""
    root = root or folder
    if not walkable(root, folder):
        return
    stack = [folder]
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
                if entry.is_symlink() and not inside(root, entry.path):
                    continue  # a link to a file outside the watched tree
                st = entry.stat(follow_symlinks=True)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                yield entry.path, st


def new_versions(engine: Engine, folder: str, extensions: tuple[str, ...], batch: int = BATCH,
                 root: str | None = None) -> Iterator[list[tuple[str, os.stat_result]]]:
    """Batches of (path, stat) under ``folder`` (in the watched ``root``) whose current version the
    database does not know."""
    chunk: list[tuple[str, os.stat_result]] = []

    def flush() -> list[tuple[str, os.stat_result]]:
        known = jobs.known_versions(engine, [(p, st.st_size, st.st_mtime_ns) for p, st in chunk])
        return [(p, st) for p, st in chunk if p not in known]

    for item in walk(folder, extensions, root):
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
