"""The vision tower: EVA2-CLIP-E, a 2x2 conv down to 8x8 tokens and a GLU adapter into the language width.

Module and parameter names follow the checkpoint (``model.vision.*``). Frames come in preprocessed
(``(N, 3, 224, 224)``, see ``inputs.preprocess_frames``) and leave as ``(N, 66, hidden)``: boi, the 64
adapted patch tokens in row-major order, eoi.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cogvlm_media.model.config import CogVLMVideoConfig, VisionConfig


class PatchEmbedding(nn.Module):
    def __init__(self, config: VisionConfig):
        super().__init__()
        self.proj = nn.Conv2d(config.in_channels, config.hidden_size, config.patch_size, stride=config.patch_size)
        self.cls_embedding = nn.Parameter(torch.zeros(1, config.hidden_size))
        self.position_embedding = nn.Embedding(config.num_positions, config.hidden_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.proj(images.to(self.proj.weight.dtype)).flatten(2).transpose(1, 2)  # (N, 256, hidden)
        cls = self.cls_embedding.expand(x.shape[0], -1, -1)
        return torch.cat((cls, x), dim=1) + self.position_embedding.weight.unsqueeze(0)


class Attention(nn.Module):
    """Full (non-causal) multi-head attention, scaled by 1/sqrt(head_dim), through SDPA."""

    def __init__(self, config: VisionConfig):
        super().__init__()
        self.num_heads = config.num_heads
        self.query_key_value = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, s, _ = x.shape
        qkv = self.query_key_value(x).view(n, s, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        return self.dense(out.transpose(1, 2).reshape(n, s, -1))


class MLP(nn.Module):
    def __init__(self, config: VisionConfig):
        super().__init__()
        self.fc1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.fc2 = nn.Linear(config.intermediate_size, config.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class TransformerLayer(nn.Module):
    """'Sandwich' order: the norms apply to the sublayer outputs, not their inputs."""

    def __init__(self, config: VisionConfig):
        super().__init__()
        self.input_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.attention = Attention(config)
        self.mlp = MLP(config)
        self.post_attention_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.input_layernorm(self.attention(x))
        return x + self.post_attention_layernorm(self.mlp(x))


class Transformer(nn.Module):
    def __init__(self, config: VisionConfig):
        super().__init__()
        self.layers = nn.ModuleList(TransformerLayer(config) for _ in range(config.num_hidden_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class GLU(nn.Module):
    """The adapter: project to the language width, LayerNorm, GELU, then a SwiGLU block."""

    def __init__(self, in_features: int, hidden: int, intermediate: int):
        super().__init__()
        self.linear_proj = nn.Linear(in_features, hidden, bias=False)
        self.norm1 = nn.LayerNorm(hidden)
        self.dense_h_to_4h = nn.Linear(hidden, intermediate, bias=False)
        self.gate_proj = nn.Linear(hidden, intermediate, bias=False)
        self.dense_4h_to_h = nn.Linear(intermediate, hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.norm1(self.linear_proj(x)))
        return self.dense_4h_to_h(F.silu(self.gate_proj(x)) * self.dense_h_to_4h(x))


class VisionTower(nn.Module):
    def __init__(self, config: CogVLMVideoConfig):
        super().__init__()
        vc = config.vision
        self.patch_embedding = PatchEmbedding(vc)
        self.transformer = Transformer(vc)
        self.linear_proj = GLU(vc.hidden_size, config.hidden_size, config.intermediate_size)
        self.conv = nn.Conv2d(vc.hidden_size, vc.hidden_size, kernel_size=2, stride=2)
        self.boi = nn.Parameter(torch.zeros(1, 1, config.hidden_size))
        self.eoi = nn.Parameter(torch.zeros(1, 1, config.hidden_size))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, 3, 224, 224)`` preprocessed frames -> ``(N, 66, hidden)`` slot embeddings."""
        x = self.transformer(self.patch_embedding(images))[:, 1:]  # drop CLS
        n, s, h = x.shape
        side = int(s ** 0.5)
        x = self.conv(x.view(n, side, side, h).permute(0, 3, 1, 2))  # (N, h, 8, 8)
        x = self.linear_proj(x.flatten(2).transpose(1, 2))
        return torch.cat((self.boi.expand(n, -1, -1), x, self.eoi.expand(n, -1, -1)), dim=1)
