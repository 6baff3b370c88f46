"""Filesystem observers: native (inotify) on local disks, polling on network mounts, and a supervisor
that rebuilds an observer whose thread or emitter died or whose folder vanished and came back.

Events are only hints: the handler puts ``(kind, path, is_dir)`` on a queue and can never raise (an
exception inside a watchdog handler silently kills the observer thread).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from dataclasses import dataclass, field

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserverVFS

from cogvlm_media.watch.links import stat_without_folder_links

log = logging.getLogger(__name__)

NETWORK_FS = {
    "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "ncpfs", "afs", "9p", "ceph", "glusterfs",
    "lustre", "gpfs", "beegfs", "davfs", "fuse.sshfs", "fuse.rclone", "fuse.s3fs", "fuse.gcsfuse",
    "fuse.glusterfs", "fuse.cephfs", "fuse.davfs2", "fuse.smbnetfs", "fuse.juicefs", "fuse.mergerfs",
}


STOP_SECONDS = 2.0  # the longest a stopping observer may hold up a rebuild or the daemon's shutdown


def _unescape(field_: str) -> str:
    # /proc/self/mountinfo escapes space, tab, newline and backslash as octal
    return field_.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def mount_table(text: str | None = None) -> list[tuple[str, str]]:
    """(mount point, filesystem type) pairs from /proc/self/mountinfo (or the given text)."""
    if text is None:
        try:
            with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError:
            return []
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        parts = left.split()
        if not sep or len(parts) < 5 or not right.split():
            continue
        mounts.append((_unescape(parts[4]), right.split()[0]))
    return mounts


def fs_type(path: str, table: list[tuple[str, str]] | None = None) -> str:
    """The filesystem type of the mount holding ``path`` ("" when unknown)."""
    table = mount_table() if table is None else table
    real = os.path.realpath(path)
    best, kind = -1, ""
    for point, fstype in table:  # later mounts shadow earlier ones at the same point
        if real == point or real.startswith(point.rstrip("/") + "/") or point == "/":
            if len(point) >= best:
                best, kind = len(point), fstype
    return kind


def is_network(path: str, table: list[tuple[str, str]] | None = None) -> bool:
    return fs_type(path, table) in NETWORK_FS


class QueueHandler(FileSystemEventHandler):
    """Puts each event on a queue; nothing else, and never raises."""

    def __init__(self, events: "queue.Queue[tuple[str, str, bool]]") -> None:
        self.events = events

    def dispatch(self, event: FileSystemEvent) -> None:
        try:
            kind = event.event_type
            if kind in ("opened", "closed_no_write"):
                return
            src = os.fsdecode(event.src_path)
            if kind == "moved":
                self.events.put(("deleted", src, event.is_directory))
                self.events.put(("moved", os.fsdecode(event.dest_path), event.is_directory))
            else:
                self.events.put((kind, src, event.is_directory))
        except Exception:  # pragma: no cover - the observer thread must survive anything
            pass


@dataclass
class Root:
    path: str
    polling: bool
    observer: object | None = None
    identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the folder the observer watches
    rebuilds: int = 0
    missing: bool = False
    error: str = ""
    stats: dict = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return "polling" if self.polling else "native"


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if os.path.isdir(path) else None


class Supervisor:
    """Owns one observer per watched root; :meth:`check` rebuilds any that stopped working and returns
    the roots that need a scan (new observer: events in between were missed)."""

    def __init__(self, roots: list[str], events: "queue.Queue", force_poll: bool = False,
                 poll_seconds: float = 2.0) -> None:
        table = mount_table()
        self.events = events
        self.poll_seconds = poll_seconds
        self.roots = [Root(r, force_poll or is_network(r, table)) for r in roots]

    def _start(self, root: Root) -> bool:
        identity = _identity(root.path)
        if identity is None:
            root.missing = True
            return False
        observer = (PollingObserverVFS(stat_without_folder_links(root.path), os.scandir,
                                       polling_interval=self.poll_seconds) if root.polling else Observer())
        try:
            observer.schedule(QueueHandler(self.events), root.path, recursive=True)
            observer.start()
        except OSError as exc:  # ENOSPC: inotify watch limit; fall back to polling this root
            root.error = f"{exc.strerror or exc} — raise fs.inotify.max_user_watches; polling instead"
            log.warning("%s: %s", root.path, root.error)
            self._stop(observer)
            if root.polling:
                return False
            root.polling = True
            return self._start(root)
        root.observer, root.identity, root.missing = observer, identity, False
        return True

    @staticmethod
    def _stop(observer, wait: float = STOP_SECONDS) -> None:
        """Stop ``observer`` without letting it hold up the caller for more than ``wait`` seconds:
        watchdog's ``stop()`` joins the observer's emitters with no time limit. Observer threads are
        daemon threads, so one that never finishes does not keep the process alive."""
        def stop() -> None:
            try:
                observer.stop()
            except Exception:
                pass

        stopper = threading.Thread(target=stop, name="observer-stop", daemon=True)
        stopper.start()
        stopper.join(wait)
        if stopper.is_alive():
            log.warning("an observer did not stop within %.0f s; left behind", wait)

    def healthy(self, root: Root) -> bool:
        observer = root.observer
        if observer is None or not observer.is_alive():
            return False
        if not observer.emitters or not all(e.is_alive() for e in list(observer.emitters)):
            return False
        return _identity(root.path) == root.identity

    def check(self) -> list[Root]:
        """Rebuild dead or stale observers. Returns roots (re)started now: scan them."""
        started = []
        for root in self.roots:
            if root.observer is not None and self.healthy(root):
                continue
            if root.observer is not None:
                self._stop(root.observer)
                root.observer = None
                root.rebuilds += 1
                log.info("%s: observer stopped working; rebuilding", root.path)
            if self._start(root):
                started.append(root)
        return started

    def stop(self) -> None:
        for root in self.roots:
            if root.observer is not None:
                self._stop(root.observer)
        for root in self.roots:
            if root.observer is not None:
                try:
                    root.observer.join(timeout=2)
                except Exception:
                    pass
                root.observer = None
