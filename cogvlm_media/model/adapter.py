"""LoRA adapters on the native model, in PEFT's own layout (``adapter_config.json`` +
``adapter_model.safetensors``), so ms-swift and peft users can load what ``cogvlm-media finetune`` writes.

Beside PEFT's two files an adapter folder holds ``cogvlm_media.json``: the base model's configuration
it was trained on. Loading refuses an adapter whose base differs from the loaded model and names what
differs. By default the adapter is merged into the weights at load, so fused layers and CUDA-graph
decoding run unchanged; unmerged keeps PEFT's LoRA layers (quick A/B runs). With 4- or 8-bit weights
peft's quantised-LoRA layers are used unmerged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from cogvlm_media.model.config import CogVLMVideoConfig

BASE_FILE = "cogvlm_media.json"
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
# the language model's linear layers (the vision tower's have other names)
QKV = r"model\.layers\.\d+\.self_attn\.language_expert_query_key_value"
ALL_LINEAR = (r"model\.layers\.\d+\.(self_attn\.language_expert_(query_key_value|dense)"
              r"|mlp\.language_mlp\.(gate_proj|up_proj|down_proj))")
GLU_ADAPTER = r"model\.vision\.linear_proj\.(linear_proj|gate_proj|dense_h_to_4h|dense_4h_to_h)"
TARGETS = {"qkv": QKV, "all": ALL_LINEAR}


class AdapterError(ValueError):
    """The adapter cannot be used with this model; one line for the user."""


@dataclass(frozen=True)
class AdapterInfo:
    path: Path
    name: str
    digest: str  # sha256 of the adapter weights, first 12 hex digits

    @property
    def label(self) -> str:
        return f"{self.name}@{self.digest}"


def target_pattern(target: str, train_glu: bool = False) -> str:
    if target not in TARGETS:
        raise AdapterError(f"unknown --target {target!r} (use qkv or all)")
    pattern = TARGETS[target]
    return f"({pattern}|{GLU_ADAPTER})" if train_glu else pattern


def lora_config(target: str = "qkv", rank: int = 16, alpha: int = 32, dropout: float = 0.05,
                train_glu: bool = False):
    from peft import LoraConfig

    return LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, bias="none",
                      target_modules=target_pattern(target, train_glu))


def save_base(folder: Path, config: CogVLMVideoConfig) -> None:
    (Path(folder) / BASE_FILE).write_text(json.dumps({"base_config": config.to_dict()}, indent=2), encoding="utf-8")


def adapter_info(folder: str | Path) -> AdapterInfo:
    folder = Path(folder).expanduser()
    missing = [f for f in ADAPTER_FILES if not (folder / f).is_file()]
    if missing:
        raise AdapterError(f"{folder}: not a LoRA adapter folder (missing {', '.join(missing)})")
    digest = hashlib.sha256((folder / "adapter_model.safetensors").read_bytes()).hexdigest()[:12]
    return AdapterInfo(folder, folder.name, digest)


def check_base(folder: Path, config: CogVLMVideoConfig) -> None:
    """Refuse an adapter trained on another base model, naming the first differences."""
    marker = Path(folder) / BASE_FILE
    if not marker.is_file():
        return  # an adapter from elsewhere (peft, ms-swift): the tensor shapes are checked on load
    trained = json.loads(marker.read_text(encoding="utf-8")).get("base_config", {})
    ours = config.to_dict()
    diffs = [f"{k} {trained.get(k)!r} vs {ours.get(k)!r}" for k in sorted(set(trained) | set(ours))
             if k != "vision_config" and trained.get(k) != ours.get(k)]
    vt, vo = trained.get("vision_config") or {}, ours.get("vision_config") or {}
    diffs += [f"vision {k} {vt.get(k)!r} vs {vo.get(k)!r}" for k in sorted(set(vt) | set(vo)) if vt.get(k) != vo.get(k)]
    if diffs:
        raise AdapterError(f"{folder}: adapter was trained on another base model (adapter vs loaded: "
                           f"{'; '.join(diffs[:4])})")


def apply_adapter(model: nn.Module, folder: str | Path, merge: bool = True, quantized: bool = False) -> nn.Module:
    """The model with the adapter in ``folder`` applied (merged into the weights unless ``merge`` is off)."""
    from peft import PeftModel

    info = adapter_info(folder)
    check_base(info.path, model.config)
    if quantized and merge:
        merge = False  # merging into 4/8-bit weights would re-round them; peft's LoRA layers run beside them
    try:
        wrapped = PeftModel.from_pretrained(model, str(info.path), is_trainable=False)
    except (RuntimeError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if quantized:
            raise AdapterError(f"{info.path}: peft cannot put LoRA layers on these quantised weights "
                               f"({first[:200]}); load the model without quantization") from None
        raise AdapterError(f"{info.path}: adapter does not fit this model ({first[:200]})") from None
    if not merge:
        return model.eval()  # peft put its LoRA layers into the model's own modules
    merged = wrapped.merge_and_unload()
    return merged.eval().requires_grad_(False)
