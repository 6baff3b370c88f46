"""Finding, checking and loading CogVLM2-Video checkpoints (safetensors only; no remote code is run).

A checkpoint is a folder with ``config.json``, ``model.safetensors`` or shards listed in
``model.safetensors.index.json``, and the tokenizer's own files (``tokenizer.json`` + config). A hub id
is fetched with ``huggingface_hub.snapshot_download`` at a pinned revision, only those files.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from pathlib import Path

import torch
from torch import nn

from cogvlm_media.model.config import CogVLMVideoConfig
from cogvlm_media.model.language import CogVLMVideoForCausalLM

INDEX_FILE = "model.safetensors.index.json"
SINGLE_FILE = "model.safetensors"
HUB_PATTERNS = ["*.json", "*.safetensors", "tokenizer*", "*.tiktoken"]
# Buffers some exporters save although they are derived from the config; never weights.
IGNORED_UNEXPECTED = re.compile(r".*rotary_emb\.(inv_freq|original_inv_freq)$")


class ModelLoadError(RuntimeError):
    """The checkpoint cannot be found, fetched or loaded. The message says what to do."""


class CheckpointMismatch(ModelLoadError):
    """The checkpoint's tensors do not match the model's parameters (names or shapes)."""


def resolve_checkpoint(path: str, revision: str = "") -> Path:
    """A local folder as is; otherwise a hub id fetched at ``revision`` (safetensors and JSON only)."""
    if not path:
        raise ModelLoadError("no model configured: set [model] path to a local checkpoint folder or a hub id")
    local = Path(path).expanduser()
    if local.is_dir():
        return local
    if local.exists() or path.startswith((".", "/", "~")) or path.count("/") != 1:
        raise ModelLoadError(f"model path {path!r} is not a checkpoint folder (nor a hub id like 'org/name')")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled

    hint = (f"cannot fetch '{path}{'@' + revision if revision else ''}' from the Hugging Face hub ({{why}}); "
            "download the checkpoint where there is network and set [model] path = \"/path/to/folder\" "
            "in the config to load it from a local folder")
    try:
        folder = snapshot_download(path, revision=revision or None, allow_patterns=HUB_PATTERNS)
    except (LocalEntryNotFoundError, OfflineModeIsEnabled) as exc:
        why = "offline" if os.environ.get("HF_HUB_OFFLINE") else "no network"
        raise ModelLoadError(hint.format(why=why)) from exc
    except (HfHubHTTPError, OSError, ValueError) as exc:
        raise ModelLoadError(hint.format(why=str(exc).splitlines()[0][:160])) from exc
    return Path(folder)


def shard_map(folder: Path) -> dict[str, str]:
    """tensor name -> shard file name."""
    index = folder / INDEX_FILE
    if index.exists():
        return dict(json.loads(index.read_text(encoding="utf-8"))["weight_map"])
    single = folder / SINGLE_FILE
    if single.exists():
        from safetensors import safe_open

        with safe_open(str(single), framework="pt") as f:
            return {name: SINGLE_FILE for name in f.keys()}
    raise ModelLoadError(f"{folder}: no {INDEX_FILE} or {SINGLE_FILE} (only safetensors checkpoints are loaded)")


def _shapes(folder: Path, names: dict[str, str]) -> dict[str, tuple[int, ...]]:
    from safetensors import safe_open

    shapes: dict[str, tuple[int, ...]] = {}
    by_file: dict[str, list[str]] = defaultdict(list)
    for name, file in names.items():
        by_file[file].append(name)
    for file, tensors in by_file.items():
        if not (folder / file).exists():
            raise ModelLoadError(f"{folder}: shard {file} listed in {INDEX_FILE} is missing")
        with safe_open(str(folder / file), framework="pt") as f:
            for name in tensors:
                shapes[name] = tuple(f.get_slice(name).get_shape())
    return shapes


def check_tensors(expected: dict[str, tuple[int, ...]], found: dict[str, tuple[int, ...]], where: str = "") -> None:
    """Raise one CheckpointMismatch listing every missing, unexpected and mis-shaped tensor."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(n for n in set(found) - set(expected) if not IGNORED_UNEXPECTED.match(n))
    shaped = sorted(n for n in set(expected) & set(found) if tuple(expected[n]) != tuple(found[n]))
    if not (missing or unexpected or shaped):
        return

    def listing(items: list[str], fmt) -> str:
        shown = ", ".join(fmt(n) for n in items[:8])
        return shown + (f", … ({len(items) - 8} more)" if len(items) > 8 else "")

    parts = []
    if missing:
        parts.append(f"missing {len(missing)}: {listing(missing, str)}")
    if unexpected:
        parts.append(f"unexpected {len(unexpected)}: {listing(unexpected, str)}")
    if shaped:
        parts.append(f"mis-shaped {len(shaped)}: "
                     + listing(shaped, lambda n: f"{n} (checkpoint {list(found[n])}, model {list(expected[n])})"))
    raise CheckpointMismatch(f"checkpoint {where} does not match the CogVLM2-Video model: " + "; ".join(parts))


def parameter_shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def build_empty(config: CogVLMVideoConfig) -> CogVLMVideoForCausalLM:
    """The model on the meta device (no memory): names and shapes only."""
    with torch.device("meta"):
        return CogVLMVideoForCausalLM(config)


def load_model(folder: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
               quantization: str = "") -> CogVLMVideoForCausalLM:
    """Strictly load the checkpoint in ``folder`` onto ``device`` in ``dtype``."""
    from safetensors import safe_open

    folder = Path(folder)
    if not (folder / "config.json").exists():
        raise ModelLoadError(f"{folder}: no config.json (not a CogVLM2-Video checkpoint folder)")
    config = CogVLMVideoConfig.from_pretrained(folder)
    model = build_empty(config)
    names = shard_map(folder)
    check_tensors(parameter_shapes(model), _shapes(folder, names), str(folder))

    if quantization:
        from cogvlm_media.model.quantize import check

        check(quantization, device)
    # bitsandbytes quantises while moving to the GPU; fp8 converts on the device
    target = torch.device("cpu") if quantization in ("4bit", "8bit") else torch.device(device)
    state: dict[str, torch.Tensor] = {}
    by_file: dict[str, list[str]] = defaultdict(list)
    for name, file in names.items():
        if not IGNORED_UNEXPECTED.match(name):
            by_file[file].append(name)
    for file, tensors in sorted(by_file.items()):
        with safe_open(str(folder / file), framework="pt", device="cpu") as f:
            for name in tensors:
                state[name] = f.get_tensor(name).to(device=target, dtype=dtype)
    model.load_state_dict(state, strict=True, assign=True)
    del state
    model.reset_rotary(target)
    model.eval().requires_grad_(False)
    if quantization:
        from cogvlm_media.model.quantize import quantize

        model = quantize(model, quantization, dtype, device)
    return model


def save_model(model: CogVLMVideoForCausalLM, folder: str | Path, max_shard_bytes: int = 2 * 1024 ** 3) -> None:
    """Write config.json, safetensors shards and ``model.safetensors.index.json`` (checkpoint names)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.config.save(folder)
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, tensor in model.state_dict().items():
        nbytes = tensor.numel() * tensor.element_size()
        if shards[-1] and size + nbytes > max_shard_bytes:
            shards.append({})
            size = 0
        shards[-1][name] = tensor.detach().contiguous().cpu()
        size += nbytes
    weight_map, total = {}, 0
    for i, shard in enumerate(shards, 1):
        file = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(folder / file), metadata={"format": "pt"})
        for name, tensor in shard.items():
            weight_map[name] = file
            total += tensor.numel() * tensor.element_size()
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (folder / INDEX_FILE).write_text(json.dumps(index, indent=2), encoding="utf-8")


def load_tokenizer(folder: str | Path):
    """The checkpoint's own fast tokenizer (tokenizer.json); never remote code."""
    from transformers import PreTrainedTokenizerFast

    folder = Path(folder)
    if not (folder / "tokenizer.json").exists():
        raise ModelLoadError(f"{folder}: no tokenizer.json (the checkpoint's tokenizer files are needed)")
    return PreTrainedTokenizerFast.from_pretrained(str(folder))


@torch.no_grad()
def init_random(model: nn.Module, seed: int = 0, std: float = 0.05) -> nn.Module:
    """Random weights (tests, benchmarks): normal(0, std) matrices, unit norms, zero biases, drawn on the
    parameters' own device (a true-size model on a GPU initialises there, not through host memory)."""
    generators: dict[torch.device, torch.Generator] = {}
    for name, p in model.named_parameters():
        if name.endswith("bias"):
            p.zero_()
        elif "norm" in name.rsplit(".", 2)[-2] and p.ndim == 1:
            p.fill_(1.0)
        else:
            gen = generators.setdefault(p.device, torch.Generator(device=p.device).manual_seed(seed))
            p.normal_(0.0, std, generator=gen)
    return model
