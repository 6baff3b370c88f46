"""Fused element-wise work in the language model, for GPU throughput.

Eager PyTorch runs each small step of a decoder layer as its own kernel: the RMSNorm alone is six
(the float32 cast, square, mean, rsqrt, scale, cast back), the rotary embedding about ten, SwiGLU's
SiLU and product two more. In a long prefill each of them streams the whole activation through memory;
in a decode step each is a launch that does almost nothing. :func:`fuse_language` compiles the norms,
the MLP and the rotary embedding with ``torch.compile`` so each becomes one kernel around cuBLAS's
matrix multiplies (the attention, the cache and the weights are untouched).

Same weights and the same formulas; intermediate values stay in float32 inside a fused kernel instead of
being rounded to bf16 between ops, so logits differ from eager at bf16 rounding level. Compiled modules
share one graph across all layers (weights are graph inputs); shapes seen before a CUDA-graph capture
are compiled by then, so capture records no compilation.
"""

from __future__ import annotations

import logging

import torch
from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

log = logging.getLogger(__name__)


def available(device: torch.device | str) -> bool:
    """Inductor's GPU code needs Triton; elsewhere fusion is not worth its compile time."""
    if torch.device(device).type != "cuda":
        return False
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def probe(device: torch.device) -> str | None:
    """Compile and run one tiny fused kernel on ``device``; the reason when that fails (no C compiler for
    Triton's launcher, a broken Triton), so a model falls back to eager layers at load time instead of
    failing on its first batch."""
    try:
        fn = torch.compile(lambda x: torch.nn.functional.silu(x) * x, backend="inductor", fullgraph=True)
        fn(torch.ones(8, device=device))
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize(device)
    except Exception as exc:  # noqa: BLE001 - any failure means: stay eager
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"{type(exc).__name__}: {first}"[:300]
    return None


def fuse_language(model, backend: str = "inductor") -> bool:
    """Compile the element-wise parts of every decoder layer of ``model`` (a ``CogVLMVideoForCausalLM``)
    in place. ``backend="inductor"`` only on a CUDA device with Triton where a probe kernel compiles and
    runs (False otherwise, with a logged reason: nothing changes); other backends (``"aot_eager"``) are
    for tests of the wiring on any device."""
    if backend == "inductor":
        if not available(model.device):
            return False
        reason = probe(model.device)
        if reason:
            log.warning("language layers stay eager (torch.compile failed: %s)", reason)
            return False
    import torch._dynamo

    torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 64)
    options = {"backend": backend, "fullgraph": True}
    rope = torch.compile(apply_rotary_pos_emb, **options)
    for layer in model.model.layers:
        layer.input_layernorm.compile(**options)
        layer.post_attention_layernorm.compile(**options)
        layer.mlp.compile(**options)
        layer.self_attn.rope = rope
    model.model.norm.compile(**options)
    model.fused = backend
    return True
