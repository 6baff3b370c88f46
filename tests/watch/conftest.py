from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import watch_support as ws  # noqa: E402


@pytest.fixture(scope="session")
def base_clip(tmp_path_factory) -> Path:
    return ws.render_base(tmp_path_factory.mktemp("watchmedia") / "base.mp4")


@pytest.fixture
def daemons():
    """Start daemons through this; every one still running is killed at teardown."""
    started: list[ws.DaemonProcess] = []

    def start(*args, **kwargs) -> ws.DaemonProcess:
        d = ws.DaemonProcess(*args, **kwargs)
        started.append(d)
        return d

    yield start
    for d in started:
        d.kill()
