"""Adds the archive's markers to the current timeline (a second run updates, never duplicates).

Workspace → Scripts → cogvlm-media Pull Markers (copy this file and the cogvlm_resolve folder into Resolve's
Scripts/Edit folder; see plugins/resolve/README.md). Also runs from Workspace → Console (Py3).
"""

import os
import sys


def _plugin_dir():
    here = globals().get("__file__")
    candidates = [os.path.dirname(os.path.abspath(here))] if here else []
    home = os.path.expanduser("~")
    candidates += [
        os.path.join(os.environ.get("APPDATA", ""), "Blackmagic Design", "DaVinci Resolve", "Support", "Fusion",
                     "Scripts", "Edit"),
        os.path.join(home, "Library", "Application Support", "Blackmagic Design", "DaVinci Resolve", "Fusion",
                     "Scripts", "Edit"),
        os.path.join(home, ".local", "share", "DaVinciResolve", "Fusion", "Scripts", "Edit"),
    ]
    for folder in candidates:
        if os.path.isdir(os.path.join(folder, "cogvlm_resolve")):
            return folder
    return None


_folder = _plugin_dir()
if _folder and _folder not in sys.path:
    sys.path.insert(0, _folder)

from cogvlm_resolve import host  # noqa: E402

host.main("pull", globals())
