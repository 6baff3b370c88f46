"""Assets, queue status, search and exports through the ASGI test client."""

from __future__ import annotations

import io
import json

import opentimelineio as otio
import pytest
from typer.testing import CliRunner

from cogvlm_media.cli.app import app as cli_app
from cogvlm_media.export.formats import all_formats


def cli(archive, *args):
    return CliRunner().invoke(cli_app, list(args), env=archive.env, catch_exceptions=False)


def test_health_and_asset_list(client, archive):
    assert client.get("/api/v1/health").json()["ok"] is True
    doc = client.get("/api/v1/assets").json()
    by_id = {a["id"]: a for a in doc["assets"]}
    assert doc["count"] == 2 and set(by_id) == {archive.speech, archive.gone}
    assert by_id[archive.speech]["name"] == "speech clip.mp4" and by_id[archive.speech]["media_available"] is True
    assert by_id[archive.gone]["media_available"] is False
    assert by_id[archive.speech]["markers"] >= 4 and by_id[archive.speech]["scenes"] == 1


def test_asset_detail_is_the_show_json_contract(client, archive):
    shown = cli(archive, "show", str(archive.speech), "--json")
    assert shown.exit_code == 0, shown.output
    served = client.get(f"/api/v1/assets/{archive.speech}")
    assert served.status_code == 200
    assert served.json() == json.loads(shown.stdout)
    assert served.json()["schema_version"] == 1 and len(served.json()["shots"]) == 2


def test_asset_ingest_status_and_missing_media(client, archive):
    ok = client.get(f"/api/v1/assets/{archive.speech}/status").json()
    assert ok["media"]["available"] and ok["runs"][0]["status"] == "done" and ok["runs"][0]["outcome"] == "analysed"
    gone = client.get(f"/api/v1/assets/{archive.gone}/status").json()
    assert gone["media"]["available"] is False and "missing" in gone["media"]["error"]
    assert "gone.mp4" in gone["media"]["error"]
    # the rest of that asset still works: its document and markers
    assert client.get(f"/api/v1/assets/{archive.gone}").status_code == 200
    assert client.get(f"/api/v1/assets/{archive.gone}/markers").status_code == 200


def test_queue_status_is_the_status_json_document(client, archive):
    served = client.get("/api/v1/status", params={"limit": 50}).json()
    printed = json.loads(cli(archive, "status", "--json", "--limit", "50").stdout)
    assert served == printed
    failed = served["quarantined"] + served["retrying"]
    assert any(r["path"].endswith("corrupt.mp4") and r["error"] for r in failed), served
    assert served["counts"]["done"] >= 2


@pytest.mark.parametrize("url", ["/api/v1/assets/999", "/api/v1/assets/999/status", "/api/v1/assets/999/markers",
                                 "/api/v1/assets/999/media", "/api/v1/assets/999/thumbnail",
                                 "/api/v1/assets/999/export/otio", "/api/v1/markers/999999", "/api/v1/nothing"])
def test_unknown_ids_are_404_json(client, url):
    r = client.get(url)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]["code"] == "not_found" and r.json()["error"]["message"]


@pytest.mark.parametrize("ref", ["abc", "0", "-1", "1.5", "99999999999999999999999", "%20", "1%00"])
def test_malformed_ids_are_4xx_json(client, ref):
    for url in (f"/api/v1/assets/{ref}", f"/api/v1/markers/{ref}", f"/api/v1/assets/{ref}/media"):
        r = client.get(url)
        assert 400 <= r.status_code < 500 and "error" in r.json(), (url, r.status_code, r.text)


def test_search_matches_the_cli(client, archive):
    served = client.get("/api/v1/search", params={"q": "kitchen table", "limit": 5}).json()
    printed = json.loads(cli(archive, "search", "kitchen table", "--limit", "5", "--json").stdout)
    assert served["count"] > 0
    strip = lambda hits: [{k: v for k, v in h.items() if k not in ("name", "thumbnail")} for h in hits]  # noqa: E731
    assert strip(served["hits"]) == printed["hits"]  # same ranking, same scores
    assert {k: v for k, v in served.items() if k != "hits"} == {k: v for k, v in printed.items() if k != "hits"}
    top = served["hits"][0]
    assert top["asset_id"] == archive.speech and 12.0 < top["time"] < 17.0
    assert top["name"] == "speech clip.mp4" and top["thumbnail"].startswith(f"/api/v1/assets/{archive.speech}/thumbnail?t=")


def test_search_filters(client, archive):
    only = client.get("/api/v1/search", params=[("q", "kitchen"), ("kind", "transcript")]).json()
    assert only["hits"] and {h["kind"] for h in only["hits"]} == {"transcript"}
    assert only["filters"]["kinds"] == ["transcript"]
    other = client.get("/api/v1/search", params=[("q", "kitchen"), ("asset", archive.gone)]).json()
    assert all(h["asset_id"] == archive.gone for h in other["hits"])
    lexical = client.get("/api/v1/search", params={"q": "kitchen", "mode": "lexical"}).json()
    assert lexical["mode"] == "lexical" and all("lexical" in h["matched"] for h in lexical["hits"])


@pytest.mark.parametrize("params,status", [
    ({}, 422), ({"q": ""}, 422), ({"q": "   "}, 422), ({"q": "x" * 501}, 422), ({"q": "a", "limit": 0}, 422),
    ({"q": "a", "limit": 101}, 422), ({"q": "a", "limit": "ten"}, 422), ({"q": "a", "kind": "bogus"}, 422),
    ({"q": "a", "mode": "fuzzy"}, 422), ({"q": "a", "asset": 424242}, 404), ({"q": "a", "asset": "x"}, 422),
])
def test_search_bad_input(client, params, status):
    r = client.get("/api/v1/search", params=params)
    assert r.status_code == status and r.json()["error"]["message"], r.text


def test_every_export_format_downloads(client, archive):
    names = {f["name"] for f in client.get("/api/v1/exports").json()["formats"]}
    assert names == {spec.name for spec in all_formats()}
    for spec in all_formats():
        name = spec.name
        r = client.get(f"/api/v1/assets/{archive.speech}/export/{name}")
        if name == "youtube":  # YouTube's rules cannot be met by an 18 s clip: said, not a broken file
            assert r.status_code == 422 and "at least 3 chapters" in r.json()["error"]["message"]
            continue
        assert r.status_code == 200, (name, r.text)
        assert r.headers["content-disposition"] == f'attachment; filename="speech clip{spec.suffix}"'
        assert r.content and isinstance(json.loads(r.headers["x-export-notes"]), list)
    timeline = otio.adapters.read_from_string(client.get(f"/api/v1/assets/{archive.speech}/export/otio").text,
                                              adapter_name="otio_json")
    clip = next(iter(timeline.find_clips()))
    live = client.get(f"/api/v1/assets/{archive.speech}/markers").json()["markers"]
    assert len(clip.markers) == len(live)
    fcp = otio.adapters.read_from_string(client.get(f"/api/v1/assets/{archive.speech}/export/fcp7xml").text,
                                         adapter_name="fcp_xml")
    # one clip on the video track and, the clip having sound, one on the audio track
    assert [(t.kind, len(list(t.find_clips()))) for t in fcp.tracks] == [("Video", 1), ("Audio", 1)]
    only = client.get(f"/api/v1/assets/{archive.speech}/export/csv", params={"kind": "scene"}).text
    assert len([line for line in io.StringIO(only) if line.strip()]) == 2  # header + the one scene


def test_timeline_of_several_assets(client, archive):
    r = client.get("/api/v1/export/otio", params=[("asset", archive.speech), ("asset", archive.gone)])
    assert r.status_code == 200 and r.headers["content-disposition"].endswith('timeline.otio"')
    timeline = otio.adapters.read_from_string(r.text, adapter_name="otio_json")
    assert len(list(timeline.video_tracks()[0].find_clips())) == 2  # the audio track holds those with sound


@pytest.mark.parametrize("url,status", [
    ("/api/v1/assets/{a}/export/docx", 404), ("/api/v1/assets/{a}/export/..%2F..%2Fetc%2Fpasswd", 404),
    ("/api/v1/assets/{a}/export/otio?kind=bogus", 422), ("/api/v1/assets/{a}/export/otio?start_tc=25:99:99:99", 422),
    ("/api/v1/assets/{a}/export/otio?collisions=explode", 422), ("/api/v1/export/otio", 422),
    ("/api/v1/export/vtt?asset={a}&asset={a}", 422), ("/api/v1/export/otio?asset=31337", 404),
])
def test_export_bad_input(client, archive, url, status):
    r = client.get(url.format(a=archive.speech))
    assert r.status_code == status and r.json()["error"]["message"], r.text


def test_openapi_and_pages(client):
    spec = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/assets", "/api/v1/assets/{asset_id}", "/api/v1/assets/{asset_id}/markers",
                 "/api/v1/markers/{marker_id}", "/api/v1/search", "/api/v1/exports",
                 "/api/v1/assets/{asset_id}/export/{fmt}", "/api/v1/assets/{asset_id}/media",
                 "/api/v1/assets/{asset_id}/thumbnail", "/api/v1/status"):
        assert path in spec["paths"], path
    assert set(spec["paths"]["/api/v1/markers/{marker_id}"]) == {"get", "patch", "delete"}
    page = client.get("/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/api").status_code == 200
    for name in ("app.js", "api.js", "search.js", "asset.js", "style.css", "apidoc.js"):
        assert client.get(f"/static/{name}").status_code == 200, name
