"""The media route never follows a symlink swapped after ingest (issue 13, item 6).

Before, an ingested ``lnk/v.mp4`` re-pointed at another file of the same size served that file's
bytes. Ingest records the resolved target's inode, size and mtime; the server serves a path only while
its target still matches them, and re-fingerprints only when they differ (a restored identical copy is
served again)."""

from __future__ import annotations

import os
import shutil

from fastapi.testclient import TestClient

from cogvlm_media.config import Settings
from cogvlm_media.store.engine import get_engine

BASE = "http://127.0.0.1:8765"


def test_a_swapped_symlink_target_is_refused(tmp_path, silent_clip):
    from cogvlm_media.ingest import ingest_paths
    from cogvlm_media.server.app import create_app

    real, lnk = tmp_path / "real", tmp_path / "lnk"
    real.mkdir()
    lnk.mkdir()
    original = real / "v.mp4"
    shutil.copy(silent_clip.path, original)
    os.symlink(original, lnk / "v.mp4")
    settings = Settings(home=tmp_path / "home")
    engine = get_engine(settings.db_url)
    (outcome,) = ingest_paths(engine, settings, [str(lnk / "v.mp4")])
    assert outcome.status == "done", outcome.error
    data = original.read_bytes()
    other = bytearray(data)
    other[len(other) // 2] ^= 0xFF  # same size, different bytes
    (real / "other.mp4").write_bytes(bytes(other))
    url = f"/api/v1/assets/{outcome.asset_id}/media"
    with TestClient(create_app(settings, engine), base_url=BASE) as client:
        assert client.get(url).content == data
        os.unlink(lnk / "v.mp4")
        os.symlink(real / "other.mp4", lnk / "v.mp4")  # re-pointed after ingest
        r = client.get(url)
        assert r.status_code == 404, (r.status_code, r.content == bytes(other))
        assert r.json()["error"]["code"] == "media_missing" and "changed" in r.json()["error"]["message"]
        assert client.get(f"/api/v1/assets/{outcome.asset_id}/thumbnail?t=0.5").status_code == 404
        # the same footage again under a new inode (restored from a backup): re-fingerprinted, served
        shutil.copy(original, real / "restored.mp4")
        os.unlink(lnk / "v.mp4")
        os.symlink(real / "restored.mp4", lnk / "v.mp4")
        r = client.get(url)
        assert r.status_code == 200 and r.content == data
        with open(real / "restored.mp4", "r+b") as fh:  # now edited in place, same size: refused again
            fh.seek(len(data) // 2)
            fh.write(bytes([data[len(data) // 2] ^ 0xFF]))
        assert client.get(url).status_code == 404
