"""Whether a recorded path still holds the file that was ingested there.

Ingest records the path's resolved target (``os.stat`` follows symlinks): its inode, size and mtime.
A path whose target now differs - a symlink re-pointed, the file replaced or edited in place - is
served only if its content fingerprint is still the asset's (a restored identical copy); the
fingerprint is read only then, never on the common path.
"""

from __future__ import annotations

import os
import stat

from cogvlm_media.media.fingerprint import fingerprint
from cogvlm_media.store import models


def still_the_ingested_file(row: models.AssetPath, size: int, key: str) -> bool:
    try:
        st = os.stat(row.path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_size != size:
        return False
    if (st.st_ino, st.st_mtime_ns) == (row.inode, row.mtime_ns) and row.size == size:
        return True
    try:
        return fingerprint(row.path) == key
    except OSError:
        return False
