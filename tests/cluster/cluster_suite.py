"""A real multi-node Ray cluster on this machine (a head with no CPUs for tasks and two worker nodes of
one CPU and 80 MB of object store each), a real PostgreSQL, real ffmpeg and the bundled models.

Run by test_ray_cluster.py inside a loopback-only network namespace; not collected on its own. Node A
sees the footage through a path mapping (its own config file), node B sees no shared path at all (the
bytes are streamed from the driver's node). Both carry one ``fake_gpu`` resource for the simulated
multi-GPU run. The node-kill test comes last: it removes node A."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

if os.environ.get("COGVLM_NETNS") != "1":
    pytest.skip("run through test_ray_cluster.py (inside a loopback-only network namespace)",
                allow_module_level=True)

import mediagen  # noqa: E402
from cogvlm_media.cluster.connect import node_of  # noqa: E402
from cogvlm_media.cluster.runner import ClusterRunner  # noqa: E402
from cogvlm_media.config import AnalysisSettings, ClusterSettings, ModelSettings, Settings, WatchSettings  # noqa: E402
from cogvlm_media.store import models  # noqa: E402
from cogvlm_media.store.engine import get_engine, read_session  # noqa: E402
from cogvlm_media.store.queue_status import status_document  # noqa: E402
from pgserver import pg_server_fixture  # noqa: E402

pg_server = pg_server_fixture()
MB = 1 << 20
CLI = [sys.executable, "-c", "from cogvlm_media.cli.app import main; main()"]
LINES = (("The quick brown fox jumps over the lazy dog.", "Seven green apples are on the kitchen table."),
         ("Please call Stella and ask her to bring these things.", "A small boat sails across the harbour."),
         ("Bright yellow paint covers the old garden fence.", "The train leaves the station at noon."))


class Nodes:
    def __init__(self, cluster, a, b, root: Path) -> None:
        self.cluster, self.a, self.b, self.root = cluster, a, b, root

    @property
    def address(self) -> str:
        return self.cluster.address


def _config(path: Path, **cluster) -> str:
    import tomli_w

    path.write_text(tomli_w.dumps({"cluster": cluster}))
    return str(path)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    import ray
    from ray.cluster_utils import Cluster

    root = tmp_path_factory.mktemp("cluster")
    footage, mirror = root / "footage", root / "mirror"
    footage.mkdir()
    mirror.mkdir()
    conf_a = _config(root / "a.toml", path_map={str(footage): str(mirror)})
    conf_b = _config(root / "b.toml", same_paths=False)  # sees nothing of the driver's: streamed
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "object_store_memory": 80 * MB})
    a = cluster.add_node(num_cpus=1, object_store_memory=80 * MB, resources={"fake_gpu": 1},
                         env_vars={"COGVLM_MEDIA_CONFIG": conf_a})
    b = cluster.add_node(num_cpus=1, object_store_memory=80 * MB, resources={"fake_gpu": 1},
                         env_vars={"COGVLM_MEDIA_CONFIG": conf_b})
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    try:
        yield Nodes(cluster, a, b, root)
    finally:
        ray.shutdown()
        cluster.shutdown()


def _speech(path: Path, lines, shots=("testsrc2", "smptebars"), frames=(100, 75)) -> Path:
    mediagen.render(path, [mediagen.Segment(s, n) for s, n in zip(shots, frames)], fps="25", size="160x120",
                    audio=[mediagen.Utterance(lines[0], 0.3), mediagen.Utterance(lines[1], 4.0)], keyint=25)
    return path


def _settings(home: Path, url: str, **cluster) -> Settings:
    return Settings(home=home, database_url=url, watch=WatchSettings(lease_seconds=6.0, backoff_seconds=0.5),
                    cluster=ClusterSettings(**cluster))


def _env(home: Path, url: str) -> dict:
    return {**os.environ, "COGVLM_MEDIA_HOME": str(home), "COGVLM_MEDIA_DB": url,
            "XDG_CONFIG_HOME": str(home / "config")}


def _analysed(engine) -> dict[str, int]:
    with read_session(engine) as s:
        rows = s.execute(select(models.IngestRun.path, func.count()).where(models.IngestRun.outcome == "analysed")
                         .group_by(models.IngestRun.path)).all()
    return {Path(p).name: n for p, n in rows}


def _stored_paths(engine) -> list[str]:
    with read_session(engine) as s:
        return sorted(Path(p).name for p in s.scalars(select(models.AssetPath.path)))


def test_only_loopback_in_the_namespace(nodes, pg_server):
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    assert [line.split(":")[1].strip() for line in links.splitlines()] == ["lo"]
    listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=True).stdout.splitlines()
    assert listening  # the head's GCS, the raylets and their workers
    local = [line.split()[3].rsplit(":", 1)[0] for line in listening]
    assert set(local) <= {"127.0.0.1", "[::1]", "[::ffff:127.0.0.1]"}, local


def test_ingest_through_the_cluster_into_postgresql_then_search_and_export(nodes, pg_server, tmp_path):
    url = pg_server.new_database()
    footage = nodes.root / "footage"
    paths = [_speech(footage / f"talk{k}.mp4", LINES[k]) for k in range(2)]
    for p in paths:
        shutil.copy2(p, nodes.root / "mirror" / p.name)  # node A's view of the same storage
    settings = _settings(tmp_path / "driver", url)
    engine = get_engine(url)
    with ClusterRunner(settings, nodes.address) as runner:
        outcomes = runner.ingest_paths(engine, [str(p) for p in paths])
    assert [(o.status, o.outcome) for o in outcomes] == [("done", "analysed")] * 2, [o.error for o in outcomes]
    assert sorted((r.node, r.access) for r in runner.results) == sorted(
        [(nodes.a.node_id, "mapped"), (nodes.b.node_id, "streamed")])
    assert _stored_paths(engine) == ["talk0.mp4", "talk1.mp4"]  # as the driver named them
    with read_session(engine) as s:
        workers = s.scalars(select(models.IngestRun.worker)).all()
    assert sorted(node_of(w) for w in workers) == sorted(n.node_id[:12] for n in (nodes.a, nodes.b))

    env = _env(tmp_path / "driver", url)  # the index the driver kept current as files were stored
    found = subprocess.run([*CLI, "search", "Stella bring things", "--mode", "lexical", "--json"], env=env,
                           capture_output=True, text=True, timeout=300)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)["hits"]
    assert hits and Path(hits[0]["file"]).name == "talk1.mp4"
    edl = tmp_path / "talk0.edl"
    done = subprocess.run([*CLI, "export", str(paths[0]), "--format", "edl-resolve", "-o", str(edl)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "quick brown fox" in edl.read_text().lower()


def _tiny_checkpoint(folder: Path) -> Path:
    import torch

    spec = importlib.util.spec_from_file_location("model_fixtures", Path(__file__).parent.parent / "model" / "conftest.py")
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    from cogvlm_media.model.config import tiny
    from cogvlm_media.model.language import CogVLMVideoForCausalLM
    from cogvlm_media.model.loading import init_random, save_model

    tokenizer = fixtures.make_tokenizer()
    torch.manual_seed(0)
    model = init_random(CogVLMVideoForCausalLM(tiny(vocab_size=len(tokenizer))), seed=0, std=0.1).eval()
    save_model(model, folder, max_shard_bytes=300_000)
    fixtures.make_tokenizer(folder)
    return folder


def test_simulated_gpus_share_the_windows_evenly_and_each_file_is_stored_once(nodes, pg_server, tmp_path):
    url = pg_server.new_database()
    checkpoint = _tiny_checkpoint(tmp_path / "tiny")
    folder = nodes.root / "footage" / "vision"
    folder.mkdir()
    sources = (("testsrc2", "smptebars"), ("mandelbrot", "rgbtestsrc"), ("cellauto", "testsrc"),
               ("smptehdbars", "testsrc2"))
    clips = []
    for k, shots in enumerate(sources):
        clips.append(folder / f"v{k}.mp4")
        mediagen.render(clips[-1], [mediagen.Segment(s, 75) for s in shots], fps="25", size="160x120", keyint=25)
    settings = replace(_settings(tmp_path / "driver", url, gpu_resource="fake_gpu", files_in_flight=2),
                       model=ModelSettings(path=str(checkpoint), device="cpu", batch_size=8, max_new_tokens=4,
                                           linger_seconds=0.2),
                       analysis=AnalysisSettings(window_seconds=3.0))
    engine = get_engine(url)
    with ClusterRunner(settings, nodes.address) as runner:
        assert len(runner.replicas) == 2  # one per fake GPU
        outcomes = runner.ingest_paths(engine, [str(c) for c in clips])
        stats = runner.replica_stats()
    assert [o.status for o in outcomes] == ["done"] * 4, [o.error for o in outcomes]
    per_replica = [sum(s["windows"].values()) for s in stats]
    assert [len(s["windows"]) for s in stats] == [2, 2]  # two files each, round robin
    assert per_replica[0] == per_replica[1] > 0  # the same number of windows (equal clips)
    assert _analysed(engine) == {f"v{k}.mp4": 1 for k in range(4)}
    with read_session(engine) as s:
        captions = s.scalars(select(models.Window.caption)).all()
    assert len(captions) == 8 and all(c is not None for c in captions)  # two windows per clip
    with read_session(engine) as s:
        versions = set(s.scalars(select(models.IngestRun.model_version)))
    assert versions == {runner.model_name}


def test_two_watch_daemons_on_one_folder_store_each_file_once(nodes, pg_server, tmp_path):
    url = pg_server.new_database()
    folder = tmp_path / "incoming"
    folder.mkdir()
    for k in range(3):
        mediagen.render(folder / f"w{k}.mp4", [mediagen.Segment(("testsrc2", "mandelbrot", "cellauto")[k], 50)],
                        fps="25", size="160x120")
    get_engine(url)  # the schema, before two daemons race to create it
    cmd = [*CLI, "watch", str(folder), "--ray", nodes.address, "--exit-when-idle", "--no-probe",
           "--stable-seconds", "0.2"]
    daemons = [subprocess.Popen(cmd, env=_env(tmp_path / f"d{k}", url), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for k in range(2)]
    results = [d.communicate(timeout=400) for d in daemons]
    assert [d.returncode for d in daemons] == [0, 0], [r[1][-2000:] for r in results]
    engine = get_engine(url)
    assert _analysed(engine) == {"w0.mp4": 1, "w1.mp4": 1, "w2.mp4": 1}
    assert _stored_paths(engine) == ["w0.mp4", "w1.mp4", "w2.mp4"]
    with read_session(engine) as s:
        assert s.scalar(select(func.count()).select_from(models.Asset)) == 3
        workers = s.scalars(select(models.IngestRun.worker).where(models.IngestRun.outcome == "analysed")).all()
    assert all(node_of(w) in {nodes.a.node_id[:12], nodes.b.node_id[:12]} for w in workers)  # done on the nodes


def test_head_unavailable_is_one_clear_line_and_local_fallback_only_when_asked(pg_server, tmp_path):
    url = pg_server.new_database()
    clip = tmp_path / "one.mp4"
    mediagen.render(clip, [mediagen.Segment("testsrc2", 25)], fps="25", size="160x120")
    env = _env(tmp_path / "home", url)
    no = subprocess.run([*CLI, "ingest", "-q", "--ray", "127.0.0.1:9", str(clip)], env=env, capture_output=True,
                        text=True, timeout=300)
    assert no.returncode == 1
    assert no.stderr.strip().splitlines() == [
        "error: cannot reach the Ray head at 127.0.0.1:9 (Connection refused); start it with `ray start --head` "
        "or pass --ray-fallback local"]
    assert _stored_paths(get_engine(url)) == []
    yes = subprocess.run([*CLI, "ingest", "-q", "--ray", "127.0.0.1:9", "--ray-fallback", "local", str(clip)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert yes.returncode == 0, yes.stderr
    assert "running locally" in yes.stderr
    assert _stored_paths(get_engine(url)) == ["one.mp4"]


def test_a_worker_node_killed_mid_file_is_finished_elsewhere_exactly_once(nodes, pg_server, tmp_path):
    url = pg_server.new_database()
    folder = nodes.root / "footage" / "kill"
    folder.mkdir()
    paths = [_speech(folder / f"k{k}.mp4", LINES[k], frames=(150, 150)) for k in range(2)]
    for p in paths:
        (nodes.root / "mirror" / "kill").mkdir(exist_ok=True)
        shutil.copy2(p, nodes.root / "mirror" / "kill" / p.name)
    settings = _settings(tmp_path / "driver", url)
    engine = get_engine(url)
    victim = nodes.a.node_id[:12]
    box: dict = {}
    with ClusterRunner(settings, nodes.address) as runner:
        thread = threading.Thread(target=lambda: box.update(out=runner.ingest_paths(engine, [str(p) for p in paths])))
        thread.start()
        claimed = None
        deadline = time.monotonic() + 240
        while claimed is None and time.monotonic() < deadline:  # the deterministic point: A holds a run
            with read_session(engine) as s:
                running = select(models.IngestRun.id).where(models.IngestRun.status == "running")
                claimed = s.scalars(running.where(models.IngestRun.worker.like(f"%/ray-{victim}:%"))).first()
            if claimed is None:
                time.sleep(0.05)
        assert claimed is not None, "node A never claimed a run"
        running = status_document(engine)["running"]  # what `cogvlm-media status` shows meanwhile
        assert [node_of(r["worker"]) for r in running if r["id"] == claimed] == [victim]
        nodes.cluster.remove_node(nodes.a, allow_graceful=False)
        thread.join(timeout=400)
        assert not thread.is_alive()
    assert [(o.status, o.outcome) for o in box["out"]] == [("done", "analysed")] * 2
    assert runner.resubmitted == 1
    assert _analysed(engine) == {"k0.mp4": 1, "k1.mp4": 1}
    assert _stored_paths(engine) == ["k0.mp4", "k1.mp4"]
    with read_session(engine) as s:
        run = s.get(models.IngestRun, claimed)
        assets = s.scalar(select(func.count()).select_from(models.Asset))
        markers = s.execute(select(models.Marker.asset_id, func.count()).group_by(models.Marker.asset_id)).all()
    assert (run.status, run.attempts, node_of(run.worker)) == ("done", 2, nodes.b.node_id[:12])
    assert assets == 2 and len(markers) == 2  # nothing half-written, nothing twice
