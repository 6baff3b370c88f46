"""What ``cogvlm-media finetune`` does, UI-free: train an adapter, evaluate it beside the base model, merge it.

The base model is the configured ``[model] path``, loaded by the strict checkpoint loader. The CLI
draws progress from the events these functions report and prints their results.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cogvlm_media.config import Settings
from cogvlm_media.finetune.data import Dataset, Example
from cogvlm_media.finetune.train import Progress, TrainError, Trainer, TrainSettings, encode, example_loss, latest_checkpoint
from cogvlm_media.model import adapter as lora


@dataclass(frozen=True)
class Scores:
    loss: float | None  # mean answer cross-entropy over the validation examples
    time_error: float | None  # mean seconds between each verified moment and the nearest predicted one
    moments: int  # verified moments scored
    missed: int  # of those, how many had no predicted time at all


def _load(settings: Settings, train: bool = False):
    from cogvlm_media.model.engine import resolve_device, resolve_dtype
    from cogvlm_media.model.loading import load_model, load_tokenizer, resolve_checkpoint

    ms = settings.model
    if not ms.path:
        raise TrainError('no base model configured: set [model] path = "/path/to/cogvlm2-video-llama3-chat"')
    folder = resolve_checkpoint(ms.path, ms.revision)
    device = resolve_device(ms.device)
    dtype = resolve_dtype(ms.dtype, device)
    if train and dtype == torch.float16:
        dtype = torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    return load_model(folder, device, dtype), load_tokenizer(folder), folder


def train_adapter(settings: Settings, data: Dataset, options: TrainSettings, output: str | Path,
                  resume: bool = False, progress: Progress | None = None) -> dict:
    """Train; write the adapter (PEFT layout) and its training record into ``output``; return the record."""
    output = Path(output)
    started = time.time()
    model, tokenizer, _ = _load(settings, train=True)
    trainer = Trainer(model, tokenizer, data, options, output, base=settings.model.path, progress=progress)
    if resume:
        last = latest_checkpoint(output)
        if last is None:
            raise TrainError(f"{output}: no checkpoint to resume from")
        trainer.resume(last)
    result = trainer.run()
    return trainer.record(result, started, settings.model.path)


def _predicted_times(answer: str, frame_times: Sequence[float]) -> list[float]:
    from cogvlm_media.analysis.timerefs import parse_moments

    last = len(frame_times) - 1
    return [float(frame_times[min(max(int(round(m.start)), 0), last)]) for m in parse_moments(answer)] if last >= 0 else []


def score(model, tokenizer, examples: Sequence[Example], frames: int, batch_size: int = 8) -> Scores:
    """Validation loss and key-moment time error of ``model`` (merged or plain) on ``examples``."""
    from cogvlm_media.media.frames import read_frames
    from cogvlm_media.model.engine import Request, VideoChat

    if not examples:
        return Scores(None, None, 0, 0)
    model.eval()
    with torch.no_grad():
        loss = float(np.mean([float(example_loss(model, encode(tokenizer, model, e, frames))) for e in examples]))
    timed = [e for e in examples if e.target_times]
    errors, missed = [], 0
    if timed:
        chat = VideoChat(model, tokenizer, batch_size=batch_size, max_new_tokens=64)
        requests = [Request(e.query, read_frames(e.video, list(e.frame_indices[:frames])), e.history) for e in timed]
        for e, answer in zip(timed, chat.answer(requests)):
            predicted = _predicted_times(answer, e.frame_times)  # ordinals count the whole window's frames
            for t in e.target_times:
                if predicted:
                    errors.append(min(abs(p - t) for p in predicted))
                else:
                    missed += 1
    moments = len(errors) + missed
    return Scores(loss, float(np.mean(errors)) if errors else None, moments, missed)


def evaluate_adapter(settings: Settings, data: Dataset, adapter: str | Path, frames: int = 24) -> dict[str, Scores]:
    """The base model and the adapted one on the validation split, side by side."""
    rows = data.validation or data.train
    model, tokenizer, _ = _load(settings)
    base = score(model, tokenizer, rows, frames, settings.model.batch_size)
    adapted_model = lora.apply_adapter(model, adapter, merge=True)
    adapted = score(adapted_model, tokenizer, rows, frames, settings.model.batch_size)
    return {"base": base, "adapted": adapted}


def merge_adapter(settings: Settings, adapter: str | Path, output: str | Path) -> Path:
    """Merged weights as sharded safetensors + the tokenizer files: a checkpoint the strict loader accepts."""
    from cogvlm_media.model.loading import save_model

    output = Path(output)
    if output.exists() and any(output.iterdir()):
        raise TrainError(f"{output}: exists and is not empty")
    model, _, folder = _load(settings)
    merged = lora.apply_adapter(model, adapter, merge=True)
    save_model(merged, output)
    for f in Path(folder).iterdir():
        if f.is_file() and (f.name.startswith("tokenizer") or f.name == "special_tokens_map.json"):
            shutil.copy2(f, output / f.name)
    return output
