"""On-screen text through the real pipeline: ingest a clip with a slate, a lower third and a title card,
then find the slate by its words, see the text markers (their own colour) in show and exports, and scene
titles taken from the title card and the lower third."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

import textmedia
from cogvlm_media.cli.app import app


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    root = tmp_path_factory.mktemp("ocr")
    mp = pytest.MonkeyPatch()
    mp.setenv("COGVLM_MEDIA_HOME", str(root / "home"))
    mp.delenv("COGVLM_MEDIA_DB", raising=False)
    mp.setenv("XDG_CONFIG_HOME", str(root / "cfg"))
    path, truth = textmedia.text_clip(root / "reel 7.mp4")
    result = cli("ingest", "-q", str(path))
    assert result.exit_code == 0, result.output
    yield path
    mp.undo()


def test_search_finds_the_slate(ingested):
    result = cli("search", "scene 12 take 3", "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["hits"]
    assert hits[0]["kind"] == "text" and hits[0]["time"] == pytest.approx(1.0, abs=0.5)
    assert hits[0]["text"].startswith("SCENE 12 TAKE 3")


def test_text_markers_scene_titles_and_events_in_show(ingested):
    doc = json.loads(cli("show", str(ingested), "--json").stdout)
    text = [(m["name"], m["note"], m["colour"]) for m in doc["markers"] if m["kind"] == "text"]
    assert text == [("SCENE 12 TAKE 3", "Slate (on-screen text)", "CYAN"),
                    ("Dr. Maria Keller", "Lower third (on-screen text)", "CYAN"),
                    ("The Harbour at Dawn", "Title card (on-screen text)", "CYAN")]
    assert [e["category"] for e in doc["text_events"]] == ["slate", "lower_third", "title"]
    assert all(e["model_version"].startswith("rapidocr 3.") for e in doc["text_events"])
    titles = [s["title"] for s in doc["scenes"]]
    assert "The Harbour at Dawn" in titles and "Dr. Maria Keller" in titles


def test_exports_carry_the_text_markers(ingested):
    result = cli("export", str(ingested), "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert [r["name"] for r in rows if r["kind"] == "text"] == [t.text for t in textmedia.TRUTH]
