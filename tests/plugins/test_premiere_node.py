"""CI runs the Premiere panel's Node suite (plugins/premiere/test, Node's built-in test runner) from here,
against a review server this test starts on its own archive. Fails, never skips, when node is missing."""

from __future__ import annotations

import os
import shutil
import subprocess

from pluginkit import ROOT_DIR, Server, build_archive, describe


def test_node_suite_passes_against_the_running_server(tmp_path, media_dir):
    node = shutil.which("node")
    assert node, "node is not installed: apt-get install nodejs (Node 18+), then run the tests again"
    archive = build_archive(tmp_path / "home", media_cache=media_dir)
    server = Server(archive["home"], tmp_path / "server.log").wait_ready()
    try:
        env = {**os.environ, "COGVLM_MEDIA_TEST_ARCHIVE": describe(archive, server.url)}
        run = subprocess.run([node, "--test", "plugins/premiere/test/"], cwd=ROOT_DIR, env=env,
                             capture_output=True, text=True, timeout=240)
    finally:
        server.stop()
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]
    assert "# fail 0" in out and "# pass 0" not in out, out[-3000:]
