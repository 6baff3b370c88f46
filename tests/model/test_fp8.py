"""The opt-in FP8 vision tower: its arithmetic (run on the CPU through torch._scaled_mm), its conversion of
exactly the vision tower's linears, and its refusal where no FP8 tensor cores exist."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from cogvlm_media.model.fp8 import E4M3, FP8Linear, check_device, convert_linears, quantize_rows, quantize_vision
from cogvlm_media.model.loading import ModelLoadError, load_model


def test_quantize_rows_is_per_row_and_close():
    torch.manual_seed(0)
    x = torch.randn(6, 64) * torch.logspace(-3, 3, 6)[:, None]  # rows of very different size
    q, scale = quantize_rows(x)
    assert q.dtype == E4M3 and scale.shape == (6, 1) and scale.dtype == torch.float32
    assert torch.allclose(q.float().abs().amax(-1), torch.full((6,), 448.0))  # each row uses the full range
    back = q.float() * scale
    rel = ((back - x).norm(dim=-1) / x.norm(dim=-1))
    assert float(rel.max()) < 0.04  # e4m3: 3 mantissa bits, per-row scale
    q0, s0 = quantize_rows(torch.zeros(2, 16))  # an all-zero row stays zero (no division by zero)
    assert torch.equal(q0.float(), torch.zeros(2, 16)) and bool(torch.isfinite(s0).all())


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@torch.no_grad()
def test_fp8_linear_matches_linear(dtype):
    torch.manual_seed(1)
    lin = nn.Linear(48, 80).to(dtype)
    nn.init.normal_(lin.bias)
    fp8 = FP8Linear(lin)
    assert fp8.weight.dtype == E4M3 and fp8.weight.shape == (80, 48) and fp8.weight_scale.shape == (1, 80)
    x = torch.randn(3, 7, 48, dtype=dtype)
    out, ref = fp8(x), lin(x).float()
    assert out.shape == (3, 7, 80) and out.dtype == dtype
    assert float((out.float() - ref).norm() / ref.norm()) < 0.05
    # the same as the dequantised product of the quantised operands
    q, s = quantize_rows(x.reshape(-1, 48))
    emulated = (q.float() * s) @ fp8.dequantized_weight().t() + lin.bias.float()
    assert torch.allclose(out.float().reshape(-1, 80), emulated, rtol=2e-2, atol=2e-2)
    no_bias = FP8Linear(nn.Linear(48, 16, bias=False).to(dtype))
    assert no_bias.bias is None and no_bias(x).shape == (3, 7, 16)


def test_quantize_vision_converts_only_the_vision_tower(tiny_model):
    model = copy.deepcopy(tiny_model)
    before = model.model.vision(torch.randn(3, 3, 224, 224, generator=torch.Generator().manual_seed(0)))
    quantize_vision(model)  # on the CPU: converted, not compiled
    vision_linears = [m for m in model.model.vision.modules() if isinstance(m, nn.Linear)]
    fp8 = [m for m in model.model.vision.modules() if isinstance(m, FP8Linear)]
    layers = len(model.model.vision.transformer.layers)
    assert not vision_linears and len(fp8) == 4 * layers + 4  # qkv, dense, fc1, fc2 per layer + GLU's four
    rest = [m for n, m in model.named_modules() if isinstance(m, FP8Linear) and not n.startswith("model.vision.")]
    assert not rest  # the language model and lm_head stay in the compute dtype
    after = model.model.vision(torch.randn(3, 3, 224, 224, generator=torch.Generator().manual_seed(0)))
    assert after.shape == before.shape
    cos = nn.functional.cosine_similarity(after.flatten(1), before.flatten(1))
    assert float(cos.min()) > 0.99


def test_convert_linears_keeps_outputs_close():
    torch.manual_seed(2)
    net = nn.Sequential(nn.Linear(32, 64), nn.GELU(), nn.Linear(64, 32))
    x = torch.randn(10, 32)
    ref = net(x)
    convert_linears(net)
    assert all(not isinstance(m, nn.Linear) for m in net.modules())
    assert float((net(x) - ref).norm() / ref.norm()) < 0.05


def test_fp8_refused_without_fp8_tensor_cores(checkpoint):
    from cogvlm_media.model.fp8 import FP8Unsupported

    with pytest.raises(FP8Unsupported, match="CUDA GPU"):
        check_device("cpu")
    with pytest.raises(ModelLoadError, match="fp8 quantization needs a CUDA GPU"):
        load_model(checkpoint, device="cpu", quantization="fp8")
    with pytest.raises(ModelLoadError, match="unknown quantization .* fp8"):
        load_model(checkpoint, quantization="fp4")


def test_fp8_setting_reaches_the_loader(checkpoint):
    from cogvlm_media.config import ModelSettings
    from cogvlm_media.model.engine import VideoChat

    settings = ModelSettings(path=str(checkpoint), device="cpu", quantization="fp8")
    assert ModelSettings().quantization == ""  # the default path stays unquantised
    with pytest.raises(ModelLoadError, match="fp8"):
        VideoChat.from_settings(settings)


def test_fp8_from_toml(tmp_path):
    from cogvlm_media.config import load_settings

    path = tmp_path / "config.toml"
    path.write_text('[model]\npath = "/models/x"\nquantization = "fp8"\nbatch_size = 96\n', encoding="utf-8")
    settings = load_settings(path)
    assert settings.model.quantization == "fp8" and settings.model.batch_size == 96


def _fp8_gpu() -> bool:
    return torch.cuda.is_available() and torch.cuda.get_device_capability() >= (8, 9)


@pytest.mark.skipif(not _fp8_gpu(), reason="needs a CUDA GPU with FP8 tensor cores")
def test_fp8_checkpoint_on_gpu_answers_like_bf16(checkpoint):
    """The product path on a GPU: load with quantization="fp8" (vision in e4m3, compiled layers), answer."""
    import numpy as np

    from cogvlm_media.model.engine import Request, VideoChat

    rng = np.random.default_rng(0)
    reqs = [Request("describe the video in detail", rng.integers(0, 256, (n, 48, 64, 3), dtype=np.uint8))
            for n in (3, 1, 2)] + [Request("what happens", None)]
    fp8_chat = VideoChat.from_pretrained(str(checkpoint), device="cuda", dtype="bf16", quantization="fp8",
                                         batch_size=4, max_new_tokens=6)
    bf16_chat = VideoChat.from_pretrained(str(checkpoint), device="cuda", dtype="bf16", batch_size=4,
                                          max_new_tokens=6)
    assert any(isinstance(m, FP8Linear) for m in fp8_chat.model.model.vision.modules())
    pixels = torch.rand(4, 3, 224, 224, device="cuda")
    a, b = fp8_chat.model.encode_frames(pixels).float(), bf16_chat.model.encode_frames(pixels).float()
    assert float((a - b).norm() / b.norm()) < 0.25  # 2 random layers at std 0.1: FP8's ~4 % per product adds up
    tokens = fp8_chat.answer_tokens(reqs, min_new_tokens=6)
    assert [len(t) for t in tokens] == [6] * 4
    text_only = reqs[3:]  # no vision: the FP8 model computes exactly what the bf16 one does
    assert fp8_chat.answer_tokens(text_only) == bf16_chat.answer_tokens(text_only)


@pytest.mark.skipif(not _fp8_gpu(), reason="needs a CUDA GPU with FP8 tensor cores")
@torch.no_grad()
def test_fp8_linear_on_gpu_equals_its_emulation():
    """torch._scaled_mm with the row-wise scales computes the dequantised product (scales not transposed)."""
    torch.manual_seed(3)
    lin = nn.Linear(1792, 512).to("cuda", torch.bfloat16)
    nn.init.normal_(lin.bias)
    fp8 = FP8Linear(lin)
    rows = torch.logspace(-2, 2, 300, device="cuda")[:, None]  # tokens of very different size
    x = (torch.randn(2, 300, 1792, device="cuda") * rows).to(torch.bfloat16)
    out = fp8(x).float().reshape(-1, 512)
    q, s = quantize_rows(x.reshape(-1, 1792))
    emulated = (q.float() * s) @ fp8.dequantized_weight().t() + lin.bias.float()
    assert float((out - emulated).norm() / emulated.norm()) < 5e-3
    ref = lin(x).float().reshape(-1, 512)
    assert float((out - ref).norm() / ref.norm()) < 0.06
