"""Media streaming with range requests and thumbnails made once by ffmpeg, by asset id only."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from cogvlm_media.server import media as media_module


def test_full_and_ranged_media(client, archive):
    data = archive.speech_path.read_bytes()
    full = client.get(f"/api/v1/assets/{archive.speech}/media")
    assert full.status_code == 200 and full.content == data
    assert full.headers["content-type"] == "video/mp4" and full.headers["accept-ranges"] == "bytes"
    part = client.get(f"/api/v1/assets/{archive.speech}/media", headers={"range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = client.get(f"/api/v1/assets/{archive.speech}/media", headers={"range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == data[-50:]
    rest = client.get(f"/api/v1/assets/{archive.speech}/media", headers={"range": f"bytes={len(data) - 10}-"})
    assert rest.status_code == 206 and rest.content == data[-10:]
    head = client.head(f"/api/v1/assets/{archive.speech}/media")
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) == len(data)


@pytest.mark.parametrize("header,status", [("bytes=999999999-", 416), ("bytes=abc", 400), ("items=0-1", 400),
                                           ("bytes=-", 400), ("bytes=50-10", 400)])
def test_bad_ranges(client, archive, header, status):
    r = client.get(f"/api/v1/assets/{archive.speech}/media", headers={"range": header})
    assert r.status_code == status and r.json()["error"]["message"], r.text


def test_media_ignores_paths_in_the_request(client, archive):
    for extra in ("?path=/etc/passwd", "?file=../../etc/passwd", "?path=%2Fetc%2Fpasswd"):
        r = client.get(f"/api/v1/assets/{archive.speech}/media{extra}", headers={"range": "bytes=0-15"})
        assert r.status_code == 206 and r.content == archive.speech_path.read_bytes()[:16]


def test_missing_media_is_a_clear_error_on_that_asset(client, archive):
    for url in (f"/api/v1/assets/{archive.gone}/media", f"/api/v1/assets/{archive.gone}/thumbnail?t=1"):
        r = client.get(url)
        assert r.status_code == 404 and r.json()["error"]["code"] == "media_missing", r.text
        assert "gone.mp4" in r.json()["error"]["message"]
    assert client.get(f"/api/v1/assets/{archive.speech}/thumbnail?t=1").status_code == 200  # the rest works


def test_thumbnails_small_and_large_made_once(client, archive, monkeypatch):
    calls = []
    real = media_module.make_thumbnail
    monkeypatch.setattr(media_module, "make_thumbnail", lambda *a, **k: (calls.append(a), real(*a, **k)))
    sizes = {}
    for size, width in (("small", 192), ("large", 640)):
        r = client.get(f"/api/v1/assets/{archive.speech}/thumbnail", params={"t": 10.02, "size": size})
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg", r.text
        assert r.headers["x-thumbnail-frame"] == "250"  # snapped to the asset's frame
        image = Image.open(io.BytesIO(r.content))
        assert image.format == "JPEG" and image.width == width
        sizes[size] = image.size
    assert len(calls) == 2
    cached = sorted((archive.settings.home / "thumbnails").rglob("*-00000250.jpg"))
    assert [p.name for p in cached] == ["large-00000250.jpg", "small-00000250.jpg"]
    again = client.get(f"/api/v1/assets/{archive.speech}/thumbnail", params={"t": 10.01, "size": "large"})
    assert again.status_code == 200 and len(calls) == 2  # same frame: served from the cache, no ffmpeg
    assert Image.open(io.BytesIO(again.content)).size == sizes["large"]


def test_thumbnail_at_the_last_frame(client, archive):
    r = client.get(f"/api/v1/assets/{archive.speech}/thumbnail", params={"t": 18.0})
    assert r.status_code == 200 and r.headers["x-thumbnail-frame"] == "449"


@pytest.mark.parametrize("params", [{"t": -1}, {"t": 18.5}, {"t": "nan"}, {"t": "inf"}, {"t": "x"},
                                    {"size": "huge"}, {"size": "../../x"}])
def test_thumbnail_bad_input(client, archive, params):
    r = client.get(f"/api/v1/assets/{archive.speech}/thumbnail", params=params)
    assert r.status_code == 422 and r.json()["error"]["message"], r.text
