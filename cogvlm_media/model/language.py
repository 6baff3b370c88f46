"""The language model (Llama-3 shape, the checkpoint's own names) and the whole CogVLM2-Video model.

Reuses transformers' Llama building blocks (RMSNorm in float32, SwiGLU MLP, rotary embedding and
``apply_rotary_pos_emb``) and PyTorch's SDPA. The video checkpoints carry only the language expert,
so every token, vision slots included, goes through the ``language_*`` weights.

Attention masks are boolean ``(B, 1, Q, K)`` (True: may attend), built by the caller from the padding
mask, so a left-padded row computes exactly what it would alone; ``None`` for a prompt pass without
padding means plain causal attention. ``cache`` is anything with
``update(key, value, layer_idx) -> (keys, values)``: transformers' ``DynamicCache`` or
``generation.StaticKV`` (preallocated, graph-capturable).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint
from transformers.models.llama.modeling_llama import (
    LlamaMLP,
    LlamaRMSNorm,
    LlamaRotaryEmbedding,
    apply_rotary_pos_emb,
)

from cogvlm_media.model.config import VISION_TOKEN, CogVLMVideoConfig
from cogvlm_media.model.vision_tower import VisionTower


class LanguageAttention(nn.Module):
    def __init__(self, config: CogVLMVideoConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.num_heads = config.num_attention_heads
        self.num_kv_heads = config.num_key_value_heads
        self.head_dim = config.head_dim
        self.language_expert_query_key_value = nn.Linear(config.hidden_size, config.qkv_size, bias=False)
        self.language_expert_dense = nn.Linear(self.num_heads * self.head_dim, config.hidden_size, bias=False)
        self.rope = apply_rotary_pos_emb  # model.fused swaps in a compiled one

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor,
                cache=None) -> torch.Tensor:
        b, s, _ = x.shape
        d, nq, nkv = self.head_dim, self.num_heads, self.num_kv_heads
        q, k, v = self.language_expert_query_key_value(x).split([nq * d, nkv * d, nkv * d], dim=-1)
        q = q.view(b, s, nq, d).transpose(1, 2)
        k = k.view(b, s, nkv, d).transpose(1, 2)
        v = v.view(b, s, nkv, d).transpose(1, 2)
        q, k = self.rope(q, k, cos, sin)
        if cache is not None:
            k, v = cache.update(k, v, self.layer_idx)
        group = nq // nkv
        if s == 1:
            # One query per row: the query heads sharing a key/value head become that head's query rows,
            # so keys and values are read once per group instead of being repeated.
            out = F.scaled_dot_product_attention(q.view(b, nkv, group, d), k, v, attn_mask=mask)
            out = out.reshape(b, 1, nq * d)
        else:
            if mask is None:  # no padding: plain causal attention (flash kernels, grouped heads natively)
                out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=group > 1)
            else:
                if group > 1:
                    k = k.repeat_interleave(group, dim=1)
                    v = v.repeat_interleave(group, dim=1)
                out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            out = out.transpose(1, 2).reshape(b, s, nq * d)
        return self.language_expert_dense(out)


class LanguageMLP(nn.Module):
    def __init__(self, config: CogVLMVideoConfig, text_config):
        super().__init__()
        self.language_mlp = LlamaMLP(text_config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.language_mlp(x)


class DecoderLayer(nn.Module):
    def __init__(self, config: CogVLMVideoConfig, text_config, layer_idx: int):
        super().__init__()
        self.input_layernorm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.self_attn = LanguageAttention(config, layer_idx)
        self.post_attention_layernorm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.mlp = LanguageMLP(config, text_config)

    def forward(self, x, cos, sin, mask, cache=None):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class CogVLMVideoModel(nn.Module):
    def __init__(self, config: CogVLMVideoConfig):
        super().__init__()
        text_config = config.text_config()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(config, text_config, i) for i in range(config.num_hidden_layers))
        self.norm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.vision = VisionTower(config)
        self.rotary_emb = LlamaRotaryEmbedding(text_config)  # non-persistent buffers only
        self.gradient_checkpointing = False  # fine-tuning: recompute each layer in the backward pass

    def embed(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor,
              vision_embeds: torch.Tensor | None = None) -> torch.Tensor:
        """Token embeddings with each frame's 66 vision embeddings written into its vision slots, in order."""
        embeds = self.embed_tokens(input_ids)
        slots = token_type_ids == VISION_TOKEN
        if vision_embeds is None or vision_embeds.numel() == 0:
            return embeds
        flat = vision_embeds.reshape(-1, embeds.shape[-1]).to(embeds.dtype)
        if int(slots.sum()) != flat.shape[0]:
            raise ValueError(f"{int(slots.sum())} vision slots but {flat.shape[0]} vision embeddings")
        return embeds.masked_scatter(slots.unsqueeze(-1), flat)

    def forward(self, embeds: torch.Tensor, position_ids: torch.Tensor, mask: torch.Tensor,
                cache=None) -> torch.Tensor:
        cos, sin = self.rotary_emb(embeds, position_ids)
        x = embeds
        recompute = self.gradient_checkpointing and self.training and torch.is_grad_enabled()
        for layer in self.layers:
            if recompute:
                x = checkpoint(layer, x, cos, sin, mask, cache, use_reentrant=False)
            else:
                x = layer(x, cos, sin, mask, cache)
        return self.norm(x)


class CogVLMVideoForCausalLM(nn.Module):
    def __init__(self, config: CogVLMVideoConfig):
        super().__init__()
        self.config = config
        self.fused = ""  # the torch.compile backend of model.fused.fuse_language, when applied
        self.model = CogVLMVideoModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)

    @property
    def device(self) -> torch.device:
        return self.lm_head.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.model.embed_tokens.weight.dtype

    def encode_frames(self, images: torch.Tensor, chunk: int = 256) -> torch.Tensor:
        """Preprocessed frames ``(N, 3, 224, 224)`` -> ``(N, 66, hidden)``, ``chunk`` frames at a time."""
        vision = self.model.vision
        images = images.to(device=self.device, dtype=vision.patch_embedding.proj.weight.dtype)
        parts = [vision(images[i:i + chunk]) for i in range(0, images.shape[0], chunk)]
        if not parts:
            return images.new_zeros((0, 66, self.config.hidden_size), dtype=self.dtype)
        return torch.cat(parts)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor, position_ids: torch.Tensor,
                mask: torch.Tensor, vision_embeds: torch.Tensor | None = None, cache=None,
                last_only: bool = True) -> torch.Tensor:
        """Float32 logits: ``(B, V)`` for the last position when ``last_only``, else ``(B, S, V)``."""
        embeds = self.model.embed(input_ids, token_type_ids, vision_embeds)
        hidden = self.model(embeds, position_ids, mask, cache)
        if last_only:
            hidden = hidden[:, -1]
        return self.lm_head(hidden).float()

    @torch.no_grad()
    def reset_rotary(self, device: torch.device | str | None = None) -> None:
        """Recompute the rotary inverse frequencies (non-persistent; lost after meta-device loading)."""
        self.model.rotary_emb = LlamaRotaryEmbedding(self.config.text_config()).to(device or self.device)
