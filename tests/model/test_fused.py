"""model.fused: the compiled norms, MLP and rotary embedding are wired into every layer and compute what
the eager modules compute. On CPU the graphs are compiled with the ``aot_eager`` backend (same aten ops,
no code generation), so outputs must match eager to float32 rounding; Inductor itself runs on the GPU
(bench/cogvlm2_gpu.py --fused), where it is the default."""

from __future__ import annotations

import copy

import numpy as np
import torch

from cogvlm_media.model import fused
from cogvlm_media.model.engine import Request, VideoChat


def test_inductor_fusion_is_only_offered_on_cuda(tiny_model):
    assert fused.available("cpu") is False
    model = copy.deepcopy(tiny_model)
    assert fused.fuse_language(model) is False  # CPU: nothing changes
    assert model.fused == "" and model.model.layers[0].self_attn.rope is fused.apply_rotary_pos_emb


def test_a_failing_compiler_leaves_the_layers_eager(tiny_model, monkeypatch, caplog):
    model = copy.deepcopy(tiny_model)
    monkeypatch.setattr(fused, "available", lambda device: True)  # as on a GPU with Triton

    def broken(*args, **kwargs):
        raise RuntimeError("Failed to find C compiler. Please specify via CC environment variable.")

    monkeypatch.setattr(torch, "compile", broken)
    assert fused.fuse_language(model) is False
    assert model.fused == "" and model.model.layers[0].mlp._compiled_call_impl is None
    assert "stay eager" in caplog.text and "C compiler" in caplog.text


def test_fused_layers_generate_what_eager_layers_generate(tiny_model, tokenizer):
    model = copy.deepcopy(tiny_model)
    assert fused.fuse_language(model, backend="aot_eager")
    assert model.fused == "aot_eager"
    for layer in model.model.layers:
        assert layer.mlp._compiled_call_impl is not None and layer.input_layernorm._compiled_call_impl is not None
        assert layer.self_attn.rope is not fused.apply_rotary_pos_emb
    rng = np.random.default_rng(7)
    requests = [Request("describe the video in detail", rng.integers(0, 256, (n, 36, 64, 3), dtype=np.uint8))
                for n in (3, 1, 4)] + [Request("what happens", None)]
    eager = VideoChat(tiny_model, tokenizer, batch_size=4, max_new_tokens=8)
    compiled = VideoChat(model, tokenizer, batch_size=4, max_new_tokens=8)
    assert compiled.answer_tokens(requests) == eager.answer_tokens(requests)  # prefill + decode shapes
    prompt = eager.prompt(requests[0])
    ids, types = torch.tensor([prompt.input_ids]), torch.tensor([prompt.token_type_ids])
    pos, frames = torch.tensor([prompt.position_ids]), eager._vision(requests[:1])
    with torch.no_grad():
        want = tiny_model(ids, types, pos, None, frames, last_only=False)
        got = model(ids, types, pos, None, frames, last_only=False)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
