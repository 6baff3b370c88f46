"""The people routes and the review page's people assets, on an archive of known faces (store-written)."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from storedata import MEDIA, analysis

from cogvlm_media import records
from cogvlm_media.config import Settings
from cogvlm_media.server.app import create_app
from cogvlm_media.store.engine import get_engine, write_session
from cogvlm_media.store.people_writer import record_faces
from cogvlm_media.store.writer import FileState, record_analysis

BASE = "http://127.0.0.1:8765"


def face(axis: int, t: float, track: int) -> records.Face:
    v = np.zeros(128)
    v[axis] = 1.0
    return records.Face(t, int(t * 24), (0.25, 0.2, 0.3, 0.4), 1.1, tuple(v), track)


@pytest.fixture
def client(tmp_path):
    settings = Settings(home=tmp_path / "home")
    engine = get_engine(settings.db_url)
    samples = (0.0, 2.0, 4.0, 6.0, 8.0)
    with write_session(engine) as s:
        for key, found in (("a", [face(0, 2.0, 1), face(0, 4.0, 1)]), ("b", [face(0, 6.0, 1), face(1, 0.0, 2)])):
            asset = record_analysis(s, state=FileState(str(tmp_path / f"{key}.mov"), 1000, 1, 1),
                                    fingerprint=key * 64, media=MEDIA, **analysis())
            record_faces(s, asset.id, records.FaceDetections("m", samples, tuple(found)), duration=10.0)
    with TestClient(create_app(settings, engine), base_url=BASE) as c:
        yield c


def test_list_name_merge_split_and_faces(client):
    doc = client.get("/api/v1/people").json()
    assert doc["count"] == 2
    first, second = doc["people"]
    assert (first["assets"], first["appearances"], first["face"]["box"]) == (2, 2, [0.25, 0.2, 0.3, 0.4])
    one = client.get(f"/api/v1/people/{first['id']}").json()
    assert [(a["asset_id"], a["start"], a["end"]) for a in one["appearances"]] == [(1, 2.0, 6.0), (2, 6.0, 8.0)]

    named = client.patch(f"/api/v1/people/{first['id']}", json={"name": "  Maria   Keller "}).json()
    assert named["name"] == "Maria Keller" and named["label"] == "Maria Keller"
    for asset in (1, 2):
        markers = client.get(f"/api/v1/assets/{asset}/markers").json()["markers"]
        assert [m["name"] for m in markers if m["kind"] == "person" and m["time"] in (2.0, 6.0)] == ["Maria Keller"]
    strip = client.get("/api/v1/assets/2/faces").json()
    assert [(f["label"], f["time"]) for f in strip["faces"]] == [(f"Person {second['id']}", 0.0), ("Maria Keller", 6.0)]

    split = client.post(f"/api/v1/people/{first['id']}/split", json={"asset_ids": [2]})
    assert split.status_code == 201 and split.json()["name"] is None
    merged = client.post(f"/api/v1/people/{first['id']}/merge", json={"others": [split.json()["id"]]}).json()
    assert [a["asset_id"] for a in merged["appearances"]] == [1, 2] and merged["name"] == "Maria Keller"


def test_bad_requests_are_one_clear_error(client):
    assert client.get("/api/v1/people/99").json()["error"]["message"] == "no person 99 (see `cogvlm-media people`)"
    assert client.patch("/api/v1/people/1", json={"name": "a\x07b"}).status_code == 422
    assert client.post("/api/v1/people/1/merge", json={"others": [99]}).status_code == 404
    assert client.post("/api/v1/people/2/split", json={"asset_ids": [1]}).status_code == 404  # not seen there
    whole = client.post("/api/v1/people/2/split", json={"asset_ids": [2]})  # all of them: nothing to split off
    assert whole.status_code == 409 and "nothing to split off" in whole.json()["error"]["message"]
    assert client.get("/api/v1/assets/99/faces").status_code == 404


def test_page_has_the_people_view_and_stays_offline(client):
    page = client.get("/")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert 'id="people-view"' in page.text and 'id="face-strip"' in page.text and 'href="#/people"' in page.text
    script = client.get("/static/people.js").text
    assert "/people/${p.id}/split" in script and "/merge" in script
    assert "http://" not in script and "https://" not in script
