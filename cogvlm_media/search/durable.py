"""Crash-safe writes for the index folder: write new, fsync, swap atomically, clean up on start.

Every step of an index update calls :func:`crash_point` with its name; it does nothing, and the
crash tests (tests/search/test_index_crash.py) replace it to make one step die as under ``kill -9``.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

GENERATION = re.compile(r"^(lexical|vectors)-(\d{6})$")


def crash_point(step: str) -> None:
    """A point where a kill leaves the index folder exactly as the steps before it wrote it."""


def fsync_path(path: Path) -> None:
    """fsync a file or a folder (a folder's fsync makes the names in it durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    for p in folder.iterdir():
        if p.is_file():
            fsync_path(p)
    fsync_path(folder)


def swap_in(tmp: Path, final: Path) -> None:
    """Rename the complete folder ``tmp`` to ``final``. ``final`` can only be a generation that a
    killed update renamed into place and never made current, so it is removed first."""
    if final.exists():
        shutil.rmtree(final)
    os.rename(tmp, final)
    fsync_path(final.parent)


def write_file(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text`` (temp file, fsync, rename, fsync the folder)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    crash_point("state-written")
    os.replace(tmp, path)
    fsync_path(path.parent)


def generation_of(name: str) -> int:
    match = GENERATION.match(name)
    return int(match.group(2)) if match else 0


def highest_generation(root: Path) -> int:
    return max((generation_of(p.name) for p in root.iterdir()), default=0) if root.is_dir() else 0


def remove_leftovers(root: Path, current: set[str]) -> list[str]:
    """With the writer lock held: drop what a killed writer left behind, i.e. temp files and folders
    and generations newer than the current ones (no reader ever opened those)."""
    if not root.is_dir():
        return []
    top = max((generation_of(name) for name in current), default=0)
    removed = []
    for p in root.iterdir():
        if p.name.endswith(".tmp") or (generation_of(p.name) > top and p.name not in current):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p.name)
    return removed
