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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--gpus", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--files", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--node-cpus", type=int, default=os.cpu_count() or 8)
    ap.add_argument("--batch-size", type=int, default=0)
    ap.add_argument("--ray", default="", help="an existing cluster's head (host:port): no local cluster")
    args = ap.parse_args()
    if not args.ray:
        harness.in_namespace([str(Path(__file__).resolve()), *sys.argv[1:]])
    import ray
    from pgserver import postgres_server

    paths = harness.clips(args.files, args.seconds, size="1280x720")
    result: dict = {"model": args.model, "files": args.files, "clip_seconds": args.seconds, "runs": {}}
    with postgres_server() as pg:
        for gpus in args.gpus:
            cluster = None
            address = args.ray
            if not address:
                cluster = harness.start_cluster(1, args.node_cpus, gpus_per_node=gpus)
                address = cluster.address
            try:
                ray.init(address=address, log_to_driver=False)
                url = pg.new_database()
                settings = vision_settings(Path(pg.root) / f"g{gpus}", url, args.model, gpus, args.batch_size)
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
                                         "items_per_replica": windows, **info}
    first = result["runs"][str(args.gpus[0])]["seconds"]
    result["scaling"] = {g: round(first / r["seconds"], 3) for g, r in result["runs"].items()}
    harness.RESULTS.mkdir(exist_ok=True)
    out = harness.RESULTS / f"cluster_gpu-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
