"""Cluster ingest benchmark (issue 17): single-process ingest vs the same files through a Ray cluster of
1 and 2 worker nodes on this machine, into one PostgreSQL (Debian's server, started here).

    python bench/cluster.py [--files 6] [--seconds 20] [--node-cpus 1]

Re-executes itself inside a loopback-only network namespace (``unshare -n``; root), as the tests do: Ray
probes a public DNS address and may bind the machine's own address. Each mode first ingests one warm-up
file (model loading in the worker processes is not per-file cost), then ``--files`` distinct clips
(espeak-ng speech over lavfi shots, 320x180). Reports wall seconds, files per minute, and the cluster's
overhead per file against the single-process ingest: (cluster s/file with 1 node - local s/file) /
local s/file (noisy on a shared machine), and the cluster's own cost per file measured on files already
known (no analysis: dispatch, claim on the node, result back) as a share of a local analysed file. On 2 cores shared with other work, 2 nodes are not expected to be faster.
Writes bench/results/cluster-<UTC time>.json. bench/cluster_gpu.py reuses this harness for GPUs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))  # pgserver.py: the test suite's PostgreSQL starter

RESULTS = HERE / "results"
CACHE = HERE / "cache" / "cluster"
MB = 1 << 20
WARM = 2  # warm-up files (one per worker node at most): model loading is not per-file cost
WORDS = ("river market morning camera light window garden people station train evening story weather city "
         "road music table coffee paper letter bridge harbour mountain forest school office kitchen").split()


def in_namespace(argv: list[str]) -> None:
    """Run this script again under ``unshare -n`` with only loopback up, unless already there."""
    if os.environ.get("COGVLM_NETNS") == "1":
        return
    env = {**os.environ, "COGVLM_NETNS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    inner = f"ip link set lo up && exec {sys.executable} {' '.join(argv)}"
    raise SystemExit(subprocess.run(["unshare", "-n", "sh", "-c", inner], env=env).returncode)


def clips(count: int, seconds: float, size: str = "320x180") -> list[Path]:
    from cogvlm_media.media.sample import Segment, Utterance, render

    CACHE.mkdir(parents=True, exist_ok=True)
    out = []
    shots = ("testsrc2", "smptebars", "mandelbrot", "rgbtestsrc", "cellauto")
    for k in range(count + WARM):  # the first WARM are warm-up files
        path = CACHE / f"c{k}-{seconds:g}s.mp4"
        if not path.exists():
            frames = int(seconds * 25)
            segs = [Segment(shots[(k + j) % len(shots)], frames // 3) for j in range(3)]
            words = [WORDS[(k * 7 + j) % len(WORDS)] for j in range(8)]
            speech = [Utterance(f"Clip {k} " + " ".join(words) + ".", 0.5),
                      Utterance(" ".join(reversed(words)).capitalize() + ".", seconds / 2)]
            render(path, segs, fps="25", size=size, audio=speech, keyint=50)
        out.append(path)
    return out


def local_run(url: str, home: Path, paths: list[Path]) -> float:
    from cogvlm_media.config import Settings
    from cogvlm_media.ingest import ingest_paths
    from cogvlm_media.store.engine import get_engine

    settings = Settings(home=home, database_url=url)
    engine = get_engine(url)
    ingest_paths(engine, settings, [str(paths[0])])  # warm-up
    started = time.perf_counter()
    outcomes = ingest_paths(engine, settings, [str(p) for p in paths[WARM:]])
    elapsed = time.perf_counter() - started
    assert all(o.status == "done" for o in outcomes), [o.error for o in outcomes]
    started = time.perf_counter()  # the same files again: already known, only the per-file machinery
    again = ingest_paths(engine, settings, [str(p) for p in paths[WARM:]])
    known = time.perf_counter() - started
    assert all(o.outcome == "unchanged" for o in again)
    return elapsed, known


def start_cluster(nodes: int, node_cpus: int, gpus_per_node: int = 0, fake_gpus_per_node: int = 0):
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "object_store_memory": 100 * MB})
    for _ in range(nodes):
        extra = {"resources": {"fake_gpu": fake_gpus_per_node}} if fake_gpus_per_node else {}
        cluster.add_node(num_cpus=node_cpus, num_gpus=gpus_per_node, object_store_memory=100 * MB, **extra)
    cluster.wait_for_nodes()
    return cluster


def cluster_run(url: str, home: Path, paths: list[Path], address: str, settings=None) -> tuple[float, dict]:
    from cogvlm_media.cluster.runner import ClusterRunner
    from cogvlm_media.config import Settings
    from cogvlm_media.store.engine import get_engine

    settings = settings or Settings(home=home, database_url=url)
    engine = get_engine(url)
    with ClusterRunner(settings, address) as runner:
        # warm-up: one file per CPU slot (up to WARM), so every worker process has loaded its models
        runner.ingest_paths(engine, [str(p) for p in paths[:min(WARM, runner.files_in_flight)]])
        started = time.perf_counter()
        outcomes = runner.ingest_paths(engine, [str(p) for p in paths[WARM:]])
        elapsed = time.perf_counter() - started
        started = time.perf_counter()  # the same files again: already known, only the per-file machinery
        again = runner.ingest_paths(engine, [str(p) for p in paths[WARM:]])
        known = time.perf_counter() - started
        assert all(o.outcome == "unchanged" for o in again)
        info = {"known_files_seconds_per_file": round(known / len(again), 4), "files_in_flight": runner.files_in_flight, "replicas": len(runner.replicas),
                "replica_stats": runner.replica_stats() if runner.replicas else []}
    assert all(o.status == "done" for o in outcomes), [o.error for o in outcomes]
    return elapsed, info


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--node-cpus", type=int, default=1)
    args = ap.parse_args()
    in_namespace([str(Path(__file__).resolve()), *sys.argv[1:]])
    import ray
    from pgserver import postgres_server

    paths = clips(args.files, args.seconds)
    result = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "ray": ray.__version__},
              "files": args.files, "clip_seconds": args.seconds, "node_cpus": args.node_cpus}
    with postgres_server() as pg:
        tmp = Path(pg.root)
        local, known = local_run(pg.new_database(), tmp / "local", paths)
        result["local"] = {"seconds": round(local, 2), "seconds_per_file": round(local / args.files, 3),
                           "known_files_seconds_per_file": round(known / args.files, 4)}
        for nodes in (1, 2):
            cluster = start_cluster(nodes, args.node_cpus)
            try:
                ray.init(address=cluster.address, log_to_driver=False)
                elapsed, info = cluster_run(pg.new_database(), tmp / f"c{nodes}", paths, cluster.address)
            finally:
                ray.shutdown()
                cluster.shutdown()
            result[f"nodes_{nodes}"] = {"seconds": round(elapsed, 2), "seconds_per_file": round(elapsed / args.files, 3),
                                        "files_per_minute": round(60 * args.files / elapsed, 2), **info}
    per_local = result["local"]["seconds_per_file"]
    result["overhead_per_file_1_node"] = round((result["nodes_1"]["seconds_per_file"] - per_local) / per_local, 4)
    # the cluster's own cost per file (dispatch, claim on the node, result back), measured on files that
    # are already known (no analysis), against the single-process ingest's time per analysed file
    dispatch = result["nodes_1"]["known_files_seconds_per_file"] - result["local"]["known_files_seconds_per_file"]
    result["dispatch_seconds_per_file"] = round(dispatch, 4)
    result["dispatch_share_of_local_file"] = round(dispatch / per_local, 4)
    result["speedup_2_vs_1_nodes"] = round(result["nodes_1"]["seconds"] / result["nodes_2"]["seconds"], 3)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"cluster-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
