"""Footage at a rate SMPTE timecode cannot express (15 fps screen or phone recordings): ingest, show,
search and the formats that can carry it work; CMX EDL and FCP 7 XML refuse in one line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import mediagen
from cogvlm_media.cli.app import app


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COGVLM_MEDIA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("COGVLM_MEDIA_DB", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    return tmp_path


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_fifteen_fps_round_trip(home):
    clip = mediagen.silent_clip(home / "phone.mp4", fps="15", frames=150, size="64x48")
    assert cli("ingest", "-q", clip.path).exit_code == 0
    doc = json.loads(cli("show", "1", "--json").stdout)
    assert doc["asset"]["fps"]["num"] == 15 and doc["shots"][0]["end_tc"] == "00:00:10:00"
    for fmt in ("otio", "edl-resolve", "fcpxml", "json"):
        out = home / f"markers.{fmt}"
        assert cli("export", "1", "--format", fmt, "-o", out).exit_code == 0, fmt
        back = cli("import-markers", out, "--asset", "1", "--format", fmt)
        assert back.exit_code == 0 and "0 changed, 0 added, 0 deleted" in back.stdout, (fmt, back.output)
    for fmt in ("edl", "fcp7xml"):
        refused = cli("export", "1", "--format", fmt)
        assert refused.exit_code == 1
        assert f"error: {fmt} needs a SMPTE frame rate" in refused.stderr and "Traceback" not in refused.output
    found = json.loads(cli("search", "shot", "--json").stdout)
    assert found["hits"] and found["hits"][0]["timecode"] == "00:00:00:00"
