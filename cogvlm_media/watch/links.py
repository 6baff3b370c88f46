"""Symlinks never lead the daemon out of a watched tree.

Events, scans and moved-in folders all go through :func:`inside`: a path counts only when the file
or folder it resolves to (every symlink on the way followed) lies inside the watched root's own
resolved folder. A symlinked folder is never walked (a link to a parent would walk the tree again); a
symlink to a file inside the tree is taken, one to a file outside is not.
"""

from __future__ import annotations

import os


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
