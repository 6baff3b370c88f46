"""The cluster benchmark for GPUs (issue 18): the same harness as bench/cluster.py, with the vision
analyser and one model replica per GPU. Not run on the 2-core machine without GPUs.

    python bench/cluster_gpu.py --model /models/cogvlm2-video [--gpus 1 2 4 8] [--files 32] [--seconds 120]
    python bench/cluster_gpu.py --model ... --ray HEAD:6379 --gpus 8   # an existing multi-machine cluster

Without ``--ray``: for each count in ``--gpus``, a local Ray cluster of one node with that many GPUs
(``CUDA_VISIBLE_DEVICES`` is honoured), a warm-up, then ``--files`` clips through the cluster into a
PostgreSQL started here; reports files per minute, windows per second and each replica's share of the
windows (the spread should be even), and the scaling against the first count. Runs inside a
loopback-only network namespace like bench/cluster.py unless ``--ray`` names a real cluster.
Writes bench/results/cluster_gpu-<UTC time>.json.

``--simulate`` runs the same harness on the CPU with no GPU: each "GPU" is a Ray resource ``fake_gpu``
on its own worker node, each replica a tiny random CogVLM2-Video (tests/modelkit.py) on the CPU. It
shows the spread of windows over the replicas and that every file is stored once, not speed:

    python bench/cluster_gpu.py --simulate --gpus 1 2 4 --files 8 --seconds 12
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

import cluster as harness  # noqa: E402  (bench/cluster.py)


def vision_settings(home: Path, url: str, model: str, gpus: int, batch_size: int):
    from cogvlm_media.config import ClusterSettings, ModelSettings, Settings

    return Settings(home=home, database_url=url,
                    model=ModelSettings(path=model, batch_size=batch_size),
                    cluster=ClusterSettings(gpus=gpus, files_in_flight=0))


def simulated_settings(home: Path, url: str, model: str, gpus: int):
    from cogvlm_media.config import AnalysisSettings, ClusterSettings, ModelSettings, Settings

    return Settings(home=home, database_url=url,
                    model=ModelSettings(path=model, device="cpu", batch_size=8, max_new_tokens=4, linger_seconds=0.2),
                    analysis=AnalysisSettings(window_seconds=3.0, faces=False, speakers=False),
                    plugins={"text": {"enabled": False}},  # the embedded signals are not what this measures
                    cluster=ClusterSettings(gpus=gpus, gpu_resource="fake_gpu", files_in_flight=gpus))


def tiny_checkpoint(folder: Path) -> Path:
    import modelkit

    if not (folder / "tokenizer.json").exists():
        modelkit.save_checkpoint(modelkit.tiny_model(len(modelkit.make_tokenizer())), folder)
    return folder


def stored_once(url: str) -> dict:
    """Analysed runs per file (each should be 1) and the files stored."""
    from sqlalchemy import func, select

    from cogvlm_media.store import models
    from cogvlm_media.store.engine import get_engine, read_session

    with read_session(get_engine(url)) as s:
        runs = s.execute(select(models.IngestRun.path, func.count()).where(models.IngestRun.outcome == "analysed")
                         .group_by(models.IngestRun.path)).all()
        stored = s.scalar(select(func.count(models.AssetPath.id)))
    counts = sorted({n for _p, n in runs})
    return {"files_analysed": len(runs), "analysed_runs_per_file": counts, "paths_stored": stored}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="", help="the CogVLM2-Video checkpoint (not with --simulate)")
    ap.add_argument("--simulate", action="store_true", help="CPU only: fake GPU resources, a tiny random model")
    ap.add_argument("--gpus", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--files", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--node-cpus", type=int, default=os.cpu_count() or 8)
    ap.add_argument("--batch-size", type=int, default=0)
    ap.add_argument("--ray", default="", help="an existing cluster's head (host:port): no local cluster")
    args = ap.parse_args()
    if not args.model and not args.simulate:
        ap.error("--model is required (or --simulate)")
    if not args.ray:
        harness.in_namespace([str(Path(__file__).resolve()), *sys.argv[1:]])
    import ray
    from pgserver import postgres_server

    paths = harness.clips(args.files, args.seconds, size="320x180" if args.simulate else "1280x720")
    if args.simulate:
        args.model = str(tiny_checkpoint(harness.CACHE / "tiny-model"))
    result: dict = {"model": "tiny random (simulated GPUs on the CPU)" if args.simulate else args.model,
                    "device": "cpu, fake_gpu resources" if args.simulate else "cuda", "files": args.files,
                    "clip_seconds": args.seconds, "runs": {}}
    with postgres_server() as pg:
        for gpus in args.gpus:
            cluster = None
            address = args.ray
            if not address:
                cluster = (harness.start_cluster(gpus, 1, fake_gpus_per_node=1) if args.simulate
                           else harness.start_cluster(1, args.node_cpus, gpus_per_node=gpus))
                address = cluster.address
            try:
                ray.init(address=address, log_to_driver=False)
                url = pg.new_database()
                home = Path(pg.root) / f"g{gpus}"
                settings = (simulated_settings(home, url, args.model, gpus) if args.simulate
                            else vision_settings(home, url, args.model, gpus, args.batch_size))
                started = time.perf_counter()
                elapsed, info = harness.cluster_run(url, Path(pg.root), paths, address, settings)
            finally:
                ray.shutdown()
                if cluster is not None:
                    cluster.shutdown()
            windows = [sum(s["windows"].values()) for s in info["replica_stats"]]
            result["runs"][str(gpus)] = {"seconds": round(elapsed, 2), "with_warmup": round(time.perf_counter() - started, 2),
                                         "files_per_minute": round(60 * args.files / elapsed, 2),
                                         "items_per_second": round(sum(windows) / elapsed, 2),
                                         "items_per_replica": windows, **info, **stored_once(url)}
    first = result["runs"][str(args.gpus[0])]["seconds"]
    result["scaling"] = {g: round(first / r["seconds"], 3) for g, r in result["runs"].items()}
    harness.RESULTS.mkdir(exist_ok=True)
    out = harness.RESULTS / f"cluster_gpu-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
