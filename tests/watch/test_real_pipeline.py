"""The installed `cogvlm-media watch` with the real pipeline (TransNetV2 shots, no test doubles) on a tiny
silent clip: queued, analysed, and the daemon exits when idle."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import watch_support as ws


def test_real_cli_ingests_a_dropped_clip_and_exits_when_idle(tmp_path, base_clip):
    watched = tmp_path / "in"
    watched.mkdir()
    shutil.copy(base_clip, watched / "real.mp4")
    config = ws.write_config(tmp_path, analyser="embedded")
    # the console script installed beside the interpreter running the tests (the venv need not be on PATH)
    exe = Path(sys.executable).with_name("cogvlm-media")
    assert exe.exists(), "the package's console script is installed"
    done = subprocess.run([exe, "watch", str(watched), "--exit-when-idle"], env=ws.cli_env(config),
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    (row,) = ws.runs(tmp_path)
    assert (row["status"], row["outcome"], row["analyser"]) == ("done", "analysed", "embedded"), tuple(row)
    with ws.db(tmp_path) as conn:
        assert conn.execute("SELECT count(*) FROM shots").fetchone()[0] >= 1
