"""Parameter names and shapes follow the checkpoint for any config, and equal shared reference §4 at full size."""

from __future__ import annotations

import json

import torch

from cogvlm_media.model.config import CogVLMVideoConfig, VisionConfig, tiny
from cogvlm_media.model.language import CogVLMVideoForCausalLM
from cogvlm_media.model.loading import build_empty, parameter_shapes


def published_names_and_shapes() -> dict[str, tuple[int, ...]]:
    """Written out from the reference's §4 (Llama-3-8B language model + EVA2-CLIP-E vision tower)."""
    e: dict[str, tuple[int, ...]] = {
        "model.embed_tokens.weight": (128256, 4096),
        "model.norm.weight": (4096,),
        "lm_head.weight": (128256, 4096),
    }
    for i in range(32):
        p = f"model.layers.{i}."
        e[p + "input_layernorm.weight"] = (4096,)
        e[p + "post_attention_layernorm.weight"] = (4096,)
        e[p + "self_attn.language_expert_query_key_value.weight"] = (6144, 4096)
        e[p + "self_attn.language_expert_dense.weight"] = (4096, 4096)
        e[p + "mlp.language_mlp.gate_proj.weight"] = (14336, 4096)
        e[p + "mlp.language_mlp.up_proj.weight"] = (14336, 4096)
        e[p + "mlp.language_mlp.down_proj.weight"] = (4096, 14336)
    v = "model.vision."
    e[v + "patch_embedding.proj.weight"] = (1792, 3, 14, 14)
    e[v + "patch_embedding.proj.bias"] = (1792,)
    e[v + "patch_embedding.cls_embedding"] = (1, 1792)
    e[v + "patch_embedding.position_embedding.weight"] = (257, 1792)
    for i in range(63):
        p = f"{v}transformer.layers.{i}."
        e[p + "attention.query_key_value.weight"] = (5376, 1792)
        e[p + "attention.query_key_value.bias"] = (5376,)
        e[p + "attention.dense.weight"] = (1792, 1792)
        e[p + "attention.dense.bias"] = (1792,)
        e[p + "mlp.fc1.weight"] = (15360, 1792)
        e[p + "mlp.fc1.bias"] = (15360,)
        e[p + "mlp.fc2.weight"] = (1792, 15360)
        e[p + "mlp.fc2.bias"] = (1792,)
        for norm in ("input_layernorm", "post_attention_layernorm"):
            e[p + norm + ".weight"] = (1792,)
            e[p + norm + ".bias"] = (1792,)
    e[v + "conv.weight"] = (1792, 1792, 2, 2)
    e[v + "conv.bias"] = (1792,)
    e[v + "linear_proj.linear_proj.weight"] = (4096, 1792)
    e[v + "linear_proj.norm1.weight"] = (4096,)
    e[v + "linear_proj.norm1.bias"] = (4096,)
    e[v + "linear_proj.gate_proj.weight"] = (14336, 4096)
    e[v + "linear_proj.dense_h_to_4h.weight"] = (14336, 4096)
    e[v + "linear_proj.dense_4h_to_h.weight"] = (4096, 14336)
    e[v + "boi"] = (1, 1, 4096)
    e[v + "eoi"] = (1, 1, 4096)
    return e


def test_full_size_matches_reference_names_and_shapes():
    model = build_empty(CogVLMVideoConfig())
    assert all(p.is_meta for p in model.parameters())
    assert parameter_shapes(model) == published_names_and_shapes()
    total = sum(p.numel() for p in model.parameters())
    assert 12.4e9 < total < 12.6e9  # "~12.5 B parameters"


def test_names_follow_checkpoint_for_a_tiny_config():
    cfg = tiny(vocab_size=300, num_hidden_layers=3)
    shapes = parameter_shapes(build_empty(cfg))
    d, vd = cfg.hidden_size, cfg.vision.hidden_size
    qkv = (cfg.num_attention_heads + 2 * cfg.num_key_value_heads) * cfg.head_dim
    assert shapes["model.embed_tokens.weight"] == (300, d)
    assert shapes["lm_head.weight"] == (300, d)
    assert shapes["model.layers.2.self_attn.language_expert_query_key_value.weight"] == (qkv, d)
    assert shapes["model.layers.2.mlp.language_mlp.down_proj.weight"] == (d, cfg.intermediate_size)
    assert "model.layers.3.input_layernorm.weight" not in shapes
    assert shapes["model.vision.transformer.layers.1.attention.query_key_value.weight"] == (3 * vd, vd)
    assert shapes["model.vision.conv.weight"] == (vd, vd, 2, 2)
    assert shapes["model.vision.boi"] == (1, 1, d)
    # same name set as the full size, modulo layer counts
    full = {n for n in published_names_and_shapes() if ".layers." not in n}
    assert full == {n for n in shapes if ".layers." not in n}


def test_published_config_json_is_read():
    raw = {  # the keys of the published config.json
        "architectures": ["CogVLMVideoForCausalLM"], "bos_token_id": 128000, "eos_token_id": [128001, 128009],
        "pad_token_id": 128002, "hidden_act": "silu", "hidden_size": 4096, "intermediate_size": 14336,
        "max_position_embeddings": 8192, "num_attention_heads": 32, "num_hidden_layers": 32,
        "num_multi_query_heads": 8, "rms_norm_eps": 1e-05, "template_version": "base", "vocab_size": 128256,
        "tie_word_embeddings": False, "torch_dtype": "bfloat16",
        "vision_config": {"dropout_prob": 0.0, "hidden_act": "gelu", "in_channels": 3, "num_hidden_layers": 63,
                          "hidden_size": 1792, "patch_size": 14, "num_heads": 16, "intermediate_size": 15360,
                          "layer_norm_eps": 1e-06, "num_positions": 257, "image_size": 224},
    }
    cfg = CogVLMVideoConfig.from_dict(raw)
    assert cfg == CogVLMVideoConfig()
    assert cfg.template_version == "chat"  # prompts are always built with the chat template
    assert cfg.vision == VisionConfig()
    again = CogVLMVideoConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg


def test_rotary_base_500000_neox_style():
    model = CogVLMVideoForCausalLM(tiny(vocab_size=50))
    head_dim = model.config.head_dim
    expected = 1.0 / (500000.0 ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    torch.testing.assert_close(model.model.rotary_emb.inv_freq, expected)
    cos, sin = model.model.rotary_emb(torch.zeros(1, dtype=torch.float32), torch.tensor([[3]]))
    # rotate-half layout: the two halves repeat the same frequencies
    torch.testing.assert_close(cos[0, 0, : head_dim // 2], cos[0, 0, head_dim // 2:])
    torch.testing.assert_close(cos[0, 0, : head_dim // 2], torch.cos(3 * expected))


def test_vision_tower_output_is_66_slots(tiny_model):
    out = tiny_model.encode_frames(torch.randn(3, 3, 224, 224))
    assert out.shape == (3, 66, tiny_model.config.hidden_size)
    torch.testing.assert_close(out[:, 0], tiny_model.model.vision.boi[0].expand(3, -1))
    torch.testing.assert_close(out[:, -1], tiny_model.model.vision.eoi[0].expand(3, -1))


def test_vision_layer_is_sandwich_ordered(tiny_model):
    """h + LN(attn(h)), then h + LN(mlp(h)): recompute one layer by hand."""
    layer = tiny_model.model.vision.transformer.layers[0]
    x = torch.randn(2, 257, tiny_model.config.vision.hidden_size)
    a = x + layer.input_layernorm(layer.attention(x))
    want = a + layer.post_attention_layernorm(layer.mlp.fc2(torch.nn.functional.gelu(layer.mlp.fc1(a))))
    torch.testing.assert_close(layer(x), want)
