"""The /api/v1/nle routes the plugins use: bad input stores nothing, CORS only for the panel's origin and
only on these routes, no other page (localhost ones included) may call them, /match answers only for
ingested paths, and the schema is at revision 0003."""

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
    assert current_revision(engine) == head_revision() == "0011"  # 0004: the marker import log; 0011: media details


def test_cors_only_for_the_panel_and_only_on_nle_routes(server, plugin_archive):
    body = {"items": [{"key": "a", "path": plugin_archive["assets"]["25"]["path"]}]}
    for origin in ("plugin:com.cogvlm-media.premiere",):
        pre = httpx.options(f"{server.url}/api/v1/nle/match", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST"})
        assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == origin
        r = httpx.post(f"{server.url}/api/v1/nle/match", json=body, headers={"Origin": origin})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == origin
        assert r.json()["items"][0]["matched_by"] == "path"
    evil = httpx.post(f"{server.url}/api/v1/nle/match", json=body, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    # other routes keep the guard's same-origin rule, localhost pages included
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


PAGES = ("http://localhost:3000", "http://127.0.0.1:3000", "http://[::1]:8080", "https://evil.example", "null")


def test_no_other_page_may_call_the_nle_routes(server, plugin_archive):
    """Issue 13, item 7: a page on http://localhost:3000 read an asset's marks (file paths included),
    synced a marker and used /match as a file-existence oracle. Now only the panel's origin, the review
    page's own and clients without an Origin (the Resolve script) are answered."""
    asset = plugin_archive["assets"]["25"]
    url = f"{server.url}/api/v1/nle"
    before = _links_count(plugin_archive["home"])
    sync = {"nle": "resolve", "container": "page", "items": [
        {"nle_key": "k", "asset_id": asset["id"], "frame": 10, "name": "planted"}]}
    for origin in PAGES:
        head = {"Origin": origin}
        for method, path, body in (("GET", f"/assets/{asset['id']}/marks", None), ("GET", "/config", None),
                                   ("GET", "/links?nle=resolve&container=page", None), ("POST", "/sync", sync),
                                   ("PUT", "/links", {"nle": "resolve", "container": "page", "links": []}),
                                   ("POST", "/match", {"items": [{"path": asset["path"]}]})):
            r = httpx.request(method, url + path, json=body, headers=head)
            assert r.status_code == 403, (origin, method, path, r.text)
            assert r.json()["error"]["code"] == "forbidden_origin"
            assert "access-control-allow-origin" not in r.headers and asset["path"] not in r.text
        pre = httpx.options(url + "/sync", headers={**head, "Access-Control-Request-Method": "POST"})
        assert pre.status_code == 403 and "access-control-allow-origin" not in pre.headers
    # a page's request that carries no Origin (an <img> or <script>) is known by Sec-Fetch-Site
    for site in ("same-site", "cross-site"):
        r = httpx.get(f"{url}/assets/{asset['id']}/marks", headers={"Sec-Fetch-Site": site})
        assert r.status_code == 403 and asset["path"] not in r.text
    assert _links_count(plugin_archive["home"]) == before
    # the panel, the review page itself (same origin, or a top-level visit) and scripts still get answers
    panel = httpx.get(f"{url}/assets/{asset['id']}/marks", headers={"Origin": "plugin:com.cogvlm-media.premiere"})
    assert panel.status_code == 200 and panel.json()["asset"]["path"] == asset["path"]
    for head in ({"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}, {"Origin": server.url}, {}):
        r = httpx.get(f"{url}/assets/{asset['id']}/marks", headers=head)
        assert r.status_code == 200 and r.json()["marks"], head


def test_match_answers_only_for_ingested_paths(server, plugin_archive, tmp_path):
    """Issue 13, item 7: /match told an existing file from a missing one for any absolute path (and
    fingerprinted it). Now a path is matched only when it was ingested; for any other the answer is the
    same whether a file is there or not, and the file is never opened."""
    url = f"{server.url}/api/v1/nle/match"
    unreadable = tmp_path / "secret.mp4"
    unreadable.write_bytes(b"s" * 100)
    unreadable.chmod(0)
    ingested = plugin_archive["assets"]["25"]["path"]
    paths = [ingested, plugin_archive["moved"], str(tmp_path / "missing.mp4"), str(unreadable), "/etc/passwd",
             str(tmp_path)]
    rows = httpx.post(url, json={"items": [{"key": str(n), "path": p} for n, p in enumerate(paths)]}).json()["items"]
    assert rows[0]["matched_by"] == "path" and rows[0]["asset"]["id"] == plugin_archive["assets"]["25"]["id"]
    others = [(r["asset"], r["matched_by"], r["message"]) for r in rows[1:]]
    assert others == [(None, None, "not ingested (no asset has this path)")] * (len(paths) - 1)
    # moved media match by the fingerprint the plugin computes itself (plugins/resolve fingerprint.py)
    from cogvlm_media.media.fingerprint import fingerprint

    moved = httpx.post(url, json={"items": [{"fingerprint": fingerprint(plugin_archive["moved"])}]}).json()["items"][0]
    assert moved["matched_by"] == "fingerprint" and moved["asset"]["id"] == plugin_archive["assets"]["25"]["id"]
