"""The accuracy half of bench/cogvlm2_gpu.py: how far a faster variant moves the model's logits.

Random weights make greedy answers fragile (the logits are nearly flat, so any rounding change flips a
token and the answers part from there), so the variants are compared teacher-forced: every variant
scores the same answer tokens at the same positions, and its logits are compared position by position
with a reference — the bf16 model for FP8, and a float32 copy of the language model for the fused
kernels, where eager bf16 is measured against the same reference as the size of bf16's own rounding.
"""

from __future__ import annotations

import copy

import numpy as np
import torch


def teacher_forced(model, chat, reqs, answers, embeds) -> list[torch.Tensor]:
    """Float32 logits ``(len(answer), V)`` at each answer position of each request."""
    out, offset = [], 0
    as_t = lambda v: torch.tensor([v], device=model.device)  # noqa: E731
    with torch.no_grad():
        for r, answer in zip(reqs, answers):
            p = chat.prompt(r)
            n = len(answer) - 1
            ids = as_t(p.input_ids + answer[:-1])
            types = as_t(p.token_type_ids + [0] * n)
            pos = as_t(p.position_ids + [max(p.position_ids) + 1 + k for k in range(n)])
            frames = embeds[offset:offset + p.num_frames].to(model.dtype)
            offset += p.num_frames
            out.append(model(ids, types, pos, None, frames, last_only=False)[0, len(p.input_ids) - 1:].float())
    return out


def compare(reference: list[torch.Tensor], other: list[torch.Tensor]) -> dict:
    ref, oth = torch.cat(reference), torch.cat(other)
    return {"max_abs_logit_diff": float((ref - oth).abs().max()),
            "relative_l2": float((ref - oth).norm() / ref.norm()),
            "top1_agreement": float((ref.argmax(-1) == oth.argmax(-1)).float().mean())}


def greedy(reference: list[list[int]], other: list[list[int]]) -> dict:
    prefix = [next((k for k, (a, b) in enumerate(zip(x, y)) if a != b), min(len(x), len(y)))
              for x, y in zip(reference, other)]
    return {"identical_answers": sum(x == y for x, y in zip(reference, other)),
            "token_agreement": sum(a == b for x, y in zip(reference, other) for a, b in zip(x, y))
            / max(1, sum(len(x) for x in reference)),
            "mean_common_prefix": float(np.mean(prefix))}


def fp8_accuracy(chat, vision_bf16, towers: dict, reqs, new_tokens: int) -> dict:
    """Each vision tower in ``towers`` against the bf16 tower on identical windows (same frames, weights,
    prompts): teacher-forced logits over the bf16 answers, and each tower's own greedy answers."""
    model = chat.model
    chat.batch_size = len(reqs)
    runs = {}
    for name, tower in {"bf16": vision_bf16, **towers}.items():
        model.model.vision = tower
        runs[name] = (chat.answer_tokens(reqs, max_new_tokens=new_tokens, min_new_tokens=new_tokens),
                      chat._vision(reqs).float())
    model.model.vision = vision_bf16
    tok_b, emb_b = runs.pop("bf16")
    logits_b = teacher_forced(model, chat, reqs, tok_b, emb_b)
    out = {"windows": len(reqs), "positions": sum(x.shape[0] for x in logits_b),
           "max_abs_logit_bf16": max(float(x.abs().max()) for x in logits_b)}
    for name, (tok, emb) in runs.items():
        logits = compare(logits_b, teacher_forced(model, chat, reqs, tok_b, emb))
        g = greedy(tok_b, tok)
        out[name] = {
            "vision_embeds_relative_l2": float((emb - emb_b).norm() / emb_b.norm()),
            "max_abs_logit_diff": logits["max_abs_logit_diff"],
            "top1_agreement_teacher_forced": logits["top1_agreement"],
            "greedy_token_agreement": g["token_agreement"],
            "greedy_identical_answers": g["identical_answers"],
            "greedy_mean_common_prefix": g["mean_common_prefix"],
        }
    return out


def fp8_mlp_only(vision_bf16):
    """Variant: FP8 only for fc1/fc2 (attention projections and the GLU adapter stay bf16)."""
    from cogvlm_media.model import fp8

    tower = copy.deepcopy(vision_bf16)
    for layer in tower.transformer.layers:
        fp8.convert_linears(layer.mlp)
    return tower


def fused_accuracy(chat, reqs, new_tokens: int, fuse) -> dict:
    """Eager bf16 and fused bf16 language layers, each against a float32 copy of the language model,
    teacher-forced over the eager answers (same vision embeddings for all); ``fuse()`` applies the
    fusion in place between the two bf16 measurements."""
    model = chat.model
    chat.batch_size = len(reqs)
    eager_tokens = chat.answer_tokens(reqs, max_new_tokens=new_tokens, min_new_tokens=new_tokens)
    embeds = chat._vision(reqs)
    eager = teacher_forced(model, chat, reqs, eager_tokens, embeds)

    chat.generator._states.clear()  # free the decode cache while the float32 copy exists
    torch.cuda.empty_cache()
    vision, model.model.vision = model.model.vision, None
    try:
        ref_model = copy.deepcopy(model).float()  # the language model only (8 B parameters, 32 GB)
    finally:
        model.model.vision = vision
    reference = teacher_forced(ref_model, chat, reqs, eager_tokens, embeds.float())
    del ref_model
    torch.cuda.empty_cache()

    fuse()
    fused_tokens = chat.answer_tokens(reqs, max_new_tokens=new_tokens, min_new_tokens=new_tokens)
    fused = teacher_forced(model, chat, reqs, eager_tokens, embeds)
    return {"windows": len(reqs), "positions": sum(x.shape[0] for x in eager),
            "max_abs_logit_fp32": max(float(x.abs().max()) for x in reference),
            "eager_bf16_vs_fp32": compare(reference, eager), "fused_bf16_vs_fp32": compare(reference, fused),
            "fused_vs_eager_bf16": compare(eager, fused), "greedy_fused_vs_eager": greedy(eager_tokens, fused_tokens)}
