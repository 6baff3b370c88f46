"""Server fixtures: one small archive built through the public ingest path (a speech clip, a clip whose
file is then removed, and a corrupt file that lands in the queue with a reason) and the app under the
ASGI test client. Helpers live in serverkit.py."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cogvlm_media.config import Settings  # noqa: E402
from cogvlm_media.store.engine import get_engine  # noqa: E402

BASE = "http://127.0.0.1:8765"


@dataclass
class Archive:
    settings: Settings
    engine: object
    speech: int  # asset id of the speech clip (markers, transcript, two shots)
    gone: int  # asset id whose media file was removed after ingest
    speech_path: Path
    env: dict[str, str]  # environment for a CLI or server subprocess on this archive


@pytest.fixture(scope="session")
def archive(tmp_path_factory, speech_clip, silent_clip, bad_inputs) -> Archive:
    from cogvlm_media.ingest import ingest_paths

    home = tmp_path_factory.mktemp("server-archive")
    media = home / "media"
    media.mkdir()
    speech = media / "speech clip.mp4"  # a space in the name: URLs and downloads must cope
    gone = media / "gone.mp4"
    corrupt = media / "corrupt.mp4"
    shutil.copy(speech_clip.path, speech)
    shutil.copy(silent_clip.path, gone)
    shutil.copy(bad_inputs["random_bytes"], corrupt)
    settings = Settings(home=home)
    engine = get_engine(settings.db_url)
    outcomes = ingest_paths(engine, settings, [str(speech), str(gone), str(corrupt)])
    by_path = {o.path: o for o in outcomes}
    assert by_path[str(speech)].status == "done", by_path[str(speech)].error
    assert by_path[str(gone)].status == "done", by_path[str(gone)].error
    assert by_path[str(corrupt)].status != "done"
    gone.unlink()  # moved away after ingest: the server must say so for this asset only
    env = {"COGVLM_MEDIA_HOME": str(home), "COGVLM_MEDIA_DB": "", "COGVLM_MEDIA_CONFIG": "",
           "XDG_CONFIG_HOME": str(home / "xdg")}
    return Archive(settings, engine, by_path[str(speech)].asset_id, by_path[str(gone)].asset_id, speech, env)


@pytest.fixture(scope="session")
def client(archive) -> TestClient:
    from cogvlm_media.server.app import create_app

    with TestClient(create_app(archive.settings, archive.engine), base_url=BASE) as c:
        yield c
