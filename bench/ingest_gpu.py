"""GPU ingest benchmark (issue 14): hours of 1080p footage from files to stored markers, through the same code
path as ``cogvlm-media ingest`` with the vision analyser (``ingest.batched.BatchedPipeline``), measured.

``run`` (bf16, the whole GPU):
* the model is loaded from the checkpoint folder by the product's loader (``VideoChat.from_settings``,
  automatic batch size), warmed up (compilation, CUDA graphs), then the clock starts when the first file
  is handed to the pipeline and stops when the last file's records (markers included) are committed:
  ``end_to_end.realtime_factor`` = footage seconds / that wall time;
* NVML samples GPU and NVDEC utilisation every 100 ms; per stage (decode, shots, speech, store, and the
  model's batches) the wall time during which any file was in it and the GPU busy share meanwhile;
* every batch the pipeline sent to the model is recorded (items and frames) and replayed afterwards through
  the same ``VideoChat`` alone: ``model_only.realtime_factor`` for the same requests, same batches;
* teacher-forced logits of the bf16 model on a few recorded windows, against the same model in float32
  (the size of bf16's own rounding), saved for ``quant``.

``quant --kind 4bit|8bit --cap-gib 24``: the process capped with ``torch.cuda.set_per_process_memory_fraction``,
the checkpoint loaded quantised, automatic batch, peak memory, real-time factor over the first recorded
batches' windows, logits against the saved bf16 ones.

    python bench/ingest_gpu.py run --checkpoint /tmp/ckpt --footage /data/footage --out $OUT/run.json
    python bench/ingest_gpu.py quant --kind 4bit --checkpoint /tmp/ckpt --out $OUT/q4.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from ingest_gpu_measure import (GpuSampler, StageLog, cuda_sync, item_seconds, record_batches,  # noqa: E402
                                shot_accuracy, union, window_seconds)


def replay(chat, calls: list[dict], seconds: list[float], limit_s: float) -> dict:
    """The recorded batches again, through the chat alone (the model-only figure)."""
    t0, covered, n = time.monotonic(), 0.0, 0
    cuda_sync()
    for c, sec in zip(calls, seconds):
        chat.answer_groups(c["items"])
        covered += sec
        n += 1
        if time.monotonic() - t0 > limit_s:
            break
    cuda_sync()
    wall = time.monotonic() - t0
    return {"batches": n, "of_batches": len(calls), "footage_s": round(covered, 1), "wall_s": round(wall, 2),
            "realtime_factor": round(covered / wall, 2)}


def warm_up(pipe, settings) -> float:
    """Compile and capture what the first files would otherwise pay for (a daemon pays it once)."""
    from cogvlm_media.analysis import shots, speech
    from cogvlm_media.model.engine import Questions
    from cogvlm_media.model.prompts import WINDOW_PROMPTS

    t0 = time.monotonic()
    frames = np.random.default_rng(0).integers(0, 256, (24, 224, 224, 3), dtype=np.uint8)
    rows = pipe.chat.batch_size
    pipe.chat.answer_groups([Questions(WINDOW_PROMPTS, frames)] * max(1, rows // 2), max_new_tokens=4)
    pipe.chat.answer_groups([Questions(WINDOW_PROMPTS, frames)], max_new_tokens=4)
    pipe.chat.answer_groups([Questions(("a summary question",))], max_new_tokens=4)
    shots.load_model(shots.shot_device(settings))
    speech.load_model(settings)
    return time.monotonic() - t0


def settings_for(args):
    from cogvlm_media.config import AnalysisSettings, ModelSettings, Settings

    model = ModelSettings(path=str(args.checkpoint), dtype="bf16", files_in_flight=args.files, batched=args.batched,
                          batch_size=args.batch, frame_source=args.frame_source,
                          decoder_reserve_gib=args.decoder_reserve_gib,
                          **({"max_new_tokens": args.new_tokens} if args.new_tokens else {}))
    return Settings(home=args.home, model=model, analysis=AnalysisSettings(speech_workers=args.speech_workers))


def footage(folder: Path, hours: float) -> tuple[list[str], dict]:
    manifest = json.loads((folder / "manifest.json").read_text())
    files = sorted(manifest["files"], key=lambda f: f["file"])
    chosen, total = [], 0.0
    for f in files:
        if total >= hours * 3600:
            break
        chosen.append(str(folder / f["file"]))
        total += f["seconds"]
    return chosen, manifest


def run(args) -> dict:
    import torch

    from cogvlm_media.ingest import IngestCallbacks, IngestOptions
    from cogvlm_media.ingest.batched import batched_enabled, pipeline_for
    from cogvlm_media.store.engine import get_engine
    from logits_check import reference_logits

    paths, manifest = footage(args.footage, args.hours)
    settings = settings_for(args)
    engine = get_engine(settings.db_url)
    cuda = torch.cuda.is_available()
    out: dict = {"gpu": torch.cuda.get_device_name(0) if cuda else "cpu", "torch": torch.__version__, "files": len(paths),
                 "footage": {k: manifest[k] for k in ("fps", "size", "bitrate", "unique", "minutes")}}
    t = time.monotonic()
    # what `cogvlm-media ingest` (ingest.ingest_paths) runs when the configuration picks the batched path;
    # started here so that loading and warming the model stay out of the end-to-end time
    assert batched_enabled(settings), "the configuration does not pick the batched GPU path"
    pipe = pipeline_for(settings)
    if args.nvdec_threaded:
        from cogvlm_media.media.nvdec import NvdecSource

        pipe.frame_source = NvdecSource(threaded=True)
    pipe.start()
    out["model_load_s"] = round(time.monotonic() - t, 1)
    out["batch_rows"] = pipe.chat.batch_size
    out["frame_source"] = pipe.frame_source.name
    out["warm_up_s"] = round(warm_up(pipe, settings), 1)
    print(json.dumps(out), flush=True)
    calls = record_batches(pipe.batcher)
    log, sampler = StageLog(), GpuSampler()
    finished: dict[str, float] = {}
    sampler.start()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t0 = time.monotonic()
    with pipe:
        outcomes = pipe.ingest_paths(engine, paths, IngestOptions(), IngestCallbacks(
            file_stage=log, file_done=lambda o: finished.__setitem__(o.path, time.monotonic())))
    t1 = max(finished.values())
    sampler.stop()
    done = [o for o in outcomes if o.status == "done"]
    seconds = sum(f["seconds"] for f in manifest["files"] if str(args.footage / f["file"]) in {o.path for o in done})
    wall = t1 - t0
    out["outcomes"] = {s: sum(o.status == s for o in outcomes) for s in {o.status for o in outcomes}}
    out["errors"] = sorted({o.error for o in outcomes if o.error})[:5]
    out["end_to_end"] = {"footage_s": round(seconds, 1), "wall_s": round(wall, 1),
                         "realtime_factor": round(seconds / wall, 2), "peak_gpu_memory_gib":
                         round(torch.cuda.max_memory_allocated() / 2 ** 30, 1) if cuda else None,
                         **sampler.share([(t0, t1)])}
    model_spans = [(c["t0"], c["t1"]) for c in calls]
    busy = sum(b - a for a, b in model_spans)
    stages = {"model (batches)": {"wall_s": round(busy, 1), "share_of_wall": round(busy / wall, 3),
                                  "batches": len(calls), **sampler.share(model_spans)}}
    idle = union(model_spans)
    gaps = [(a[1], b[0]) for a, b in zip(idle, idle[1:]) if b[0] > a[1]]
    stages["model idle (between batches)"] = {"wall_s": round(sum(b - a for a, b in gaps) + (idle[0][0] - t0 if idle else 0), 1),
                                              **sampler.share(gaps)}
    for stage, spans in log.by_stage().items():
        u = union(spans)
        stages[stage] = {"wall_s": round(sum(b - a for a, b in u), 1),
                         "file_seconds": round(sum(b - a for a, b in spans), 1), **sampler.share(u)}
    out["stages"] = stages
    out["fallbacks"] = getattr(pipe.frame_source, "fallbacks", [])[:5]
    print(json.dumps(out), flush=True)
    try:
        out["shot_accuracy"] = shot_accuracy(engine, args.footage, manifest)
    except Exception as exc:  # noqa: BLE001 - a report detail, not the measurement
        out["shot_accuracy"] = f"{type(exc).__name__}: {exc}"[:200]
    durations = window_seconds(engine)
    per_item = item_seconds(calls, durations)
    per_call = [sum(row) for row in per_item]
    out["windows"] = sum(len(v) for v in durations.values())
    out["rows"] = sum(len(it.queries) for c in calls for it in c["items"])
    pipe.chat.batch_size = out["batch_rows"]
    out["model_only"] = replay(pipe.chat, calls, per_call, args.replay_limit)
    out["end_to_end_over_model_only"] = round(out["end_to_end"]["realtime_factor"]
                                              / out["model_only"]["realtime_factor"], 3)
    print(json.dumps(out["model_only"]), flush=True)
    windows = [(it, sec) for c, row in zip(calls, per_item) for it, sec in zip(c["items"], row)
               if it.frames is not None]
    speed = windows[:args.quant_windows]
    items = [it for it, _ in windows[:args.logit_windows]]
    out["logits_bf16_vs_fp32"] = reference_logits(pipe.chat, items, args.reference, [it for it, _ in speed],
                                                  sum(sec for _, sec in speed))
    return out


def quant(args) -> dict:
    import torch

    from cogvlm_media.model.engine import VideoChat
    from logits_check import compare_saved

    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction(args.cap_gib * 2 ** 30 / total, 0)
    settings = settings_for(args)
    t = time.monotonic()
    from dataclasses import replace

    from cogvlm_media.model.batch_size import ModelFitError
    from cogvlm_media.model.engine import free_gpu_bytes

    try:
        chat = VideoChat.from_settings(replace(settings.model, quantization=args.kind, batch_size=args.fallback_batch))
    except Exception as exc:  # noqa: BLE001 - the model itself does not fit: that is the finding
        return {"kind": args.kind, "cap_gib": args.cap_gib, "error": f"{type(exc).__name__}: {exc}"[:400]}
    out = {"kind": args.kind, "cap_gib": args.cap_gib, "load_s": round(time.monotonic() - t, 1),
           "weights_gib": round(torch.cuda.memory_allocated() / 2 ** 30, 2), "gpu": torch.cuda.get_device_name(0)}
    free = free_gpu_bytes(torch.device("cuda", 0))
    out["free_after_load_gib"] = round(free / 2 ** 30, 2)
    try:
        chat.batch_size = chat.auto_batch_size(free)
        out["auto_batch_rows"] = chat.batch_size
    except ModelFitError as exc:
        out["auto_batch_error"] = str(exc)
        out["fallback_batch_rows"] = chat.batch_size
    ref = torch.load(args.reference, weights_only=False)
    items, seconds = ref["speed_items"], ref["speed_seconds"]
    from cogvlm_media.model.engine import Questions

    chat.answer_groups(items[:1], max_new_tokens=4)
    torch.cuda.reset_peak_memory_stats()
    torch.cuda.synchronize()
    t0 = time.monotonic()
    chat.answer_groups([Questions(it.queries, it.frames, it.max_new_tokens) for it in items])
    torch.cuda.synchronize()
    wall = time.monotonic() - t0
    out["speed"] = {"windows": len(items), "footage_s": round(seconds, 1), "wall_s": round(wall, 1),
                    "realtime_factor": round(seconds / wall, 2),
                    "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2 ** 30, 2),
                    "peak_reserved_gib": round(torch.cuda.max_memory_reserved() / 2 ** 30, 2)}
    print(json.dumps(out), flush=True)
    out["logits_vs_bf16"] = compare_saved(chat, ref)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["run", "quant"])
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--footage", type=Path, default=Path("/tmp/footage"))
    ap.add_argument("--hours", type=float, default=4.0)
    ap.add_argument("--home", type=Path, default=Path("/tmp/bench-home"))
    ap.add_argument("--files", type=int, default=12, help="[model] files_in_flight")
    ap.add_argument("--batch", type=int, default=0, help="[model] batch_size (0: automatic)")
    ap.add_argument("--new-tokens", type=int, default=0, help="[model] max_new_tokens (0: the default)")
    ap.add_argument("--frame-source", default="auto")
    ap.add_argument("--batched", default="auto", help="[model] batched (on: the CPU smoke test)")
    ap.add_argument("--nvdec-threaded", action="store_true", help="NVDEC decoding ahead in its own thread")
    ap.add_argument("--speech-workers", type=int, default=4)
    ap.add_argument("--decoder-reserve-gib", type=float, default=1.0, help="[model] decoder_reserve_gib")
    ap.add_argument("--replay-limit", type=float, default=1e9, help="stop the model-only replay after this")
    ap.add_argument("--logit-windows", type=int, default=4)
    ap.add_argument("--quant-windows", type=int, default=16, help="recorded windows `quant` times")
    ap.add_argument("--reference", type=Path, default=Path("/tmp/bf16_reference.pt"))
    ap.add_argument("--kind", default="4bit")
    ap.add_argument("--cap-gib", type=float, default=24.0)
    ap.add_argument("--fallback-batch", type=int, default=8, help="rows when the automatic batch does not fit")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    out = run(args) if args.what == "run" else quant(args)
    out["command"] = " ".join(sys.argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1), flush=True)


if __name__ == "__main__":
    main()
