"""Throughput of the native CogVLM2-Video (``cogvlm_media.model``) at true size on one GPU.

Random bf16 weights (speed does not depend on their values), 24 frames per window (a full 24 s window
at 1 frame/s: 1 + 24 x 67 + ~12 = ~1,620 prompt tokens), output fixed at min = max = 128 new tokens.

- ``reference``: the reference's flow, one window per call, eager greedy decoding with a growing
  (transformers ``DynamicCache``) cache, as plain ``generate`` does.
- ``batched`` at 8 / 32 / 64: the product path (``VideoChat.answer_tokens``): static cache, CUDA-graph
  decode, the next batch's vision pass overlapped with this batch's decode. Phases are also timed one
  by one (vision ms, prefill ms, decode ms per step) on a separate, non-overlapped batch.

- ``--fp8``: the same batches again with the vision tower in FP8 (``quantization = "fp8"``,
  ``cogvlm_media.model.fp8``; compiled layers), the bf16 rows rerun in the same process as the baseline,
  plus the FP8 accuracy against bf16 on identical inputs (``fp8_accuracy``: teacher-forced logits over
  the 128 answer positions of the bf16 answers, and the greedy answers themselves).
- ``--fused``: the same batches again with the language model's norms, MLP and rotary embedding compiled
  (``cogvlm_media.model.fused``, ``[model] fused``), the eager rows rerun in the same process as the
  baseline, plus both against a float32 copy of the language model, teacher-forced on identical windows
  (``fused.accuracy``; see cogvlm2_accuracy.py).
- ``--vision-variants``: one 256-frame vision chunk timed per variant (SDPA backends, head dim padded
  to 128, compiled bf16 layers, FP8 eager / compiled).

Real-time factor at 1 frame/s = seconds of footage (24 per window) analysed per second of wall time.

    python bench/cogvlm2_gpu.py --out bench/results/cogvlm2_gpu.json      # on the GPU machine
    python bench/cogvlm2_gpu.py --tiny --device cpu --batches 2 4         # smoke test on CPU
    python bench/cogvlm2_gpu.py --fp8 --vision-variants --batches 96 --reference-windows 0 --out $OUT/r.json
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cogvlm_media.model.config import CogVLMVideoConfig, tiny  # noqa: E402
from cogvlm_media.model.engine import Request, VideoChat  # noqa: E402
from cogvlm_media.model.inputs import collate  # noqa: E402
from cogvlm_media.model.loading import build_empty, init_random  # noqa: E402

from cogvlm2_accuracy import fp8_accuracy, fp8_mlp_only, fused_accuracy  # noqa: E402  (bench/, beside this file)

FRAMES = 24
QUESTION = "Please describe the video in detail."


class SyntheticTokenizer:
    """Stable ids without tokenizer files (the GPU machine has no network); Llama-3 special ids."""

    def __init__(self, vocab: int, bos: int, eos: int):
        self.vocab, self.bos_token_id, self.eos_token_id = vocab, bos, eos

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        low = min(1000, self.vocab // 4)
        return [low + zlib.crc32(w.encode()) % (self.vocab // 2) for w in text.replace(":", " :").split()]

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        return " ".join(map(str, ids))


def random_model(config: CogVLMVideoConfig, device: torch.device, dtype: torch.dtype, seed: int = 0):
    model = init_random(build_empty(config).to(dtype=dtype).to_empty(device=device), seed=seed, std=0.02)
    model.reset_rotary(device)
    return model.eval().requires_grad_(False)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device):
    sync(device)
    t = time.perf_counter()
    out = fn()
    sync(device)
    return out, time.perf_counter() - t


def make_requests(n: int, rng: np.random.Generator, frames: int, height: int, width: int) -> list[Request]:
    clip = rng.integers(0, 256, (frames, height, width, 3), dtype=np.uint8)  # decoding is not measured
    return [Request(QUESTION, clip) for _ in range(n)]


def bench_reference(chat: VideoChat, requests, new_tokens: int, device) -> dict:
    chat.answer_tokens(requests[:1], max_new_tokens=4, min_new_tokens=4, reference=True)  # warm-up
    times = []
    for r in requests:
        _, t = timed(lambda: chat.answer_tokens([r], max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                                                reference=True), device)
        times.append(t)
    per_window = float(np.mean(times))
    return {"windows": len(requests), "seconds_per_window": per_window, "windows_per_s": 1 / per_window,
            "realtime_factor": FRAMES / per_window, "decode_ms_per_step_approx": 1000 * per_window / new_tokens}


def bench_batch(chat: VideoChat, size: int, rng, args, device) -> dict:
    chat.batch_size = size
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    new = args.new_tokens
    reqs = make_requests(size, rng, FRAMES, args.height, args.width)
    chat.answer_tokens(reqs, max_new_tokens=new, min_new_tokens=new)  # warm-up, graph capture

    # phases, one after another
    embeds, vision_s = timed(lambda: chat._vision(reqs), device)
    batch = collate([chat.prompt(r) for r in reqs], chat.model.config.pad_token_id)
    marks = {}

    def mark():
        if device.type == "cuda":
            ev = torch.cuda.Event(enable_timing=True)
            ev.record()
            marks["prefill_end"] = ev
        else:
            marks["prefill_end"] = time.perf_counter()

    if device.type == "cuda":
        start = torch.cuda.Event(enable_timing=True)
        start.record()
    t0 = time.perf_counter()
    tokens = chat.generator.generate(batch, embeds, new, new, after_prefill=mark)
    sync(device)
    total = time.perf_counter() - t0
    if device.type == "cuda":
        prefill_s = start.elapsed_time(marks["prefill_end"]) / 1000
    else:
        prefill_s = marks["prefill_end"] - t0
    decode_s = total - prefill_s
    assert all(len(t) == new for t in tokens), "min = max new tokens must fix the output length"

    # the product pipeline, overlapped, over several batches
    n = size * args.pipeline_batches
    reqs = make_requests(n, rng, FRAMES, args.height, args.width)
    _, wall = timed(lambda: chat.answer_tokens(reqs, max_new_tokens=new, min_new_tokens=new), device)
    result = {
        "batch": size, "prompt_tokens": int(batch.input_ids.shape[1]), "new_tokens": new,
        "vision_ms": 1000 * vision_s, "vision_ms_per_frame": 1000 * vision_s / (size * FRAMES),
        "prefill_ms": 1000 * prefill_s, "decode_ms_per_step": 1000 * decode_s / (new - 1),
        "sequential_seconds_per_batch": vision_s + total,
        "pipeline_windows": n, "pipeline_seconds": wall,
        "windows_per_s": n / wall, "realtime_factor": n * FRAMES / wall,
    }
    if device.type == "cuda":
        result["peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2 ** 30
    return result


def check_graph_path(device: torch.device) -> dict:
    """Tiny fp32 model on the device: batched CUDA-graph decoding == one-by-one reference decoding."""
    config = tiny(vocab_size=512, eos_token_id=(500,), bos_token_id=1, pad_token_id=0)
    model = random_model(config, device, torch.float32, seed=1)
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim > 1:
                p.mul_(5)  # peakier logits than std 0.02
    chat = VideoChat(model, SyntheticTokenizer(512, 1, 500), batch_size=4, max_new_tokens=16)
    rng = np.random.default_rng(3)
    reqs = [Request(QUESTION, rng.integers(0, 256, (n, 48, 64, 3), dtype=np.uint8)) for n in (3, 1, 5, 2, 4)]
    reqs.append(Request("what happens here", None))
    batched = chat.answer_tokens(reqs)
    alone = [chat.answer_tokens([r], reference=True)[0] for r in reqs]
    return {"graph_batched_equals_reference_alone": batched == alone, "cuda_graphs": chat.generator.cuda_graphs,
            "distinct_outputs": len({tuple(t) for t in batched})}


def _ms_per_frame(fn, frames: int, device, reps: int = 3) -> float:
    fn()  # warm-up (compilation, kernel selection)
    sync(device)
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    sync(device)
    return 1000 * (time.perf_counter() - t) / (reps * frames)


def bench_vision_variants(model, device, frames: int = 256) -> dict:
    """ms per frame of one ``frames``-frame chunk through the vision tower, per variant."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from cogvlm_media.model import fp8, vision as vision_mod

    gen = torch.Generator(device=device).manual_seed(0)
    pixels = torch.randn((frames, 3, 224, 224), generator=gen, device=device).to(model.dtype)
    tower = model.model.vision
    run = lambda: model.encode_frames(pixels)  # noqa: E731
    out: dict = {"frames": frames}

    def variant(name, fn=run):
        try:
            out[name] = _ms_per_frame(fn, frames, device)
        except Exception as exc:  # noqa: BLE001 - a variant that cannot run is recorded, not fatal
            out[name] = f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        print(name, out[name], flush=True)

    variant("bf16_default")
    for backend in ("FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION"):
        def forced(backend=backend):
            with sdpa_kernel(getattr(SDPBackend, backend)):
                return run()
        variant(f"bf16_sdpa_{backend.lower()}", forced)

    original = vision_mod.Attention.forward

    def padded(self, x):  # head dim 112 zero-padded to 128, same scale: the same attention
        n, s, _ = x.shape
        qkv = self.query_key_value(x).view(n, s, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        d = qkv.shape[-1]
        qkv = F.pad(qkv, (0, 128 - d))
        o = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], scale=d ** -0.5)[..., :d]
        return self.dense(o.transpose(1, 2).reshape(n, s, -1))

    import torch.nn.functional as F

    vision_mod.Attention.forward = padded
    try:
        variant("bf16_headdim_padded_128")
    finally:
        vision_mod.Attention.forward = original

    for layer in tower.transformer.layers:
        layer.compile()
    variant("bf16_compiled_layers")
    for layer in tower.transformer.layers:
        layer._compiled_call_impl = None

    fp8_tower = fp8.convert_linears(copy.deepcopy(tower))
    model.model.vision = fp8_tower
    try:
        variant("fp8_eager")
        fp8.compile_layers(fp8_tower)
        variant("fp8_compiled_layers")
    finally:
        model.model.vision = tower
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--tiny", action="store_true", help="tiny config (smoke test)")
    ap.add_argument("--batches", type=int, nargs="+", default=[8, 32, 64])
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--reference-windows", type=int, default=2)
    ap.add_argument("--pipeline-batches", type=int, default=3)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--fp8", action="store_true", help="also the FP8 vision tower: rows + accuracy vs bf16")
    ap.add_argument("--fused", action="store_true", help="also with compiled language norms/MLP/rotary")
    ap.add_argument("--vision-variants", action="store_true", help="time one vision chunk per variant")
    ap.add_argument("--accuracy-windows", type=int, default=8)
    ap.add_argument("--accuracy-only", action="store_true",
                    help="only FP8 accuracy, with fp32-vision (bf16's own rounding) and fc1/fc2-only FP8 beside it")
    args = ap.parse_args()

    device = torch.device(args.device)
    config = tiny(vocab_size=4096, eos_token_id=(4000,), bos_token_id=1, pad_token_id=0) if args.tiny \
        else CogVLMVideoConfig()
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    model, build_s = timed(lambda: random_model(config, device, dtype), device)
    tok = SyntheticTokenizer(config.vocab_size, config.bos_token_id, config.eos_token_id[-1])
    chat = VideoChat(model, tok, max_new_tokens=args.new_tokens)
    rng = np.random.default_rng(0)
    out = {
        "model": "cogvlm_media.model (native CogVLM2-Video), " + ("tiny config" if args.tiny else "published size"),
        "parameters": sum(p.numel() for p in model.parameters()),
        "dtype": str(dtype).replace("torch.", ""), "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
        "torch": torch.__version__, "frames_per_window": FRAMES, "frame_size": [args.height, args.width],
        "new_tokens": args.new_tokens, "build_seconds": build_s,
    }
    import transformers

    out["transformers"] = transformers.__version__
    if device.type == "cuda":
        out["check"] = check_graph_path(device)
    print(json.dumps(out), flush=True)
    if args.reference_windows:
        out["reference_batch1"] = bench_reference(
            chat, make_requests(args.reference_windows, rng, FRAMES, args.height, args.width), args.new_tokens, device)
        print(json.dumps(out["reference_batch1"]), flush=True)
    def save() -> None:
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(out, indent=2) + "\n")

    if args.accuracy_only:
        from cogvlm_media.model import fp8

        vision_bf16 = model.model.vision
        towers = {"fp8": fp8.convert_linears(copy.deepcopy(vision_bf16)), "fp8_mlp_only": fp8_mlp_only(vision_bf16),
                  "fp32_vision": copy.deepcopy(vision_bf16).float()}
        if device.type == "cuda":
            gen = torch.Generator(device=device).manual_seed(0)
            pixels = torch.randn((256, 3, 224, 224), generator=gen, device=device).to(dtype)
            speed = {"bf16": _ms_per_frame(lambda: model.encode_frames(pixels), 256, device)}
            for name in ("fp8", "fp8_mlp_only"):
                fp8.compile_layers(towers[name])
                model.model.vision = towers[name]
                speed[name] = _ms_per_frame(lambda: model.encode_frames(pixels), 256, device)
            model.model.vision = vision_bf16
            out["vision_ms_per_frame"] = speed
            print(json.dumps(speed), flush=True)
        reqs = make_requests(args.accuracy_windows, rng, FRAMES, args.height, args.width)
        out["accuracy"] = fp8_accuracy(chat, vision_bf16, towers, reqs, args.new_tokens)
        print(json.dumps(out["accuracy"]), flush=True)
        save()
        return

    if args.vision_variants:
        out["vision_variants_ms_per_frame"] = bench_vision_variants(model, device)
        save()

    def rows(key: str) -> None:
        out[key] = []
        for size in args.batches:
            try:
                res = bench_batch(chat, size, rng, args, device)
            except torch.OutOfMemoryError as exc:
                res = {"batch": size, "error": f"out of memory: {str(exc).splitlines()[0]}"}
                chat.generator._states.clear()
                torch.cuda.empty_cache()
            out[key].append(res)
            print(key, json.dumps(res), flush=True)
            save()

    rows("batched")
    if args.fused:
        from cogvlm_media.model import fused

        applied = {}
        reqs = make_requests(args.accuracy_windows, rng, FRAMES, args.height, args.width)
        accuracy = fused_accuracy(chat, reqs, args.new_tokens, lambda: applied.update(ok=fused.fuse_language(model)))
        out["fused"] = {"applied": applied["ok"], "accuracy": accuracy}
        print("fused", json.dumps(out["fused"]), flush=True)
        chat.generator._states.clear()  # decode graphs are captured again around the compiled modules
        rows("batched_fused")
    if args.fp8:
        from cogvlm_media.model import fp8

        vision_bf16 = model.model.vision
        vision_fp8 = fp8.convert_linears(copy.deepcopy(vision_bf16))
        compiled = device.type == "cuda" and fp8.compile_layers(vision_fp8)
        out["fp8"] = {"scheme": "e4m3, per-row (token) activation scales, per-output-channel weight scales, "
                                "torch._scaled_mm, bf16 out; vision tower linears only",
                      "compiled_layers": compiled}
        model.model.vision = vision_fp8
        rows("batched_fp8")
        reqs = make_requests(args.accuracy_windows, rng, FRAMES, args.height, args.width)
        out["fp8"]["accuracy"] = fp8_accuracy(chat, vision_bf16, {"fp8": vision_fp8}, reqs, args.new_tokens)
        print("fp8_accuracy", json.dumps(out["fp8"]["accuracy"]), flush=True)
        model.model.vision = vision_bf16
    save()


if __name__ == "__main__":
    main()
