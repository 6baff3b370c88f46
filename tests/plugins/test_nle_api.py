"""The /api/v1/nle routes the plugins use: bad input stores nothing, CORS only for the panel's origin and
localhost and only on these routes, and the schema is at revision 0004."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from cogvlm_media.store.engine import get_engine
from cogvlm_media.store.migrate import current_revision, head_revision


def _links_count(home: str) -> int:
    engine = get_engine(f"sqlite:///{home}/cogvlm-media.db")
    with engine.connect() as conn:
        return conn.execute(text("select count(*) from nle_links")).scalar_one()


def test_schema_has_the_links_table(plugin_archive, server):
    engine = get_engine(f"sqlite:///{plugin_archive['home']}/cogvlm-media.db")
    assert current_revision(engine) == head_revision() == "0004"


def test_cors_only_for_the_panel_and_localhost_and_only_on_nle_routes(server, plugin_archive):
    body = {"items": [{"key": "a", "path": plugin_archive["assets"]["25"]["path"]}]}
    for origin in ("http://localhost:3000", "plugin:com.cogvlm-media.premiere"):
        pre = httpx.options(f"{server.url}/api/v1/nle/match", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST"})
        assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == origin
        r = httpx.post(f"{server.url}/api/v1/nle/match", json=body, headers={"Origin": origin})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == origin
        assert r.json()["items"][0]["matched_by"] == "path"
    evil = httpx.post(f"{server.url}/api/v1/nle/match", json=body, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    # other routes keep the guard's same-origin rule, even for localhost pages
    other = httpx.post(f"{server.url}/api/v1/assets/{plugin_archive['assets']['25']['id']}/markers",
                       json={"time": 1.0, "name": "x"}, headers={"Origin": "http://localhost:3000"})
    assert other.status_code == 403


def test_bad_input_stores_nothing(server, plugin_archive):
    asset = plugin_archive["assets"]["59.94"]
    before = _links_count(plugin_archive["home"])
    url = f"{server.url}/api/v1/nle"
    item = {"nle_key": "k1", "asset_id": asset["id"], "frame": 10, "name": "n"}
    cases = [
        ("POST", "/sync", {"nle": "avid", "container": "c", "items": [item]}, 422),
        ("POST", "/sync", {"nle": "resolve", "container": "c", "items": [{**item, "frame": asset["frame_count"]}]}, 422),
        ("POST", "/sync", {"nle": "resolve", "container": "c", "items": [{**item, "frame": -1}]}, 422),
        ("POST", "/sync", {"nle": "resolve", "container": "c", "items": [{**item, "name": "  "}]}, 422),
        ("POST", "/sync", {"nle": "resolve", "container": "c", "items": [{**item, "colour": "TEAL"}]}, 422),
        ("POST", "/sync", {"nle": "resolve", "container": "c", "items": [{**item, "asset_id": 999999}]}, 404),
        ("PUT", "/links", {"nle": "resolve", "container": "c", "links": [{"nle_key": "k", "marker_id": 999999}]}, 404),
        ("POST", "/match", {"items": [{"path": "x"}] * 300}, 422),
    ]
    for method, path, body, status in cases:
        r = httpx.request(method, url + path, json=body)
        assert r.status_code == status, (path, body, r.text)
    assert _links_count(plugin_archive["home"]) == before
    rel = httpx.post(url + "/match", json={"items": [{"path": "../etc/passwd"}, {"fingerprint": "0" * 64}]}).json()
    assert [i["asset"] for i in rel["items"]] == [None, None] and "absolute" in rel["items"][0]["message"]
    assert httpx.get(url + "/links", params={"nle": "resolve"}).status_code == 422
    fp = httpx.get(f"{server.url}/api/v1/assets/{asset['id']}").json()["asset"]["fingerprint"]
    by_fp = httpx.post(url + "/match", json={"items": [{"fingerprint": fp}]}).json()["items"][0]
    assert by_fp["matched_by"] == "fingerprint" and by_fp["asset"]["id"] == asset["id"]
