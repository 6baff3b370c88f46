"""A file nobody may read (mode 000) fails at once with "permission denied" (issue 13, item 10),
instead of three retries over 45 s with a raw ``PermissionError``.

Root reads mode-000 files anyway, so under root the daemon runs without the capabilities that let it
(``setpriv`` drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH), as an ordinary user's would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

import watch_support as ws


def as_unprivileged(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("running as root needs setpriv (util-linux) to drop the file-access capabilities")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--", *args]


def test_a_mode_000_file_is_quarantined_at_once_as_permission_denied(tmp_path, base_clip):
    watched = tmp_path / "in"
    watched.mkdir()
    shutil.copyfile(base_clip, watched / "ok.mp4")
    shutil.copyfile(base_clip, watched / "locked.mp4")
    (watched / "locked.mp4").chmod(0)
    old = os.stat(watched / "ok.mp4").st_mtime - 3600  # long finished copies: stable at the first scan
    for name in ("ok.mp4", "locked.mp4"):
        os.utime(watched / name, (old, old))
    config = ws.write_config(tmp_path, backoff_seconds=15.0)
    args = as_unprivileged([sys.executable, str(ws.LAUNCH), "watch", "--exit-when-idle", "--no-probe", str(watched)])
    out = subprocess.run(args, env=ws.cli_env(config), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    rows = {os.path.basename(r["path"]): r for r in ws.runs(tmp_path)}
    assert rows["ok.mp4"]["outcome"] == "analysed"
    locked = rows["locked.mp4"]
    assert (locked["status"], locked["attempts"], locked["error"]) == ("quarantined", 1, "permission denied")
