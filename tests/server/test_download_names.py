"""Download names from odd file names (issue 13, item 8): a newline in a file name broke every export
download (h11 rejects the ``Content-Disposition`` header). Now a newline or tab is a space, other
control characters are dropped, and a name that is not plain ASCII is sent as RFC 6266 ``filename*``
with an ASCII fallback."""

from __future__ import annotations

import os
import shutil
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from cogvlm_media.config import Settings
from cogvlm_media.server.disposition import content_disposition
from cogvlm_media.store.engine import get_engine

BASE = "http://127.0.0.1:8765"


@pytest.mark.parametrize("name,header", [
    ("clip.mp4", 'attachment; filename="clip.mp4"'),
    ("new\nline.txt", 'attachment; filename="new line.txt"'),
    ("tab\tand\x00nul\x7f.edl", 'attachment; filename="tab andnul.edl"'),
    ('say "hi".csv', "attachment; filename=\"say _hi_.csv\"; filename*=UTF-8''say%20%22hi%22.csv"),
    ("café 😀.txt", "attachment; filename=\"caf_ _.txt\"; filename*=UTF-8''caf%C3%A9%20%F0%9F%98%80.txt"),
    (os.fsdecode(b"caf\xe9.txt"), "attachment; filename=\"caf_xe9.txt\"; filename*=UTF-8''caf%5Cxe9.txt"),
])
def test_header_values(name, header):
    assert content_disposition(name) == header


def test_an_export_of_a_file_named_with_a_newline_downloads(tmp_path, silent_clip):
    from cogvlm_media.ingest import ingest_paths
    from cogvlm_media.server.app import create_app

    odd = tmp_path / "take\n2 é.mp4"
    shutil.copy(silent_clip.path, odd)
    settings = Settings(home=tmp_path / "home")
    engine = get_engine(settings.db_url)
    (outcome,) = ingest_paths(engine, settings, [str(odd)])
    assert outcome.status == "done", outcome.error
    with TestClient(create_app(settings, engine), base_url=BASE) as client:
        for url, suffix in ((f"/api/v1/assets/{outcome.asset_id}/export/csv", ".markers.csv"),
                            (f"/api/v1/assets/{outcome.asset_id}/export/edl", ".edl"),
                            (f"/api/v1/assets/{outcome.asset_id}/media", ".mp4")):
            r = client.get(url)
            assert r.status_code == 200, (url, r.text[:200])
            value = r.headers["content-disposition"]
            assert not any(ord(c) < 32 for c in value), value
            assert unquote(value.split("filename*=UTF-8''")[1]) == f"take 2 é{suffix}", value
