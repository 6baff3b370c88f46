"""The daemon draws nothing: it hands status snapshots to a reporter callback (the CLI draws them)."""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import replace

from cogvlm_media.config import Settings
from cogvlm_media.store.engine import get_engine
from cogvlm_media.watch.daemon import Daemon, WatchOptions
from cogvlm_media.watch.snapshot import WatchStatus


def test_the_daemon_imports_no_terminal_library():
    code = "import sys, cogvlm_media.watch.daemon; print(sorted({m.split('.')[0] for m in sys.modules} & {'rich', 'typer'}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_snapshots_carry_each_note_and_the_queue(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.mp4").write_bytes(b"\0" * 1000)
    settings = Settings(home=tmp_path / "home")
    settings = replace(settings, watch=replace(settings.watch, stable_seconds=0.0, reconcile_seconds=3600.0))
    engine = get_engine(settings.db_url)
    seen: list[WatchStatus] = []
    daemon = Daemon(engine, settings, WatchOptions(roots=[str(folder)], exit_when_idle=True, scan_only=True,
                                                   probe=False), reporter=seen.append)
    runner = threading.Thread(target=daemon.run)  # not the main thread: the test keeps its signal handlers
    runner.start()
    runner.join(60)
    assert not runner.is_alive()
    notes = [s.note.split(" ", 1)[1] for s in seen if s.note is not None]
    assert notes[0] == f"watching {folder} ({daemon.supervisor.roots[0].mode})"
    assert notes[1:3] == ["ready", f"queued #1 {folder / 'a.mp4'}"]
    assert notes[-2:] == ["idle: exiting", "stopped"]
    for s in seen:  # a note's snapshot already lists it
        if s.note is not None:
            assert s.recent[-1] == s.note
    ticks = [s for s in seen if s.note is None]
    assert ticks and ticks[-1].counts.get("queued") == 1 and ticks[-1].settling == 0
    assert [(r.path, r.state) for r in seen[1].roots] == [(str(folder), "watching")]
    assert [(r.path, r.state) for r in seen[-1].roots] == [(str(folder), "stopped")]
    engine.dispose()
