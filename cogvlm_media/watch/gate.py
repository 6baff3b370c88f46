"""Which names are footage, and when a file is complete enough to become a job.

A path seen by an event or a scan becomes a *candidate*. A candidate is ready once its size and mtime
have not changed for the stability window (``stable_seconds``, ``stable_seconds_network`` on network
mounts). A close-after-write event (Linux inotify, local disks only) is an early hint: it shortens the
window to ``close_hint_seconds`` until the file changes again; it never decides on its own, and a file
that changed after a close hint (a writer that closes between chunks) gets the full window from then on. A scanned
local file whose mtime is already older than the window counts as stable at once (nothing wrote to it
for that long). A ready file must then be readable by ffprobe (``probe_check``); one that is stable but
unreadable gets one more window (a stalled copy may resume) and is then queued anyway, so that the
pipeline records the reason and quarantines it.
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

# Names written by copy tools, browsers, sync clients and desktops while a file is incomplete, or
# never footage at all. Dotfiles cover rsync ".name.XXXXXX", Syncthing ".syncthing.name.tmp",
# AppleDouble "._name" and ".DS_Store".
JUNK_PATTERNS = ("*.part", "*.crdownload", "*.tmp", "*.partial", "*.download", "~$*", "~syncthing~*",
                 "thumbs.db", "desktop.ini")
JUNK_DIRS = ("@eaDir", "#recycle", "#snapshot", "$RECYCLE.BIN", "System Volume Information", "lost+found")


def is_junk(name: str) -> bool:
    """True for temporary, hidden and system names that must never become jobs."""
    if not name or name.startswith("."):
        return True
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, pattern) for pattern in JUNK_PATTERNS)


def is_junk_dir(name: str) -> bool:
    return name.startswith(".") or name in JUNK_DIRS


def wanted(path: str, extensions: tuple[str, ...]) -> bool:
    """A footage file name: not junk, with a video extension, in no hidden or system folder."""
    name = os.path.basename(path)
    if is_junk(name) or os.path.splitext(name)[1].lower() not in extensions:
        return False
    return not any(is_junk_dir(part) for part in os.path.dirname(path).split(os.sep) if part)


@dataclass
class Candidate:
    path: str
    size: int
    mtime_ns: int
    since: float  # monotonic time the current (size, mtime) was first seen
    window: float
    closed: bool = False  # a close-after-write event arrived for the current version
    reopened: bool = False  # the file changed after a close hint: hints no longer shorten its window
    probe_failures: int = 0


Probe = Callable[[str], str | None]  # path -> None when readable, else the reason


def ffprobe_check(path: str) -> str | None:
    from cogvlm_media.media.probe import ProbeError, probe

    try:
        probe(path)
    except ProbeError as exc:
        return str(exc)
    except Exception as exc:  # ffprobe missing, timeouts: report, never raise into the daemon
        return f"{type(exc).__name__}: {exc}"
    return None


class Gate:
    """Candidates waiting to become stable. Not thread-safe: the daemon's main loop owns it."""

    def __init__(self, stable_seconds: float, close_hint_seconds: float = 1.0, probe: Probe | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stable_seconds = stable_seconds
        self.close_hint_seconds = min(close_hint_seconds, stable_seconds)
        self.probe = probe
        self.clock = clock
        self.pending: dict[str, Candidate] = {}

    def __len__(self) -> int:
        return len(self.pending)

    def _stat(self, path: str) -> os.stat_result | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        import stat as _s

        return st if _s.S_ISREG(st.st_mode) else None

    def offer(self, path: str, *, window: float | None = None, closed: bool = False, scanned: bool = False,
              st: os.stat_result | None = None) -> None:
        """A hint that ``path`` changed or exists (event or scan)."""
        st = st or self._stat(path)
        if st is None:
            self.pending.pop(path, None)
            return
        now = self.clock()
        window = self.stable_seconds if window is None else window
        old = self.pending.get(path)
        if old is not None and (old.size, old.mtime_ns) == (st.st_size, st.st_mtime_ns):
            old.closed = old.closed or closed
            return
        since = now
        if scanned and old is None and time.time_ns() - st.st_mtime_ns >= window * 1e9:
            since = now - window  # untouched for longer than the window already
        reopened = old is not None and (old.reopened or old.closed)
        self.pending[path] = Candidate(path, st.st_size, st.st_mtime_ns, since, window, closed, reopened)

    def forget(self, path: str) -> None:
        self.pending.pop(path, None)

    def forget_under(self, folder: str) -> None:
        prefix = folder.rstrip(os.sep) + os.sep
        for path in [p for p in self.pending if p.startswith(prefix)]:
            del self.pending[path]

    def _window(self, c: Candidate) -> float:
        if c.closed and not c.reopened and c.window <= self.stable_seconds:  # the hint: local files only
            return min(c.window, self.close_hint_seconds)
        return c.window

    def ready(self, limit: int = 5000) -> list[tuple[str, int, int]]:
        """Candidates stable for their window (and readable), removed from the gate: (path, size, mtime)."""
        now = self.clock()
        out: list[tuple[str, int, int]] = []
        for c in list(self.pending.values()):
            if len(out) >= limit:
                break
            if now - c.since < self._window(c):
                continue
            st = self._stat(c.path)
            if st is None:
                del self.pending[c.path]
                continue
            if (st.st_size, st.st_mtime_ns) != (c.size, c.mtime_ns):
                c.reopened = c.reopened or c.closed
                c.size, c.mtime_ns, c.since, c.closed, c.probe_failures = st.st_size, st.st_mtime_ns, now, False, 0
                continue
            if self.probe is not None and c.probe_failures == 0 and self.probe(c.path) is not None:
                c.probe_failures, c.since = 1, now  # one more window, then the pipeline decides
                continue
            del self.pending[c.path]
            out.append((c.path, c.size, c.mtime_ns))
        return out
