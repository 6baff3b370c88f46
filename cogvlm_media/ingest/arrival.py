"""A version that fails the probe while its file is still changing is "still arriving", not broken.

A writer that closes between chunks can let a partial version through the watch gate; ffprobe then
fails on it. When the file has changed since the run took its version, the failure says nothing about
the footage: the run is set aside (superseded, store/jobs.py ``still_arriving``) and the watcher
queues the finished version, instead of a quarantine per partial version.
"""

from __future__ import annotations

from cogvlm_media.ingest.stages import IngestError, probe_file
from cogvlm_media.media.probe import MediaInfo
from cogvlm_media.store.writer import FileState


class StillArriving(IngestError):
    """The file changed while its version was being read."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


def probe_version(path: str, state: FileState) -> MediaInfo:
    """ffprobe ``path``; a failure on a file no longer at version ``state`` raises StillArriving."""
    try:
        return probe_file(path)
    except IngestError as exc:
        try:
            now = FileState.of(path)
        except OSError:
            raise exc from None
        if (now.size, now.mtime_ns) != (state.size, state.mtime_ns):
            raise StillArriving(f"still arriving (the file changed while it was read): {exc}") from None
        raise
