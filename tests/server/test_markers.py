"""Marker edits through the API are stored exactly as the exports round trip stores an editor's change."""

from __future__ import annotations

import json

import pytest
from serverkit import marker, marker_rows, model_marker

from cogvlm_media.search.backend import open_backend


def test_edit_stores_a_verified_marker_and_keeps_the_original(client, archive):
    old = model_marker(client, archive.speech)
    r = client.patch(f"/api/v1/markers/{old['id']}", json={"name": "Fox jumps (checked)", "note": "edited — “ok” & <b>"})
    assert r.status_code == 200, r.text
    body = r.json()
    new = body["marker"]
    assert body["changed"] and body["replaced_id"] == old["id"]
    assert new["id"] != old["id"] and new["verified"] and new["source"] == "editor" and new["replaces_id"] == old["id"]
    assert new["name"] == "Fox jumps (checked)" and new["note"] == "edited — “ok” & <b>"
    assert new["time"] == old["time"] and new["kind"] == old["kind"] and new["colour"] == old["colour"]
    stored_old, stored_new = marker(archive.engine, old["id"]), marker(archive.engine, new["id"])
    assert stored_old.superseded and not stored_old.verified and stored_old.name == old["name"]
    assert stored_new.verified and stored_new.source == "editor" and not stored_new.superseded
    listing = client.get(f"/api/v1/assets/{archive.speech}/markers", params={"history": "true"}).json()
    assert new["id"] in {mk["id"] for mk in listing["markers"]}
    assert old["id"] not in {mk["id"] for mk in listing["markers"]}
    assert old["id"] in {mk["id"] for mk in listing["history"]}
    # the old marker is history now: editing or deleting it again says where the live one is
    again = client.patch(f"/api/v1/markers/{old['id']}", json={"name": "x"})
    assert again.status_code == 409 and again.json()["error"]["current_id"] == new["id"]
    assert client.delete(f"/api/v1/markers/{old['id']}").status_code == 409
    one = client.get(f"/api/v1/markers/{old['id']}").json()
    assert one["superseded"] is True and one["asset_id"] == archive.speech


def test_an_edit_reaches_the_search_index(client, archive):
    added = client.post(f"/api/v1/assets/{archive.speech}/markers", json={"time": 3.0, "name": "placeholder"}).json()
    client.patch(f"/api/v1/markers/{added['marker']['id']}", json={"name": "zebracrossing rehearsal"})
    hits = client.get("/api/v1/search", params={"q": "zebracrossing", "mode": "lexical"}).json()["hits"]
    assert hits and hits[0]["kind"] == "editor" and hits[0]["verified"] and abs(hits[0]["time"] - 3.0) < 0.05
    backend = open_backend(archive.settings, archive.engine)
    assert backend.status().pending == 0  # asset_changed fired after the commit and the index caught up


def test_move_snaps_to_frames_and_colour(client, archive):
    mk = client.post(f"/api/v1/assets/{archive.speech}/markers",
                     json={"time": 5.0, "name": "to move", "duration": 0.6}).json()["marker"]
    moved = client.patch(f"/api/v1/markers/{mk['id']}", json={"time": 7.013, "colour": "cyan"}).json()["marker"]
    assert moved["time"] == pytest.approx(7.0) and moved["frame"] == 175 and moved["timecode"] == "00:00:07:00"
    assert moved["colour"] == "CYAN" and moved["duration"] == pytest.approx(0.6)
    same = client.patch(f"/api/v1/markers/{moved['id']}", json={"time": 7.001, "name": "to move"}).json()
    assert same["changed"] is False and same["marker"]["id"] == moved["id"]  # nothing changed, nothing stored


def test_add_and_delete(client, archive):
    r = client.post(f"/api/v1/assets/{archive.speech}/markers",
                    json={"time": 10.0, "name": "Added in the browser", "note": "n", "kind": "moment"})
    assert r.status_code == 201, r.text
    new = r.json()["marker"]
    assert new["verified"] and new["source"] == "editor" and new["kind"] == "moment" and new["colour"] == "YELLOW"
    assert new["replaces_id"] is None
    gone = client.delete(f"/api/v1/markers/{new['id']}")
    assert gone.status_code == 200 and gone.json() == {"deleted_id": new["id"], "asset_id": archive.speech}
    stored = marker(archive.engine, new["id"])
    assert stored.superseded and stored.verified  # kept as history, no replacement
    live = client.get(f"/api/v1/assets/{archive.speech}/markers").json()["markers"]
    assert new["id"] not in {mk["id"] for mk in live}
    assert client.delete(f"/api/v1/markers/{new['id']}").status_code == 409


BAD_EDITS = [
    ({}, 422), ({"name": ""}, 422), ({"name": "   "}, 422), ({"name": None}, 422), ({"time": -1}, 422),
    ({"time": 18.5}, 422), ({"time": 1e308}, 422), ({"time": "12"}, 422), ({"time": True}, 422),
    ({"time": [1]}, 422), ({"duration": 60}, 422), ({"colour": "TEAL"}, 422), ({"colour": 3}, 422),
    ({"verified": False}, 422), ({"asset_id": 2}, 422), ({"kind": "scene"}, 422), ({"name": "x" * 501}, 422),
    ({"note": "x" * 10_001}, 422),
]


@pytest.mark.parametrize("body,status", BAD_EDITS)
def test_bad_edits_store_nothing(client, archive, body, status):
    target = model_marker(client, archive.speech, index=0)
    before = marker_rows(archive.engine)
    r = client.patch(f"/api/v1/markers/{target['id']}", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["message"]
    assert marker_rows(archive.engine) == before
    assert client.get("/api/v1/health").status_code == 200


@pytest.mark.parametrize("raw,content_type,status", [
    (b'{"name": "x"', "application/json", 400), (b"not json", "application/json", 400),
    (b'{"time": NaN}', "application/json", 422), (b'{"time": Infinity}', "application/json", 422),
    (b'["name"]', "application/json", 422), (b'"x"', "application/json", 422), (b"", "application/json", 422),
    (b'{"name": "x"}', "text/plain", 422), (b"\xff\xfe{", "application/json", 400),
])
def test_malformed_bodies_store_nothing(client, archive, raw, content_type, status):
    target = model_marker(client, archive.speech, index=0)
    before = marker_rows(archive.engine)
    for method, url in (("PATCH", f"/api/v1/markers/{target['id']}"), ("POST", f"/api/v1/assets/{archive.speech}/markers")):
        r = client.request(method, url, content=raw, headers={"content-type": content_type})
        assert 400 <= r.status_code < 500, (method, raw, r.status_code, r.text)
        assert r.json()["error"]["code"] in ("malformed_json", "bad_request", "invalid"), r.text
    assert r.status_code == status
    assert marker_rows(archive.engine) == before


@pytest.mark.parametrize("body", [
    {"name": "x"}, {"time": 1.0}, {"time": 20.0, "name": "past the end"}, {"time": 17.0, "duration": 5.0, "name": "x"},
    {"time": 1.0, "name": "x", "kind": "bogus"}, {"time": 1.0, "name": "x", "colour": "NOPE"},
    {"time": 1.0, "name": "x", "verified": False}, {"time": -0.5, "name": "x"},
])
def test_bad_additions_store_nothing(client, archive, body):
    before = marker_rows(archive.engine)
    r = client.post(f"/api/v1/assets/{archive.speech}/markers", json=body)
    assert r.status_code == 422 and r.json()["error"]["message"], r.text
    assert marker_rows(archive.engine) == before


def test_unknown_targets(client, archive):
    before = marker_rows(archive.engine)
    assert client.patch("/api/v1/markers/987654", json={"name": "x"}).status_code == 404
    assert client.delete("/api/v1/markers/987654").status_code == 404
    assert client.post("/api/v1/assets/987654/markers", json={"time": 1, "name": "x"}).status_code == 404
    assert client.post("/api/v1/assets/abc/markers", json={"time": 1, "name": "x"}).status_code == 422
    assert client.put(f"/api/v1/markers/{before[0][0]}", json={"name": "x"}).status_code == 405
    assert marker_rows(archive.engine) == before


def test_oversize_bodies_are_refused_before_parsing(client, archive):
    target = model_marker(client, archive.speech, index=0)
    before = marker_rows(archive.engine)
    big = json.dumps({"note": "x" * 200_000}).encode()
    r = client.patch(f"/api/v1/markers/{target['id']}", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"

    def chunks():  # no Content-Length: counted while read
        for _ in range(100):
            yield b"x" * 4096

    r = client.post(f"/api/v1/assets/{archive.speech}/markers", content=chunks(),
                    headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert marker_rows(archive.engine) == before
    assert client.get("/api/v1/health").status_code == 200


def test_edits_and_reads_beside_a_busy_writer(client, archive):
    """Like `watch` ingesting: another connection holds write transactions; requests wait, never fail."""
    import threading
    import time

    from sqlalchemy import text

    from cogvlm_media.store.engine import write_session

    stop, errors = threading.Event(), []

    def writer():
        try:
            while not stop.is_set():
                with write_session(archive.engine) as session:
                    session.execute(text("UPDATE assets SET analyser = analyser WHERE id = :i"), {"i": archive.speech})
                    time.sleep(0.15)  # a long transaction, as a stage commit can be
                time.sleep(0.01)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        mk = client.post(f"/api/v1/assets/{archive.speech}/markers", json={"time": 2.0, "name": "beside watch"})
        assert mk.status_code == 201, mk.text
        for _ in range(10):
            assert client.get(f"/api/v1/assets/{archive.speech}").status_code == 200
            assert client.get("/api/v1/status").status_code == 200
        r = client.patch(f"/api/v1/markers/{mk.json()['marker']['id']}", json={"note": "edited while busy"})
        assert r.status_code == 200 and r.json()["marker"]["verified"], r.text
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not errors and not thread.is_alive()
