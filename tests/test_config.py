"""Settings: defaults < TOML file < environment; clear errors for bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cogvlm_media.cli.app import app
from cogvlm_media.config import ConfigError, load_settings


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for var in ("COGVLM_MEDIA_HOME", "COGVLM_MEDIA_DB", "COGVLM_MEDIA_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    return tmp_path


def test_defaults_follow_xdg(clean_env):
    s = load_settings()
    assert s.home == clean_env / "xdg-data" / "cogvlm-media"
    assert s.db_url == f"sqlite:///{clean_env / 'xdg-data' / 'cogvlm-media' / 'cogvlm-media.db'}"
    assert s.config_path is None


def test_file_then_environment(clean_env, monkeypatch):
    cfg = clean_env / "xdg-config" / "cogvlm-media" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('home = "/srv/media-home"\n[analysis]\nwindow_seconds = 12.0\n'
                   '[watch]\nextensions = ["mov", ".mxf"]\n[export]\ncolours = { scene = "green" }\n')
    s = load_settings()
    assert s.home == Path("/srv/media-home") and s.analysis.window_seconds == 12.0
    assert s.watch.extensions == (".mov", ".mxf")
    assert s.export.colours["scene"] == "GREEN" and s.export.colours["speech"] == "GREEN"
    monkeypatch.setenv("COGVLM_MEDIA_HOME", str(clean_env / "h2"))
    monkeypatch.setenv("COGVLM_MEDIA_DB", "postgresql://u@db/media")
    s = load_settings()
    assert s.home == clean_env / "h2" and s.db_url == "postgresql://u@db/media"


@pytest.mark.parametrize("text, message", [
    ("not toml = = 1", "not valid TOML"),
    ("[analysis]\nbogus = 1\n", "unknown key(s) in [analysis]: bogus"),
    ("colour = 1\n", "unknown key(s): colour"),
])
def test_bad_files(clean_env, text, message):
    path = clean_env / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)")):
        load_settings(path)


def test_config_command(clean_env, monkeypatch):
    monkeypatch.setenv("COGVLM_MEDIA_HOME", str(clean_env / "home"))
    runner = CliRunner()
    result = runner.invoke(app, ["config", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["home"] == str(clean_env / "home") and data["analysis"]["analyser"] == "auto"
    missing = runner.invoke(app, ["--config", str(clean_env / "nope.toml"), "config"])
    assert missing.exit_code == 2 and "config file not found" in missing.stderr
