"""How a node reads a file the driver named: its own mount of the shared storage (``[cluster] path_map``
in the node's config file: {"/mnt/nas": "/Volumes/NAS"}), the same path, or the bytes streamed from the
driver's node (:class:`FileServer`) into a local copy when the node cannot see the file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass


def mapped_path(path: str, path_map: Mapping[str, str]) -> str:
    """``path`` with its longest matching prefix replaced (whole path components only)."""
    best: tuple[str, str] | None = None
    for prefix, target in path_map.items():
        p = prefix.rstrip("/") or "/"
        if path == p or path.startswith(p if p == "/" else p + "/"):
            if best is None or len(p) > len(best[0]):
                best = (p, target)
    if best is None:
        return path
    p, target = best
    rest = path[len(p):].lstrip("/")
    return os.path.join(target, rest) if rest else target


@dataclass(frozen=True)
class Access:
    path: str  # where this node reads the file
    how: str  # "direct" (same path), "mapped" (path_map) or "streamed" (a local copy)


def node_view() -> tuple[dict[str, str], bool]:
    """The node's own ``[cluster] path_map`` and ``same_paths`` (its config file, as the node's
    environment names it: ``COGVLM_MEDIA_CONFIG`` of its ``ray start``)."""
    from cogvlm_media.config import load_settings

    try:
        c = load_settings().cluster
    except Exception:  # a node without a usable config file maps nothing
        return {}, True
    return dict(c.path_map), c.same_paths


def visible(path: str, size: int | None) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return size is None or st.st_size == size


class FileServer:
    """A Ray actor on the driver's node serving byte ranges of the files it queued (and only those)."""

    def __init__(self) -> None:
        self.allowed: set[str] = set()

    def allow(self, paths: list[str]) -> None:
        self.allowed.update(paths)

    def stat(self, path: str) -> tuple[int, int]:
        if path not in self.allowed:
            raise PermissionError(f"{path}: not a file queued by this driver")
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns

    def read(self, path: str, offset: int, size: int) -> bytes:
        if path not in self.allowed:
            raise PermissionError(f"{path}: not a file queued by this driver")
        with open(path, "rb") as fh:
            fh.seek(offset)
            return fh.read(size)


def stream_copy(server, path: str, chunk: int, folder: str | None = None) -> str:
    """Copy ``path`` from the driver's ``FileServer`` into a local temporary file (two reads in flight at
    most: bounded memory) with the source's mtime; returns the copy's path (the caller removes it)."""
    import ray

    size, mtime_ns = ray.get(server.stat.remote(path))
    suffix = os.path.splitext(path)[1]
    fd, local = tempfile.mkstemp(prefix="cogvlm-stream-", suffix=suffix, dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            pending = []
            for offset in range(0, size, chunk):
                pending.append(server.read.remote(path, offset, chunk))
                if len(pending) >= 2:
                    out.write(ray.get(pending.pop(0)))
            for ref in pending:
                out.write(ray.get(ref))
        os.utime(local, ns=(mtime_ns, mtime_ns))
    except BaseException:
        os.unlink(local)
        raise
    return local


def open_for_node(path: str, size: int | None, server, chunk: int) -> Access:
    """Where this node reads ``path``: mapped or direct when it sees the file, else a streamed copy."""
    path_map, same_paths = node_view()
    mapped = mapped_path(path, path_map)
    if mapped != path and visible(mapped, size):
        return Access(mapped, "mapped")
    if same_paths and visible(path, size):
        return Access(path, "direct")
    if server is None:
        raise FileNotFoundError(f"{path}: not visible on this node and no file server to stream it from")
    return Access(stream_copy(server, path, chunk), "streamed")
