"""Every command against one PostgreSQL archive (COGVLM_MEDIA_DB=postgresql+psycopg2://…, a server the test
starts on a unix socket), as separate processes the way several machines would run them: two watch daemons
on one folder, `ingest`, `list`, `show`, `import-markers`, `search` from another node's home, `export`,
`status`, `retry`, two `serve` processes editing one marker at once, and a database outage a daemon
survives while a one-shot command says so in one line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

import mediagen
from pgserver import pg_server_fixture
from serveproc import ServerProcess

pg_server = pg_server_fixture()


class Node:
    """One machine's view: its own home (search index, logs), the shared database."""

    def __init__(self, home: Path, db_url: str) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.env = {"COGVLM_MEDIA_HOME": str(home), "COGVLM_MEDIA_DB": db_url, "COGVLM_MEDIA_CONFIG": "",
                    "XDG_CONFIG_HOME": str(home / "xdg")}

    def popen(self, *args: str, log: Path) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "cogvlm_media", *args], env={**os.environ, **self.env},
                                stdout=open(log, "wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "cogvlm_media", *[str(a) for a in args]],
                              env={**os.environ, **self.env}, capture_output=True, text=True, timeout=timeout)

    def json(self, *args: str) -> dict:
        out = self.run(*args)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)


@pytest.fixture(scope="module")
def archive(pg_server, tmp_path_factory, tone_clip, silent_clip, bad_inputs):
    """Two watch daemons (nodes a and b) on one folder ingest two clips and quarantine a corrupt file."""
    root = tmp_path_factory.mktemp("pg-commands")
    url = pg_server.new_database("cmd")
    a, b = Node(root / "node-a", url), Node(root / "node-b", url)
    watched = root / "watched"
    watched.mkdir()
    for src, name in ((tone_clip.path, "tone.mp4"), (silent_clip.path, "silent.mp4"),
                      (bad_inputs["random_bytes"], "corrupt.mp4")):
        shutil.copy(src, watched / name)
    daemons = [n.popen("watch", str(watched), "--exit-when-idle", "--stable-seconds", "0.5", log=root / f"{i}.log")
               for i, n in enumerate((a, b))]
    for d in daemons:
        assert d.wait(timeout=400) == 0, (root / "0.log").read_text() + (root / "1.log").read_text()
    return dict(a=a, b=b, url=url, watched=watched, root=root)


def test_two_watch_daemons_ingest_each_file_once_and_status_retry(archive):
    a, b = archive["a"], archive["b"]
    status = a.json("status", "--json")
    assert status["counts"]["done"] == 2 and status["counts"]["quarantined"] == 1, status
    assert [Path(r["path"]).name for r in status["quarantined"]] == ["corrupt.mp4"]
    names = sorted(Path(p).name for asset in b.json("list", "--json")["assets"] for p in asset["paths"])
    assert names == ["silent.mp4", "tone.mp4"]
    from sqlalchemy import text

    from cogvlm_media.store.engine import get_engine

    with get_engine(archive["url"]).connect() as conn:
        done = conn.execute(text("SELECT path, count(*) FROM ingest_runs WHERE status = 'done' GROUP BY path")).all()
    assert sorted((Path(p).name, n) for p, n in done) == [("silent.mp4", 1), ("tone.mp4", 1)]
    retried = b.run("retry", "--quarantined")
    assert retried.returncode == 0 and "queued 1" in retried.stdout, retried.stderr
    assert a.json("status", "--json")["counts"]["queued"] == 1


def test_ingest_show_import_search_export_across_nodes(archive, tmp_path):
    a, b = archive["a"], archive["b"]
    clip = mediagen.tone_clip(tmp_path / "third.mp4", frames=60).path
    out = a.run("ingest", clip, "--quiet")
    assert out.returncode == 0, out.stderr
    asset_id = next(x["id"] for x in a.json("list", "--json")["assets"] if any(p.endswith("third.mp4") for p in x["paths"]))
    doc = b.json("show", str(asset_id), "--json")
    assert doc["asset"]["id"] == asset_id and all(mk["revision"] == 1 for mk in doc["markers"])
    marker_list = {"format": "cogvlm-media-markers", "schema_version": 1, "assets": [
        {"id": asset_id, "fps": {"num": 25, "den": 1}, "markers": [
            {"seconds": 1.0, "name": "A red kite circles over the harbour", "note": "", "kind": "moment",
             "duration_frames": 0}]}]}
    (tmp_path / "markers.json").write_text(json.dumps(marker_list))
    imported = a.run("import-markers", tmp_path / "markers.json", "--asset", str(asset_id), "--no-delete")
    assert imported.returncode == 0 and "1 added" in imported.stdout, imported.stderr
    # node b's index was built by its daemon before the import: it catches up from the change log
    found = b.json("search", "kite over a harbour", "--json", "--limit", "3")
    assert (found["hits"][0]["asset_id"], found["hits"][0]["time"]) == (asset_id, 1.0), found
    assert "harbour" in found["hits"][0]["text"]
    check = b.json("reindex", "--check", "--json")
    assert check["ok"] and check["documents"] == check["lexical"] == check["vectors"] > 0
    exported = b.run("export", str(asset_id), "--format", "json", "--output", tmp_path / "out.json")
    assert exported.returncode == 0, exported.stderr
    names = [mk["name"] for entry in json.loads((tmp_path / "out.json").read_text())["assets"]
             for mk in entry["markers"]]
    assert "A red kite circles over the harbour" in names


def test_two_review_servers_one_marker_one_wins_one_conflicts(archive):
    a, b = archive["a"], archive["b"]
    servers = [ServerProcess(n.env, archive["root"] / f"serve-{i}.log") for i, n in enumerate((a, b))]
    try:
        for s in servers:
            s.wait_ready()
        assets = httpx.get(f"{servers[1].url}/api/v1/assets", timeout=10).json()
        items = assets["assets"] if isinstance(assets, dict) else assets
        asset_id = items[0]["id"]
        markers = httpx.get(f"{servers[0].url}/api/v1/assets/{asset_id}/markers", timeout=10).json()["markers"]
        target = markers[0]["id"]
        barrier, results = threading.Barrier(2), {}

        def edit(i: int) -> None:
            barrier.wait()
            r = httpx.patch(f"{servers[i].url}/api/v1/markers/{target}", json={"name": f"editor {i}"}, timeout=30)
            results[i] = (r.status_code, r.json())

        threads = [threading.Thread(target=edit, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(code for code, _ in results.values()) == [200, 409], results
        loser = next(body for code, body in results.values() if code == 409)
        assert loser["error"]["code"] in ("conflict", "superseded"), loser
        winner = next(body for code, body in results.values() if code == 200)["marker"]
        live = httpx.get(f"{servers[1].url}/api/v1/assets/{asset_id}/markers", timeout=10).json()["markers"]
        assert [m["name"] for m in live if m["replaces_id"] == target] == [winner["name"]]
        stale = httpx.patch(f"{servers[1].url}/api/v1/markers/{winner['id']}",
                            json={"name": "late", "revision": winner["revision"] + 1}, timeout=30)
        assert stale.status_code == 409 and stale.json()["error"]["code"] == "conflict"
    finally:
        for s in servers:
            s.stop()


def test_database_outage_daemon_stays_up_and_commands_say_so(archive, pg_server, tone_clip, tmp_path):
    a = archive["a"]
    later = tmp_path / "later"
    later.mkdir()
    log = tmp_path / "daemon.log"
    daemon = a.popen("watch", str(later), "--stable-seconds", "0.5", log=log)
    try:
        deadline = time.monotonic() + 120
        while b"ready" not in log.read_bytes():
            assert daemon.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        pg_server.stop()
        try:
            down = a.run("list")
            assert down.returncode == 1, down.stdout + down.stderr
            lines = down.stderr.strip().splitlines()
            assert len(lines) == 1 and "database" in lines[0] and "unavailable" in lines[0], down.stderr
            deadline = time.monotonic() + 60
            while b"keeps retrying" not in log.read_bytes():
                assert daemon.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        finally:
            pg_server.start()
        deadline = time.monotonic() + 60
        while b"database reachable again" not in log.read_bytes():
            assert daemon.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        shutil.copy(mediagen.tone_clip(tmp_path / "src.mp4", frames=70).path, later / "after.mp4")
        deadline = time.monotonic() + 300
        while "after.mp4" not in json.dumps(a.json("list", "--json")):
            assert daemon.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(1)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
    assert daemon.returncode == 0, log.read_text()
