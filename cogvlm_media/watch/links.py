"""Symlinks never lead the daemon out of a watched tree.

Events, scans and moved-in folders all go through :func:`inside`: a path counts only when the file
or folder it resolves to (every symlink on the way followed) lies inside the watched root's own
resolved folder. A symlinked folder is never walked (a link to a parent would walk the tree again); a
symlink to a file inside the tree is taken, one to a file outside is not. A file event counts only
for a path a scan would reach (:func:`reachable`): the polling observer (network mounts, ``--poll``)
must not walk symlinked folders either (:func:`stat_without_folder_links`), or one link to a parent
would give each file some forty names, each queued as a file of its own.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable


def _real(path: str) -> str:
    return os.path.realpath(path)


def inside(root: str, path: str) -> bool:
    """True when ``path`` resolves to ``root`` or below it (both resolved)."""
    real_root = _real(root)
    real = _real(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def walkable(root: str, folder: str) -> bool:
    """A folder a scan may walk: below ``root`` with no symlink on the way (``root`` itself may be one)."""
    rel = os.path.relpath(folder, root)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return False
    return _real(folder) == os.path.normpath(os.path.join(_real(root), rel))


def reachable(root: str, path: str) -> bool:
    """A file path an event may offer: in a folder a scan would walk (no symlinked folder on the way
    from ``root``) and resolving inside ``root``."""
    return walkable(root, os.path.dirname(path)) and inside(root, path)


def stat_without_folder_links(root: str) -> Callable[[str], os.stat_result]:
    """``os.stat`` for the polling observer's snapshots of ``root``: a symlink to a folder below the root
    is given as the link itself (not a folder, so the snapshot does not walk into it); a symlink to a
    file still gives the file's size and mtime."""
    top = os.path.normpath(os.path.abspath(root))

    def stat_(path: str) -> os.stat_result:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode) and os.path.islink(path) and os.path.normpath(os.path.abspath(path)) != top:
            return os.lstat(path)
        return st
    return stat_
