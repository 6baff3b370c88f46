"""Optional 4-/8-bit weights through bitsandbytes (imported only when asked for; CUDA only).

Every ``nn.Linear`` except ``lm_head`` is replaced by its bitsandbytes counterpart; the weights are
quantised when the module moves to the GPU. 4-bit uses NF4 with the compute dtype as
``bnb_4bit_compute_dtype``.
"""

from __future__ import annotations

import torch
from torch import nn

from cogvlm_media.model.loading import ModelLoadError

KINDS = ("4bit", "8bit")


def quantize(model: nn.Module, kind: str, compute_dtype: torch.dtype, device) -> nn.Module:
    if kind not in KINDS:
        raise ModelLoadError(f"unknown quantization {kind!r} (use 4bit, 8bit or leave it empty)")
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
