"""Whether the pipeline may read a file at all, checked before any stage opens it."""

from __future__ import annotations

from cogvlm_media.ingest.stages import IngestError


def require_readable(path: str) -> None:
    """Raise a final (not retried) ``IngestError("permission denied")`` for a file this process may
    not read (mode 000, another owner's private file): waiting does not change permissions, and the
    README promises that reason. ``stat`` succeeds on such files, so this opens the file."""
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise IngestError("permission denied") from None
