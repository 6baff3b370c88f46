"""Stage 2: the content key that recognises the same footage under another name.

Pinned format (the watch daemon and the NLE plugins, through the server, compute the same key):
SHA-256 over, in order, the file size as decimal ASCII text, the first 1 MiB and the last 1 MiB of
the file (for files under 1 MiB the whole file appears twice). Hex digest, lower case.
"""

from __future__ import annotations

import hashlib
import os

CHUNK = 1024 * 1024


def fingerprint(path: str | os.PathLike[str]) -> str:
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        digest = hashlib.sha256(str(size).encode("ascii"))
        digest.update(fh.read(CHUNK))
        fh.seek(max(0, size - CHUNK))
        digest.update(fh.read(CHUNK))
    return digest.hexdigest()
