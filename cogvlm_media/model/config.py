"""CogVLM2-Video configuration: the published ``config.json`` keys, read without remote code.

Defaults are the published full size (Llama-3-8B-shaped language model + EVA2-CLIP-E vision tower).
``tiny()`` gives a few-layer, small-hidden configuration of the same architecture for tests; the
vision geometry (224 px, 14 px patches, 2x2 conv) is kept so every frame still fills 66 slots.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

VISION_SLOTS = 66  # boi + 8x8 patch tokens + eoi per frame
LANGUAGE_TOKEN, VISION_TOKEN = 0, 1


@dataclass(frozen=True)
class VisionConfig:
    hidden_size: int = 1792
    num_hidden_layers: int = 63
    num_heads: int = 16
    intermediate_size: int = 15360
    layer_norm_eps: float = 1e-6
    image_size: int = 224
    patch_size: int = 14
    in_channels: int = 3
    num_positions: int = 257
    hidden_act: str = "gelu"

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size


@dataclass(frozen=True)
class CogVLMVideoConfig:
    vocab_size: int = 128256
    hidden_size: int = 4096
    intermediate_size: int = 14336
    num_hidden_layers: int = 32
    num_attention_heads: int = 32
    num_key_value_heads: int = 8  # "num_multi_query_heads" in the published config
    rms_norm_eps: float = 1e-5
    rope_theta: float = 500000.0
    max_position_embeddings: int = 8192
    hidden_act: str = "silu"
    bos_token_id: int = 128000
    eos_token_id: tuple[int, ...] = (128001, 128009)
    pad_token_id: int = 128002
    template_version: str = "chat"
    vision: VisionConfig = field(default_factory=VisionConfig)

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def qkv_size(self) -> int:
        return (self.num_attention_heads + 2 * self.num_key_value_heads) * self.head_dim

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "CogVLMVideoConfig":
        raw = dict(raw)
        if "num_multi_query_heads" in raw and "num_key_value_heads" not in raw:
            raw["num_key_value_heads"] = raw["num_multi_query_heads"]
        if isinstance(raw.get("rope_parameters"), dict) and "rope_theta" in raw["rope_parameters"]:
            raw.setdefault("rope_theta", raw["rope_parameters"]["rope_theta"])
        eos = raw.get("eos_token_id", cls.eos_token_id)
        raw["eos_token_id"] = tuple(eos) if isinstance(eos, (list, tuple)) else (int(eos),)
        vision_raw = dict(raw.pop("vision_config", None) or raw.pop("vision", None) or {})
        if "num_attention_heads" in vision_raw:
            vision_raw.setdefault("num_heads", vision_raw["num_attention_heads"])
        vnames = {f.name for f in fields(VisionConfig)}
        vision = VisionConfig(**{k: v for k, v in vision_raw.items() if k in vnames})
        names = {f.name for f in fields(cls)} - {"vision"}
        # The published config says "base"; this project always builds chat prompts unless told otherwise.
        values = {k: v for k, v in raw.items() if k in names and k != "template_version"}
        return cls(vision=vision, **values)

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> "CogVLMVideoConfig":
        path = Path(folder) / "config.json"
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["num_multi_query_heads"] = data.pop("num_key_value_heads")
        data["vision_config"] = data.pop("vision")
        data["eos_token_id"] = list(self.eos_token_id)
        data["architectures"] = ["CogVLMVideoForCausalLM"]
        return data

    def save(self, folder: str | Path) -> None:
        Path(folder, "config.json").write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")

    def text_config(self):
        """The language model's shape as a transformers ``LlamaConfig`` (for its building blocks)."""
        from transformers import LlamaConfig

        return LlamaConfig(
            vocab_size=self.vocab_size, hidden_size=self.hidden_size, intermediate_size=self.intermediate_size,
            num_hidden_layers=self.num_hidden_layers, num_attention_heads=self.num_attention_heads,
            num_key_value_heads=self.num_key_value_heads, rms_norm_eps=self.rms_norm_eps,
            max_position_embeddings=self.max_position_embeddings, hidden_act=self.hidden_act,
            rope_parameters={"rope_type": "default", "rope_theta": self.rope_theta},
            mlp_bias=False, attention_bias=False, tie_word_embeddings=False,
        )


def tiny(vocab_size: int = 512, **overrides: Any) -> CogVLMVideoConfig:
    """A few-layer, small-hidden configuration of the same architecture (tests, CPU)."""
    vision = VisionConfig(hidden_size=32, num_hidden_layers=2, num_heads=2, intermediate_size=64)
    values: dict[str, Any] = dict(vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                                  bos_token_id=1, eos_token_id=(2,), pad_token_id=0, vision=vision)
    values.update(overrides)
    return CogVLMVideoConfig(**values)
