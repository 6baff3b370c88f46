"""Review server latency: p50/p95 of search and asset-detail requests under 1, 8 and 32 concurrent local
clients (bounded loops on 127.0.0.1), and thumbnail cold/warm time.

    python bench/serve.py [--home DIR] [--requests N] [--port P]

Without --home it builds a small archive (the demo clip, rendered and ingested) in a temporary folder.
Prints JSON and writes it to bench/results/serve.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

QUERIES = ["kitchen table", "the camera pans across a pattern", "welcome to the demo", "end of the sample",
           "a hard cut or a slow dissolve"]


def build_archive(home: Path) -> None:
    env = {**os.environ, "COGVLM_MEDIA_HOME": str(home), "XDG_CONFIG_HOME": str(home / "xdg")}
    subprocess.run([sys.executable, "-m", "cogvlm_media", "demo", "-q"], env=env, check=True,
                   stdout=subprocess.DEVNULL, timeout=1800)


def wait_ready(base: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited during start-up")
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("server did not become ready")


def load(base: str, kind: str, clients: int, per_client: int, asset: int) -> dict:
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()

    def loop(i: int) -> None:
        with httpx.Client(timeout=60) as client:
            for n in range(per_client):
                started = time.perf_counter()
                if kind == "search":
                    r = client.get(base + "/search", params={"q": QUERIES[(i + n) % len(QUERIES)]})
                else:
                    r = client.get(f"{base}/assets/{asset}")
                with lock:
                    latencies.append(time.perf_counter() - started)
                    if r.status_code != 200:
                        errors.append(r.status_code)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    wall = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return {"kind": kind, "clients": clients, "requests": len(latencies), "p50_ms": round(q[49] * 1000, 1),
            "p95_ms": round(q[94] * 1000, 1), "throughput_rps": round(len(latencies) / wall, 1),
            "errors": len(errors)}


def thumbnails(base: str, asset: int, home: Path) -> dict:
    shutil.rmtree(home / "thumbnails", ignore_errors=True)
    out = {}
    for size in ("small", "large"):
        cold, warm = [], []
        for t in (1.0, 5.5, 9.7, 14.2):
            for bucket in (cold, warm):
                started = time.perf_counter()
                r = httpx.get(f"{base}/assets/{asset}/thumbnail", params={"t": t, "size": size}, timeout=60)
                r.raise_for_status()
                bucket.append(time.perf_counter() - started)
        out[size] = {"cold_median_ms": round(statistics.median(cold) * 1000, 1),
                     "warm_median_ms": round(statistics.median(warm) * 1000, 1)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an existing cogvlm-media data folder to serve")
    parser.add_argument("--requests", type=int, default=20, help="requests per client")
    parser.add_argument("--port", type=int, default=8811)
    args = parser.parse_args()

    scratch = None
    home = args.home
    if home is None:
        scratch = tempfile.mkdtemp(prefix="cogvlm-serve-bench-")
        home = Path(scratch)
        build_archive(home)
    env = {**os.environ, "COGVLM_MEDIA_HOME": str(home), "XDG_CONFIG_HOME": str(home / "xdg")}
    proc = subprocess.Popen([sys.executable, "-m", "cogvlm_media", "serve", "--port", str(args.port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{args.port}/api/v1"
    try:
        wait_ready(base, proc)
        asset = httpx.get(base + "/assets").json()["assets"][0]["id"]
        httpx.get(base + "/search", params={"q": "warm up"}, timeout=120)  # loads the embedding model
        runs = [load(base, kind, clients, args.requests, asset)
                for kind in ("search", "detail") for clients in (1, 8, 32)]
        result = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                              "platform": platform.platform()},
                  "requests_per_client": args.requests, "runs": runs, "thumbnails": thumbnails(base, asset, home)}
    finally:
        proc.terminate()
        proc.wait(15)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    text = json.dumps(result, indent=2)
    print(text)
    out = Path(__file__).resolve().parent / "results" / "serve.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
