"""The archive's content key of a media file, computed here (the server never reads files for a plugin):
SHA-256 over the file size as decimal ASCII text, the first 1 MiB and the last 1 MiB (the format pinned
in cogvlm_media/media/fingerprint.py). Python 3.6+, standard library only."""

from __future__ import absolute_import

import hashlib
import os

CHUNK = 1024 * 1024


def fingerprint(path):
    """The hex key of the file at ``path``, or None when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            digest = hashlib.sha256(str(size).encode("ascii"))
            digest.update(fh.read(CHUNK))
            fh.seek(max(0, size - CHUNK))
            digest.update(fh.read(CHUNK))
    except (OSError, IOError):
        return None
    return digest.hexdigest()
