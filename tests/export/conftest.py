"""Fixtures for the export tests (helpers and constants live in exportkit.py)."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mediagen  # noqa: E402
from exportkit import RATES, SECONDS, Env, record  # noqa: E402
from cogvlm_media.store.engine import get_engine  # noqa: E402


@pytest.fixture(scope="session")
def clips(media_dir) -> dict[str, mediagen.SampleInfo]:
    out = {}
    for key, (fps, tc) in RATES.items():
        frames = int(round(Fraction(fps) * SECONDS))
        out[key] = mediagen.silent_clip(media_dir / f"export_{key}.mp4", fps=fps, frames=frames, size="64x48",
                                        extra_args=("-timecode", tc) if tc else ())
    return out


@pytest.fixture
def env(tmp_path, monkeypatch) -> Env:
    home = tmp_path / "home"
    vars_ = {"COGVLM_MEDIA_HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
             "COGVLM_MEDIA_CONFIG": "", "COGVLM_MEDIA_DB": ""}
    for k, v in vars_.items():
        monkeypatch.setenv(k, v)
    engine = get_engine(f"sqlite:///{home / 'cogvlm-media.db'}")
    env = Env(home=home, runner=CliRunner(), engine=engine, env=vars_)
    # hooks.emit is recorded instead of running the search indexer (another stage, tested there)
    from cogvlm_media import hooks

    monkeypatch.setattr(hooks, "emit", lambda event, engine, settings, **kw: env.events.append((event, kw["asset_id"])))
    return env


@pytest.fixture
def assets(env, clips) -> dict[str, int]:
    return {key: record(env.engine, info.path) for key, info in clips.items()}


