"""Plugin tests: one archive (four frame rates) and one review server subprocess per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for p in (HERE, ROOT / "plugins" / "resolve"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from pluginkit import Server, build_archive  # noqa: E402


@pytest.fixture(scope="session")
def plugin_archive(tmp_path_factory, media_dir) -> dict:
    return build_archive(tmp_path_factory.mktemp("plugin-archive"), media_cache=media_dir)


@pytest.fixture(scope="session")
def server(plugin_archive, tmp_path_factory):
    srv = Server(plugin_archive["home"], tmp_path_factory.mktemp("plugin-server") / "server.log").wait_ready()
    yield srv
    srv.stop()
