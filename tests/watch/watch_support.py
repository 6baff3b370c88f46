"""Helpers for watch tests: tiny distinct clips, a daemon subprocess that is always killed, DB reads."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cogvlm_media.media.ffmpeg_tools import require

HERE = Path(__file__).resolve().parent
LAUNCH = HERE / "launch.py"


def render_base(path: Path) -> Path:
    """2 s, 160x90, 25 fps, no audio: the real pipeline reads it in a fraction of a second."""
    subprocess.run([require("ffmpeg"), "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=160x90:rate=25:duration=2", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(path)], check=True, capture_output=True)
    return path


def variant(base: Path, path: Path, n: int) -> Path:
    """The same pictures with a different metadata tag: different bytes, so a different fingerprint."""
    subprocess.run([require("ffmpeg"), "-nostdin", "-v", "error", "-y", "-i", str(base), "-c", "copy",
                    "-metadata", f"comment=variant {n}", str(path)], check=True, capture_output=True)
    return path


def render_big(path: Path, seconds: int = 4) -> Path:
    """Lossless noise, ~3 MB a second at 320x240: large enough for a slow writer to take a while."""
    subprocess.run([require("ffmpeg"), "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"nullsrc=s=320x240:r=25:d={seconds},geq=random(1)*255:128:128", "-c:v", "libx264",
                    "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", str(path)],
                   check=True, capture_output=True)
    return path


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.1, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


def write_config(folder: Path, analyser: str = "watchtest", **watch) -> Path:
    # the daemon is under test here: the optional [see] stages (speakers, faces, on-screen text) stay off
    lines = [f'home = "{folder / "home"}"', "[analysis]", f'analyser = "{analyser}"', "speakers = false",
             "faces = false", "[watch]"]
    defaults = {"stable_seconds": 1.0, "stable_seconds_network": 1.0, "backoff_seconds": 0.2,
                "poll_seconds": 0.5, "close_hint_seconds": 0.5}
    for key, value in {**defaults, **watch}.items():
        lines.append(f"{key} = {value!r}" if not isinstance(value, bool) else f"{key} = {str(value).lower()}")
    lines += ["[plugins.text]", "enabled = false"]
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def cli_env(config: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COGVLM_MEDIA_", "WATCHTEST_"))}
    env.update({"COGVLM_MEDIA_CONFIG": str(config), "PYTHONUNBUFFERED": "1", "COLUMNS": "200",
                "PYTHONFAULTHANDLER": "1"})
    env.update(extra)
    return env


class DaemonProcess:
    """`cogvlm-media watch` as a subprocess; output goes to a log file (a full pipe could block it)."""

    def __init__(self, config: Path, args: list[str], log: Path, **env: str) -> None:
        self.log = log
        self._fh = open(log, "ab")
        self.proc = subprocess.Popen([sys.executable, str(LAUNCH), "watch", *args], env=cli_env(config, **env),
                                     stdout=self._fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, needle: str, timeout: float, count: int = 1) -> None:
        def seen():
            if self.proc.poll() is not None and self.text().count(needle) < count:
                raise AssertionError(f"daemon exited ({self.proc.returncode}) before {needle!r}:\n{self.text()}")
            return self.text().count(needle) >= count
        wait_until(seen, timeout, what=f"{needle!r} in the daemon log")

    def terminate(self, timeout: float = 20) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER: every thread's stack into the log
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            raise AssertionError(f"daemon still running {timeout} s after SIGTERM:\n{self.text()}") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        finally:
            self._fh.close()


def cli(config: Path, *args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(LAUNCH), *args], env=cli_env(config, **env), capture_output=True,
                          text=True, timeout=timeout)


def db(folder: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(folder / "home" / "cogvlm-media.db"), timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def runs(folder: Path) -> list[sqlite3.Row]:
    with db(folder) as conn:
        return conn.execute("SELECT * FROM ingest_runs ORDER BY id").fetchall()


def vm(pid: int, key: str) -> int:
    """VmRSS / VmHWM of a process in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)
