"""Optional 4-/8-bit weights through bitsandbytes (imported only when asked for; CUDA only), or FP8.

``fp8`` (no extra package; compute capability >= 8.9) quantises only the vision tower's linears to e4m3
and runs them through ``torch._scaled_mm`` (see ``cogvlm_media.model.fp8``); the language model stays
in the compute dtype.

Every ``nn.Linear`` except ``lm_head`` is replaced by its bitsandbytes counterpart; the weights are
quantised when the module moves to the GPU. 4-bit uses NF4 with the compute dtype as
``bnb_4bit_compute_dtype``.
"""

from __future__ import annotations

import torch
from torch import nn

from cogvlm_media.model.loading import ModelLoadError

KINDS = ("4bit", "8bit", "fp8")
BNB_KINDS = ("4bit", "8bit")


def check(kind: str, device) -> None:
    """Refuse an unknown kind, or one the device cannot run, before any weights are read."""
    if kind not in KINDS:
        raise ModelLoadError(f"unknown quantization {kind!r} (use 4bit, 8bit, fp8 or leave it empty)")
    if kind == "fp8":
        from cogvlm_media.model.fp8 import FP8Unsupported, check_device

        try:
            check_device(device)
        except FP8Unsupported as exc:
            raise ModelLoadError(str(exc)) from None


def quantize(model: nn.Module, kind: str, compute_dtype: torch.dtype, device) -> nn.Module:
    check(kind, device)
    if kind == "fp8":
        from cogvlm_media.model.fp8 import quantize_vision

        return quantize_vision(model.to(device))
    if torch.device(device).type != "cuda":
        raise ModelLoadError(f"{kind} quantization needs a CUDA device (model.device is {device})")
    try:
        import bitsandbytes as bnb
    except ImportError:
        raise ModelLoadError(f"{kind} quantization needs bitsandbytes: pip install bitsandbytes") from None

    def convert(linear: nn.Linear) -> nn.Module:
        bias = linear.bias is not None
        if kind == "4bit":
            q = bnb.nn.Linear4bit(linear.in_features, linear.out_features, bias=bias,
                                  compute_dtype=compute_dtype, quant_type="nf4")
            q.weight = bnb.nn.Params4bit(linear.weight.data, requires_grad=False, quant_type="nf4")
        else:
            q = bnb.nn.Linear8bitLt(linear.in_features, linear.out_features, bias=bias,
                                    has_fp16_weights=False, threshold=6.0)
            q.weight = bnb.nn.Int8Params(linear.weight.data, requires_grad=False, has_fp16_weights=False)
        if bias:
            q.bias = nn.Parameter(linear.bias.data, requires_grad=False)
        return q

    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if isinstance(child, nn.Linear) and full != "lm_head":
                setattr(module, child_name, convert(child))
    return model.to(device)
