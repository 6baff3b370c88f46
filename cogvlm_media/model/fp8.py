"""Opt-in FP8 (e4m3) matrix products for the vision tower (``quantization = "fp8"``; Hopper / Ada GPUs).

Every ``nn.Linear`` of the vision tower (the 63 EVA2-CLIP-E layers' ``query_key_value``, ``dense``,
``fc1``, ``fc2`` and the GLU adapter's four) becomes an ``FP8Linear``:

- weights: e4m3 with one float32 scale per output row (``amax / 448``), quantised once;
- activations: e4m3 with one float32 scale per token row, computed on the fly (dynamic, no calibration);
- the product: ``torch._scaled_mm`` (row-wise scales, bf16 output), bias added afterwards; off CUDA the
  same arithmetic is emulated in float32 (tests only: ``quantization = "fp8"`` is refused there).

The language model (prefill and decode) stays in bf16. On CUDA the vision layers are compiled with
``torch.compile`` (when Triton is available) so the per-row scaling, the casts, the biases, GELU and the
LayerNorms fuse into a few kernels around the FP8 products; without Triton they run eagerly.

This changes the numbers the model computes (FP8 keeps ~3 significant bits): ``bench/cogvlm2_gpu.py --fp8``
reports the largest logit difference and the top-1 agreement against bf16 on the same inputs. The
default (``quantization = ""``) path is untouched.
"""

from __future__ import annotations

import torch
from torch import nn

E4M3 = torch.float8_e4m3fn
E4M3_MAX = 448.0
MIN_CAPABILITY = (8, 9)  # FP8 tensor cores: Ada (8.9) and Hopper (9.0) onwards


class FP8Unsupported(RuntimeError):
    pass


def quantize_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(M, K)`` -> e4m3 ``(M, K)`` and float32 scales ``(M, 1)`` with ``x ≈ q * scale`` row by row."""
    xf = x.float()
    scale = xf.abs().amax(dim=-1, keepdim=True).clamp(min=1e-12) / E4M3_MAX
    q = (xf / scale).clamp(-E4M3_MAX, E4M3_MAX).to(E4M3)
    return q, scale


class FP8Linear(nn.Module):
    """``y = x @ W.T + b`` with ``W`` and ``x`` in e4m3 (row-wise scales), output in the input's dtype."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        with torch.no_grad():
            q, scale = quantize_rows(linear.weight.detach())
        self.register_buffer("weight", q)  # (N, K) row-major -> .t() is the column-major operand
        self.register_buffer("weight_scale", scale.reshape(1, -1).contiguous())  # (1, N)
        bias = None if linear.bias is None else linear.bias.detach().clone()
        self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        q, scale = quantize_rows(x.reshape(-1, shape[-1]))
        if q.is_cuda:
            out = torch._scaled_mm(q, self.weight.t(), scale_a=scale, scale_b=self.weight_scale, out_dtype=x.dtype)
        else:  # the same arithmetic, emulated in float32 (CPU builds may lack an FP8 _scaled_mm)
            out = ((q.float() * scale) @ self.dequantized_weight().t()).to(x.dtype)
        if self.bias is not None:
            out = out + self.bias.to(out.dtype)
        return out.view(*shape[:-1], self.out_features)

    def dequantized_weight(self) -> torch.Tensor:
        return self.weight.float() * self.weight_scale.t()

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def check_device(device) -> None:
    """Refuse (``FP8Unsupported``) anything but a CUDA GPU with FP8 tensor cores."""
    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        raise FP8Unsupported(f"fp8 quantization needs a CUDA GPU with FP8 tensor cores (model.device is {device})")
    cap = torch.cuda.get_device_capability(device)
    if cap < MIN_CAPABILITY:
        raise FP8Unsupported(f"fp8 quantization needs compute capability >= 8.9 (Ada/Hopper); "
                             f"{torch.cuda.get_device_name(device)} has {cap[0]}.{cap[1]}")


def convert_linears(module: nn.Module) -> nn.Module:
    """Replace every ``nn.Linear`` under ``module`` by an ``FP8Linear`` (in place, on the weights' device)."""
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear):
                setattr(parent, name, FP8Linear(child))
    return module


def compile_layers(vision: nn.Module) -> bool:
    """Compile each vision transformer layer (one compiled graph shared by all 63). False without Triton."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    import torch._dynamo

    torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 64)
    for layer in vision.transformer.layers:
        layer.compile()
    return True


def quantize_vision(model: nn.Module, compile: bool | None = None) -> nn.Module:
    """FP8 vision tower for ``model`` (a ``CogVLMVideoForCausalLM``) on its device; compiled on CUDA."""
    vision = model.model.vision
    convert_linears(vision)
    if compile is None:
        compile = next(vision.buffers()).device.type == "cuda"
    if compile:
        compile_layers(vision)
    return model
