"""Logit agreement for bench/ingest_gpu.py: bf16 against float32 (the same weights), and the 4-/8-bit
models against the bf16 logits saved by the ``run`` step, all teacher-forced over the same answer tokens
(random weights make free-running answers part at the first rounding change; see cogvlm2_accuracy.py)."""

from __future__ import annotations

from pathlib import Path

import torch

from cogvlm2_accuracy import compare, teacher_forced
from cogvlm_media.model.engine import Request
from cogvlm_media.model.prompts import CAPTION_PROMPT

ANSWER_TOKENS = 32


def _requests(frames: list) -> list[Request]:
    return [Request(CAPTION_PROMPT, f) for f in frames]


def _logits(chat, reqs, answers) -> list[torch.Tensor]:
    with torch.no_grad(), torch.compiler.set_stance("force_eager"):
        embeds = chat._vision(reqs)
        return teacher_forced(chat.model, chat, reqs, answers, embeds)


def reference_logits(chat, items, path: Path, speed_items, speed_seconds: float) -> dict:
    """bf16 greedy answers and their teacher-forced logits on ``items``' frames, saved (with the windows
    ``quant`` times) to ``path``; then the model in float32 on the same answers, compared."""
    frames = [it.frames for it in items]
    reqs = _requests(frames)
    size = chat.batch_size
    chat.batch_size = len(reqs)
    answers = chat.answer_tokens(reqs, max_new_tokens=ANSWER_TOKENS, min_new_tokens=ANSWER_TOKENS)
    chat.batch_size = size
    bf16 = _logits(chat, reqs, answers)
    torch.save({"frames": frames, "answers": answers, "logits_bf16": [x.cpu() for x in bf16],
                "speed_items": speed_items, "speed_seconds": speed_seconds}, path)
    chat.generator._states.clear()  # decode caches and graphs
    torch.cuda.empty_cache()
    chat.model.float()
    fp32 = _logits(chat, reqs, answers)
    return {"windows": len(reqs), "answer_tokens": ANSWER_TOKENS, "reference": "float32 (same weights)",
            **compare(fp32, bf16)}


def compare_saved(chat, ref: dict) -> dict:
    reqs = _requests(ref["frames"])
    got = _logits(chat, reqs, ref["answers"])
    bf16 = [x.to(got[0].device) for x in ref["logits_bf16"]]
    return {"windows": len(reqs), "answer_tokens": ANSWER_TOKENS, "reference": "bf16", **compare(bf16, got)}
