"""LoRA fine-tuning cost of the native CogVLM2-Video at true size on one GPU (issue: fine-tune on verified markers).

Random bf16 weights, 24-frame windows (~1,620 prompt tokens) with a ~64-token answer, one window per
optimizer step (batch 1), gradient checkpointing on, through the product's own training code
(``cogvlm_media.finetune.train``: ``example_loss``, the LoRA targets of ``cogvlm_media.model.adapter``).
Per LoRA target (``qkv``: attention qkv only, the default; ``all``: every linear layer of the language
model): peak GPU memory, seconds per optimizer step, windows per second and the share of the step spent
in the frozen vision tower. The anchor is ms-swift's reported ~40 GB for LoRA on one A100.

    python bench/finetune_gpu.py --out bench/results/finetune_gpu.json     # on the GPU machine
    python bench/finetune_gpu.py --tiny --device cpu --steps 2             # smoke test on CPU
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cogvlm2_gpu import SyntheticTokenizer, random_model, sync  # noqa: E402

from cogvlm_media.model.prompts import MOMENT_PROMPT as KEY_MOMENT_PROMPT  # noqa: E402
from cogvlm_media.finetune.train import Encoded, example_loss  # noqa: E402
from cogvlm_media.model import adapter as lora  # noqa: E402
from cogvlm_media.model.config import CogVLMVideoConfig, tiny  # noqa: E402
from cogvlm_media.model.inputs import build_prompt, position_ids, preprocess_frames  # noqa: E402

ANCHOR_GB = {"qkv": 40.0, "all": 60.0}  # ms-swift's A100 figure; the goal for all-linear


def example(tokenizer, config, frames: int, answer_tokens: int, rng, device) -> Encoded:
    pixels = preprocess_frames(rng.integers(0, 256, (frames, 360, 640, 3), dtype=np.uint8)).to(device)
    prompt = build_prompt(tokenizer, KEY_MOMENT_PROMPT, frames, template="chat", pad_token_id=config.pad_token_id)
    answer = [int(x) for x in rng.integers(1000, 60000, answer_tokens)]
    ids = prompt.input_ids + answer
    types = prompt.token_type_ids + [0] * len(answer)
    return Encoded(torch.tensor([ids]), torch.tensor([types]), torch.tensor([position_ids(types)]),
                   len(prompt.input_ids) - 1, torch.tensor(answer), pixels)


def run_target(config: CogVLMVideoConfig, target: str, args, device, dtype) -> dict:
    from peft import get_peft_model

    torch.cuda.empty_cache() if device.type == "cuda" else None
    model = random_model(config, device, dtype)
    model.model.gradient_checkpointing = True
    peft = get_peft_model(model, lora.lora_config(target, args.rank, 2 * args.rank, 0.05))
    peft.train()
    trainable = sum(p.numel() for p in peft.parameters() if p.requires_grad)
    optimizer = torch.optim.AdamW([p for p in peft.parameters() if p.requires_grad], lr=1e-4)
    tokenizer = SyntheticTokenizer(config.vocab_size, config.bos_token_id, config.eos_token_id[0])
    rng = np.random.default_rng(0)
    items = [example(tokenizer, config, args.frames, args.answer_tokens, rng, device) for _ in range(2)]
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    steps, vision = [], []
    for i in range(args.warmup + args.steps):
        item = items[i % len(items)]
        sync(device)
        t0 = time.perf_counter()
        with torch.no_grad():
            model.encode_frames(item.pixels)  # the frozen tower alone, timed on its own
        sync(device)
        t1 = time.perf_counter()
        loss = example_loss(model, item)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        sync(device)
        t2 = time.perf_counter()
        if i >= args.warmup:
            vision.append(t1 - t0)
            steps.append(t2 - t1)  # the training step (its own vision pass included)
    step = float(np.median(steps))
    peak = torch.cuda.max_memory_allocated(device) / 2 ** 30 if device.type == "cuda" else None
    del peft, model, optimizer, items
    return {"target": target, "trainable_parameters": trainable, "prompt_tokens": int(items_len(config, args)),
            "seconds_per_step": round(step, 4), "windows_per_second": round(1.0 / step, 3),
            "vision_share": round(float(np.median(vision)) / step, 4), "peak_gib": round(peak, 2) if peak else None,
            "anchor_gib": ANCHOR_GB[target], "within_anchor": (peak <= ANCHOR_GB[target]) if peak else None}


def items_len(config, args) -> int:
    tokenizer = SyntheticTokenizer(config.vocab_size, config.bos_token_id, config.eos_token_id[0])
    return len(build_prompt(tokenizer, KEY_MOMENT_PROMPT, args.frames, template="chat").input_ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="the tiny test configuration (CPU smoke test)")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--answer-tokens", type=int, default=64)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--targets", nargs="+", default=["qkv", "all"])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    device = torch.device(args.device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    config = tiny(vocab_size=70000) if args.tiny else CogVLMVideoConfig()
    rows = [run_target(config, t, args, device, dtype) for t in args.targets]
    result = {"benchmark": "finetune_gpu", "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
              "torch": torch.__version__, "python": platform.python_version(), "dtype": str(dtype),
              "frames": args.frames, "answer_tokens": args.answer_tokens, "rank": args.rank,
              "gradient_checkpointing": True, "batch": 1, "runs": rows}
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
