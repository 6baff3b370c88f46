"""Measuring instruments of bench/ingest_gpu.py: NVML utilisation samples, per-file stage spans, the batches
the pipeline sent to the model (recorded for the model-only replay), the footage seconds each recorded
window stands for, and the stored shots against the rendered truth."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np


class GpuSampler(threading.Thread):
    """(monotonic time, GPU utilisation %, NVDEC utilisation %, memory used GiB) every ``period`` seconds."""

    def __init__(self, period: float = 0.1) -> None:
        super().__init__(daemon=True, name="nvml")
        self.period, self.samples, self._stop = period, [], threading.Event()
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml, self._h = pynvml, pynvml.nvmlDeviceGetHandleByIndex(0)
        except Exception:  # no NVML (CPU smoke test)
            self._nvml = None

    def run(self) -> None:
        while self._nvml and not self._stop.wait(self.period):
            n, h = self._nvml, self._h
            u = n.nvmlDeviceGetUtilizationRates(h)
            dec = n.nvmlDeviceGetDecoderUtilization(h)[0]
            self.samples.append((time.monotonic(), u.gpu, dec, n.nvmlDeviceGetMemoryInfo(h).used / 2 ** 30))

    def stop(self) -> None:
        self._stop.set()

    def share(self, spans: list[tuple[float, float]]) -> dict:
        """Mean GPU and NVDEC utilisation over the samples inside ``spans``."""
        inside = [s for s in self.samples if any(a <= s[0] <= b for a, b in spans)]
        if not inside:
            return {"gpu_busy": None, "nvdec_busy": None, "samples": 0}
        return {"gpu_busy": round(float(np.mean([s[1] for s in inside])) / 100, 3),
                "nvdec_busy": round(float(np.mean([s[2] for s in inside])) / 100, 3), "samples": len(inside)}


def cuda_sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


class StageLog:
    """First and last progress time of every (file, stage)."""

    def __init__(self) -> None:
        self.spans: dict[tuple[str, str], list[float]] = {}
        self.done: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, path: str, stage: str, done: float, total: float) -> None:
        now = time.monotonic()
        with self._lock:
            span = self.spans.setdefault((path, stage), [now, now])
            span[1] = now

    def by_stage(self) -> dict[str, list[tuple[float, float]]]:
        out: dict[str, list[tuple[float, float]]] = {}
        for (_, stage), (a, b) in self.spans.items():
            out.setdefault(stage, []).append((a, b))
        return out


def record_batches(batcher) -> list[dict]:
    """Wrap the batcher's model call (instrumentation only): each batch's items, file names and times."""
    calls: list[dict] = []
    inner = batcher._run

    def run(batch):
        t0 = time.monotonic()
        inner(batch)
        calls.append({"t0": t0, "t1": time.monotonic(), "files": [e.ticket.name for e in batch],
                      "items": [e.item for e in batch]})

    batcher._run = run
    return calls


def window_seconds(engine) -> dict[str, list[float]]:
    """Per file path, the durations of its windows that have frames, in window order."""
    from sqlalchemy import select

    from cogvlm_media.store import models
    from cogvlm_media.store.engine import read_session

    with read_session(engine) as s:
        rows = s.execute(select(models.AssetPath.path, models.Window.start, models.Window.end,
                                models.Window.frame_indices)
                         .join(models.Window, models.Window.asset_id == models.AssetPath.asset_id)
                         .order_by(models.AssetPath.path, models.Window.index)).all()
    out: dict[str, list[float]] = {}
    for path, a, b, idx in rows:
        if idx:
            out.setdefault(path, []).append(b - a)
    return out


def shot_accuracy(engine, folder: Path, manifest: dict) -> dict:
    """Stored shot boundaries of every file against the rendered truth (a cut within 1 frame, a dissolve
    anywhere inside), summed over the files."""
    from sqlalchemy import select

    from cogvlm_media.store import models
    from cogvlm_media.store.engine import read_session
    from ingest_cpu import accuracy

    with read_session(engine) as s:
        rows = s.execute(select(models.AssetPath.path, models.Shot.start_frame)
                         .join(models.Shot, models.Shot.asset_id == models.AssetPath.asset_id)).all()
    found: dict[str, list[int]] = {}
    for path, start in rows:
        if start:
            found.setdefault(path, []).append(start)
    totals = {"found": 0, "true": 0, "matched": 0}
    for f in manifest["files"]:
        truth = [(c - 1, c + 1) for c in f["cuts"]] + [(a - 1, b + 1) for a, b in f["dissolves"]]
        r = accuracy(found.get(str(folder / f["file"]), []), sorted(truth))
        for k in totals:
            totals[k] += r[k]
    totals["precision"] = round(totals["matched"] / max(1, totals["found"]), 4)
    totals["recall"] = round(totals["matched"] / max(1, totals["true"]), 4)
    return totals


def item_seconds(calls: list[dict], durations: dict[str, list[float]]) -> list[list[float]]:
    """Footage seconds each recorded item stands for, per call (0 for a text item; the k-th window item of
    a file is its k-th window with frames: a file submits its windows in order)."""
    seen: dict[str, int] = {}
    out = []
    for c in calls:
        row = []
        for name, item in zip(c["files"], c["items"]):
            if item.frames is None:
                row.append(0.0)
                continue
            k = seen.get(name, 0)
            seen[name] = k + 1
            own = durations.get(name, [])
            row.append(own[k] if k < len(own) else 0.0)
        out.append(row)
    return out
