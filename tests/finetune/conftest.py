"""Fixtures for the fine-tuning tests (helpers and constants live in finetunekit.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mediagen  # noqa: E402
from finetunekit import SECONDS, SOURCES, Env, record  # noqa: E402
from modelkit import make_tokenizer, save_checkpoint, tiny_model  # noqa: E402
from cogvlm_media.store.engine import get_engine  # noqa: E402


@pytest.fixture(scope="session")
def clips(media_dir) -> list[Path]:
    return [mediagen.render(media_dir / f"finetune_{n}.mp4", [mediagen.Segment(name, 25 * SECONDS)],
                            size="64x48").path for n, name in enumerate(SOURCES)]


@pytest.fixture(scope="session")
def base_checkpoint(tmp_path_factory) -> Path:
    return save_checkpoint(tiny_model(len(make_tokenizer())), tmp_path_factory.mktemp("finetune-base"))


@pytest.fixture
def env(tmp_path, monkeypatch, base_checkpoint) -> Env:
    home = tmp_path / "home"
    vars_ = {"COGVLM_MEDIA_HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "COGVLM_MEDIA_DB": ""}
    for k, v in vars_.items():
        monkeypatch.setenv(k, v)
    from cogvlm_media import hooks

    monkeypatch.setattr(hooks, "emit", lambda *a, **k: None)  # the search index is another stage's
    e = Env(home, vars_, get_engine(f"sqlite:///{home / 'cogvlm-media.db'}"), base_checkpoint,
            tmp_path / "config.toml", CliRunner())
    e.configure()
    return e


@pytest.fixture
def archive(env, clips) -> list[int]:
    return [record(env.engine, path) for path in clips]
