"""NUL and other control characters in marker names (issue 13): before, a NUL in a marker name was
accepted and reached the ``edl-resolve`` and ``csv`` exports. Now the API refuses C0 controls other
than newline and tab, an import from an NLE file strips them, and every export writes only what its
format allows (here: printable text, and line breaks only as the format's own line structure)."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cogvlm_media.cli.app import app
from cogvlm_media.config import Settings
from cogvlm_media.export.formats import format_names
from cogvlm_media.store.marker_edits import add_marker
from cogvlm_media.store import models
from cogvlm_media.store.engine import get_engine, read_session, write_session

BASE = "http://127.0.0.1:8765"
FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # \t \n \r may be a format's own structure


@pytest.fixture(scope="module")
def small(tmp_path_factory, silent_clip):
    from cogvlm_media.ingest import ingest_paths
    from cogvlm_media.server.app import create_app

    root = tmp_path_factory.mktemp("controls")
    clip = root / "clip.mp4"
    shutil.copy(silent_clip.path, clip)
    settings = Settings(home=root / "home")
    engine = get_engine(settings.db_url)
    (outcome,) = ingest_paths(engine, settings, [str(clip)])
    assert outcome.status == "done", outcome.error
    with TestClient(create_app(settings, engine), base_url=BASE) as client:
        yield settings, engine, outcome.asset_id, client, root


@pytest.mark.parametrize("field,value", [("name", "a\x00b"), ("name", "red \x1b[31m"), ("note", "x\x07"),
                                         ("name", "cr\rlf"), ("note", "\x7f")])
def test_the_api_refuses_control_characters(small, field, value):
    _settings, engine, asset, client, _root = small
    body = {"time": 1.0, "name": "ok", field: value}
    r = client.post(f"/api/v1/assets/{asset}/markers", json=body)
    assert r.status_code == 422 and "control characters" in r.text, r.text
    added = client.post(f"/api/v1/assets/{asset}/markers", json={"time": 1.0, "name": "fine"}).json()
    r = client.patch(f"/api/v1/markers/{added['marker']['id']}", json={field: value})
    assert r.status_code == 422, r.text
    item = {"nle_key": "k1", "asset_id": asset, "frame": 10, "name": "n", field: value}
    r = client.post("/api/v1/nle/sync", json={"nle": "resolve", "container": "c", "items": [item]})
    assert r.status_code == 422, r.text


def test_newlines_and_tabs_are_accepted(small):
    _settings, _engine, asset, client, _root = small
    r = client.post(f"/api/v1/assets/{asset}/markers", json={"time": 2.0, "name": "two\twords",
                                                             "note": "line one\nline two"})
    assert r.status_code in (200, 201), r.text


def test_an_import_strips_them(small):
    settings, engine, asset, _client, root = small
    doc = {"format": "cogvlm-media-markers", "schema_version": 1,
           "assets": [{"id": asset, "fps": {"num": 25, "den": 1},
                       "markers": [{"seconds": 1.0, "name": "im\x00ported\x1b", "note": "n\x00ote\nkept",
                                    "kind": "moment", "duration_frames": 0}]}]}
    path = root / "markers.json"
    path.write_text(json.dumps(doc))
    env = {"COGVLM_MEDIA_HOME": str(settings.home), "COGVLM_MEDIA_DB": settings.db_url, "COGVLM_MEDIA_CONFIG": ""}
    out = CliRunner().invoke(app, ["import-markers", str(path), "--asset", str(asset)], env=env)
    assert out.exit_code == 0, out.output
    with read_session(engine) as session:
        names = {(mk.name, mk.note) for mk in session.query(models.Marker).filter_by(asset_id=asset)}
    assert ("imported", "note\nkept") in names


def test_every_export_writes_only_what_its_format_allows(small):
    _settings, engine, asset, client, _root = small
    with write_session(engine) as session:  # stored before the API refused them (or written by hand)
        add_marker(session, session.get(models.Asset, asset), time=4.0, name="old\x00na\x1bme\nsecond",
                   note="no\x00te\x07\nline two")
    for name in format_names():
        r = client.get(f"/api/v1/assets/{asset}/export/{name}")
        if r.status_code == 422:  # a format whose other rules this clip cannot meet (YouTube's chapters)
            continue
        assert r.status_code == 200, (name, r.text)
        assert not FORBIDDEN.search(r.text), (name, FORBIDDEN.findall(r.text))
        if name in ("csv", "edl-resolve", "json"):
            assert "oldname second" in r.text, name  # stripped, and on one line
