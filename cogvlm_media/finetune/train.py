"""LoRA training of the native CogVLM2-Video with peft: teacher-forced cross-entropy on the answer tokens.

One example per micro-step (24-frame windows are ~1,620 prompt tokens), gradients accumulated over
``accumulate`` examples per optimizer step. The vision tower stays frozen (its pass runs without a
graph) unless the GLU adapter is trained. bf16 weights on a GPU (fp16 gave NaN losses in THUDM's own
fine-tune), fp32 on the CPU; LoRA weights in fp32. A checkpoint (adapter + optimizer, schedule, data
position and random states) is written after every epoch and every ``save_every`` steps, and a run
resumes from the last one exactly.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cogvlm_media.finetune.data import Dataset, Example
from cogvlm_media.model import adapter as lora
from cogvlm_media.model.inputs import build_prompt, preprocess_frames

CHECKPOINTS = "checkpoints"
RECORD = "training.json"
CACHED = 64  # examples whose decoded frames stay in memory
Progress = Callable[[dict], None]


class TrainError(RuntimeError):
    """Training cannot go on; one line for the user."""


@dataclass(frozen=True)
class TrainSettings:
    target: str = "qkv"  # qkv | all (every linear layer of the language model)
    train_glu: bool = False  # LoRA on the vision tower's GLU adapter too
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    epochs: int = 3
    max_steps: int = 0  # optimizer steps; 0: as many as the epochs give
    learning_rate: float = 1e-4
    warmup_steps: int = 0
    schedule: str = "cosine"  # any transformers scheduler name: cosine, linear, constant...
    accumulate: int = 1
    seed: int = 0
    gradient_checkpointing: bool = True
    frames: int = 24  # at most this many frames of each window
    save_every: int = 0  # steps between checkpoints besides each epoch's end; 0: epochs only


@dataclass
class Encoded:
    input_ids: torch.Tensor
    token_type_ids: torch.Tensor
    position_ids: torch.Tensor
    answer_start: int  # first position whose next token is an answer token
    labels: torch.Tensor  # answer tokens (with eos)
    pixels: torch.Tensor | None


@dataclass
class TrainResult:
    output: Path
    steps: int
    train_losses: list[float] = field(default_factory=list)
    validation_losses: list[float] = field(default_factory=list)  # one per epoch
    initial_validation_loss: float | None = None


def eos_id(tokenizer, model) -> int:
    return tokenizer.eos_token_id if tokenizer.eos_token_id is not None else model.config.eos_token_id[0]


def encode(tokenizer, model, example: Example, frames: int, read_frames=None) -> Encoded:
    """Prompt (the analyser's chat layout) + answer tokens + eos, with the window's frames."""
    from cogvlm_media.model.inputs import position_ids

    if read_frames is None:
        from cogvlm_media.media.frames import read_frames
    indices = list(example.frame_indices[:frames])
    pixels = preprocess_frames(read_frames(example.video, indices)) if indices else None
    prompt = build_prompt(tokenizer, example.query, len(indices), example.history, "chat",
                          model.config.pad_token_id)
    answer = tokenizer.encode(" " + example.response, add_special_tokens=False) + [eos_id(tokenizer, model)]
    ids = prompt.input_ids + answer
    types = prompt.token_type_ids + [0] * len(answer)
    return Encoded(torch.tensor([ids]), torch.tensor([types]), torch.tensor([position_ids(types)]),
                   len(prompt.input_ids) - 1, torch.tensor(answer), pixels)


def example_loss(net, item: Encoded, grad_vision: bool = False) -> torch.Tensor:
    """Mean cross-entropy of the answer tokens given the prompt (logits only where they are needed)."""
    device = net.device
    vision = None
    if item.pixels is not None:
        with torch.set_grad_enabled(grad_vision and torch.is_grad_enabled()):
            vision = net.encode_frames(item.pixels.to(device))
    embeds = net.model.embed(item.input_ids.to(device), item.token_type_ids.to(device), vision)
    hidden = net.model(embeds, item.position_ids.to(device), None)
    logits = net.lm_head(hidden[0, item.answer_start:-1]).float()
    return F.cross_entropy(logits, item.labels.to(device))


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _order(n: int, seed: int, epoch: int) -> list[int]:
    return [int(i) for i in np.random.default_rng(seed * 1000 + epoch).permutation(n)]


def latest_checkpoint(output: Path) -> Path | None:
    found = sorted((Path(output) / CHECKPOINTS).glob("step-*"))
    return found[-1] if found else None


class Trainer:
    def __init__(self, model, tokenizer, data: Dataset, settings: TrainSettings, output: str | Path,
                 base: str = "", progress: Progress | None = None, read_frames=None):
        from peft import get_peft_model
        from transformers import get_scheduler

        if not data.train:
            raise TrainError("no training examples after the split")
        self.settings, self.data, self.output = settings, data, Path(output)
        self.tokenizer, self.progress, self.read_frames = tokenizer, progress, read_frames
        self.base_config = model.config
        _seed(settings.seed)
        model.requires_grad_(False)
        model.model.gradient_checkpointing = settings.gradient_checkpointing
        self.peft = get_peft_model(model, lora.lora_config(settings.target, settings.rank, settings.alpha,
                                                           settings.dropout, settings.train_glu))
        self.peft.peft_config["default"].base_model_name_or_path = base or None  # saved in adapter_config.json
        self.net = model  # LoRA layers are injected in place
        params = [p for p in self.peft.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=settings.learning_rate, weight_decay=0.0)
        per_epoch = -(-len(data.train) // max(1, settings.accumulate))
        self.total_steps = settings.max_steps or per_epoch * settings.epochs
        self.scheduler = get_scheduler(settings.schedule, self.optimizer, settings.warmup_steps, self.total_steps)
        self.step, self.epoch, self.position = 0, 0, 0
        self.train_losses: list[float] = []
        self.validation_losses: list[float] = []
        self.initial_validation_loss: float | None = None  # before the first step
        self._cache: dict[int, Encoded] = {}

    # -- data ---------------------------------------------------------------------------------------
    def _item(self, rows: list[Example], index: int, key: int) -> Encoded:
        """An example's tensors; the first CACHED ones are kept (small sets are decoded once)."""
        item = self._cache.get(key)
        if item is None:
            item = encode(self.tokenizer, self.net, rows[index], self.settings.frames, self.read_frames)
            if len(self._cache) < CACHED:
                self._cache[key] = item
        return item

    def validation_loss(self) -> float | None:
        if not self.data.validation:
            return None
        self.peft.eval()
        with torch.no_grad():
            losses = [float(example_loss(self.net, self._item(self.data.validation, i, -1 - i)))
                      for i in range(len(self.data.validation))]
        self.peft.train()
        return float(np.mean(losses))

    # -- checkpoints --------------------------------------------------------------------------------
    def save_checkpoint(self) -> Path:
        folder = self.output / CHECKPOINTS / f"step-{self.step:06d}"
        self.save_adapter(folder)
        torch.save({"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                    "step": self.step, "epoch": self.epoch, "position": self.position,
                    "train_losses": self.train_losses, "validation_losses": self.validation_losses,
                    "initial_validation_loss": self.initial_validation_loss,
                    "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
                            "python": random.getstate()}}, folder / "trainer_state.pt")
        return folder

    def resume(self, folder: Path) -> None:
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        lora.check_base(folder, self.base_config)
        set_peft_model_state_dict(self.peft, load_file(str(folder / "adapter_model.safetensors")))
        state = torch.load(folder / "trainer_state.pt", weights_only=False)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step, self.epoch, self.position = state["step"], state["epoch"], state["position"]
        self.train_losses, self.validation_losses = state["train_losses"], state["validation_losses"]
        self.initial_validation_loss = state["initial_validation_loss"]
        torch.set_rng_state(state["rng"]["torch"])
        np.random.set_state(state["rng"]["numpy"])
        random.setstate(state["rng"]["python"])

    def save_adapter(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.peft.save_pretrained(str(folder))
        lora.save_base(folder, self.base_config)

    # -- the loop -----------------------------------------------------------------------------------
    def _report(self, **event) -> None:
        if self.progress:
            self.progress({"step": self.step, "total_steps": self.total_steps, "epoch": self.epoch, **event})

    def run(self) -> TrainResult:
        s, rows = self.settings, self.data.train
        if self.step == 0:
            self.initial_validation_loss = self.validation_loss()
        self.peft.train()
        try:
            while self.step < self.total_steps:
                order = _order(len(rows), s.seed, self.epoch)
                while self.position < len(order) and self.step < self.total_steps:
                    chunk = order[self.position:self.position + s.accumulate]
                    loss = 0.0
                    for i in chunk:
                        value = example_loss(self.net, self._item(rows, i, i), s.train_glu) / len(chunk)
                        value.backward()
                        loss += float(value.detach())
                    self.optimizer.step()
                    self.scheduler.step()
                    self.optimizer.zero_grad(set_to_none=True)
                    self.position += len(chunk)
                    self.step += 1
                    self.train_losses.append(loss)
                    if not np.isfinite(loss):
                        raise TrainError(f"the loss is {loss} at step {self.step}: lower --lr")
                    self._report(loss=loss, lr=self.scheduler.get_last_lr()[0])
                    if s.save_every and self.step % s.save_every == 0:
                        self.save_checkpoint()
                if self.position >= len(order):
                    val = self.validation_loss()
                    self.validation_losses.append(val if val is not None else float("nan"))
                    self.epoch, self.position = self.epoch + 1, 0
                    self._report(validation_loss=val, epoch_done=self.epoch)
                    self.save_checkpoint()
        except torch.OutOfMemoryError:
            raise TrainError(f"out of GPU memory at step {self.step + 1}: try fewer --frames, --target qkv, "
                             "or a smaller batch (--accumulate 1)") from None
        self.save_adapter(self.output)
        return TrainResult(self.output, self.step, self.train_losses, self.validation_losses,
                           self.initial_validation_loss)

    def record(self, result: TrainResult, started: float, base: str) -> dict:
        rec = {"base_model": base, "settings": asdict(self.settings), "data": self.data.counts(),
               "notes": self.data.notes, "steps": result.steps, "train_losses": result.train_losses,
               "validation_losses": result.validation_losses,
               "initial_validation_loss": result.initial_validation_loss, "seconds": round(time.time() - started, 3),
               "adapter": lora.adapter_info(self.output).label}
        (self.output / RECORD).write_text(json.dumps(rec, indent=2), encoding="utf-8")
        return rec
