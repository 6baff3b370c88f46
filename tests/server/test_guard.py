"""The guard: localhost only without a token, the token on every request with one, same-origin writes,
path traversal attempts refused, and the page loading nothing from elsewhere."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serverkit import marker_rows
from typer.testing import CliRunner

from cogvlm_media.cli.app import app as cli_app
from cogvlm_media.server.app import STATIC, InsecureBind, create_app

TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def token_client(archive):
    settings = replace(archive.settings, server=replace(archive.settings.server, host="0.0.0.0", token=TOKEN))
    with TestClient(create_app(settings, archive.engine), base_url="http://192.0.2.10:8765") as c:
        yield c


def test_foreign_host_header_refused_without_token(client):
    for host in ("evil.example", "192.0.2.10:8765", "localhost.evil.example"):
        r = client.get("/api/v1/assets", headers={"host": host})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden_host", host
    for host in ("localhost:8765", "127.0.0.1", "[::1]:8765"):
        assert client.get("/api/v1/health", headers={"host": host}).status_code == 200, host


def test_token_required_on_every_request(token_client, archive):
    for url in ("/", "/api/v1/assets", f"/api/v1/assets/{archive.speech}/media", "/static/app.js",
                "/api/v1/openapi.json"):
        r = token_client.get(url)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized", url
    assert token_client.get("/api/v1/assets", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert token_client.get("/api/v1/assets", params={"token": TOKEN[:-1]}).status_code == 401
    ok = token_client.get("/api/v1/assets", headers={"authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    page = token_client.get("/", params={"token": TOKEN})  # opening the page with ?token= sets a cookie
    assert page.status_code == 200 and "HttpOnly" in page.headers["set-cookie"]
    assert token_client.get(f"/api/v1/assets/{archive.speech}/thumbnail").status_code == 200  # cookie now
    token_client.cookies.clear()
    assert token_client.get("/api/v1/assets").status_code == 401


def test_non_loopback_bind_needs_a_token(archive):
    open_bind = replace(archive.settings, server=replace(archive.settings.server, host="0.0.0.0", token=""))
    with pytest.raises(InsecureBind):
        create_app(open_bind, archive.engine)
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--port", "0"], env=archive.env)
    assert result.exit_code == 2 and "needs a token (--token, [server] token" in result.output  # escaped once
    short = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--token", "abc"], env=archive.env)
    assert short.exit_code == 2


def test_cross_origin_writes_refused(client, archive):
    mk = client.get(f"/api/v1/assets/{archive.speech}/markers").json()["markers"][0]
    before = marker_rows(archive.engine)
    for origin in ("http://evil.example", "http://127.0.0.1:9999", "null"):
        r = client.patch(f"/api/v1/markers/{mk['id']}", json={"name": "pwned"}, headers={"origin": origin})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden_origin", origin
        assert client.delete(f"/api/v1/markers/{mk['id']}", headers={"origin": origin}).status_code == 403
    assert marker_rows(archive.engine) == before
    same = client.get(f"/api/v1/markers/{mk['id']}", headers={"origin": "http://evil.example"})
    assert same.status_code == 200  # reads are not writes (and no CORS header lets a page read them)
    assert "access-control-allow-origin" not in same.headers


@pytest.mark.parametrize("url", [
    "/static/%2e%2e/app.py", "/static/%2e%2e%2f%2e%2e%2fconfig.py", "/static/..%2fapp.py", "/static/..%2F..%2Fconfig.py",
    "/static/%252e%252e/app.py", "/static//etc/passwd", "/static/%2fetc%2fpasswd", "/static/..\\app.py",
    "/static/%5c..%5capp.py", "/api/v1/assets/..%2F..%2Fetc%2Fpasswd/media", "/api/v1/assets/%2Fetc%2Fpasswd/media",
    "/api/v1/assets/1/export/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/api/v1/assets/1/thumbnail?size=../../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd", "/static/%00app.js",
])
def test_path_traversal_refused(client, url):
    r = client.get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code)
    assert b"root:" not in r.content and b"def create_app" not in r.content and b"class Settings" not in r.content
    assert client.get("/api/v1/health").status_code == 200


def test_page_loads_nothing_from_elsewhere():
    files = [p for p in Path(STATIC).rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"index.html", "app.js", "asset.js", "search.js", "api.js", "style.css"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), path
        assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//|fonts\.googleapis|cdn\.", text), path
        assert "http://" not in text and "https://" not in text, path
