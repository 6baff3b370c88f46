"""Input building exactly as the reference's ``build_conversation_input_ids`` (template 'chat' or 'base').

- Frames: ``x / 255`` -> CLIP normalisation -> short side resized to 224 (bilinear, align_corners=False,
  long side floor(long / short * 224)) -> centre crop 224x224.
- Tokens: ``[bos]``, then per frame 66 vision slots (pad id, type VISION) followed, for the ``chat``
  template only, by the tokens of the plain ordinal ``str(t)`` (type LANGUAGE), then the prompt text.
  The ``base`` template (for the base checkpoint) puts all frames' slots in one run with no ordinals,
  and its frames are 24 spread evenly over the first 60 s (:func:`base_frame_indices`).
- Position ids: a LANGUAGE token advances by one; a VISION token only right after a LANGUAGE token; the
  first and last slot of each contiguous run of vision slots (boi, eoi) count as LANGUAGE: with
  ``chat`` every frame is its own run, with ``base`` all frames together are one. Padding is excluded
  before the walk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from cogvlm_media.model.config import LANGUAGE_TOKEN, VISION_SLOTS, VISION_TOKEN

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGE_SIZE = 224
BASE_FRAMES, BASE_SECONDS = 24, 60  # the reference's ``base`` sampling


def preprocess_frames(frames: np.ndarray | torch.Tensor, size: int = IMAGE_SIZE,
                      device: torch.device | str | None = None) -> torch.Tensor:
    """uint8 frames ``(T, H, W, 3)`` -> float32 ``(T, 3, size, size)`` in the reference's order."""
    x = torch.as_tensor(frames)
    if device is not None and torch.device(device).type == "cuda" and not x.is_cuda:
        x = x.pin_memory().to(device, non_blocking=True)  # the host does not wait for the copy
    elif device is not None:
        x = x.to(device)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected frames shaped (T, H, W, 3), got {tuple(x.shape)}")
    x = x.permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(CLIP_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=x.device).view(1, 3, 1, 1)
    x = (x - mean) / std
    h, w = x.shape[-2:]
    if h <= w:
        new_h, new_w = size, math.floor(w / h * size)
    else:
        new_h, new_w = math.floor(h / w * size), size
    if x.shape[0] and (new_h, new_w) != (h, w):
        x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=False)
    top = int(round((new_h - size) / 2.0))
    left = int(round((new_w - size) / 2.0))
    return x[..., top:top + size, left:left + size].contiguous()


def is_preprocessed(frames) -> bool:
    """Frames already through ``preprocess_frames``: a float tensor ``(T, 3, size, size)``."""
    return isinstance(frames, torch.Tensor) and frames.is_floating_point() and frames.ndim == 4 \
        and frames.shape[1] == 3


def preprocess_on_host(frames):
    """``preprocess_frames`` on the CPU for host frames (about a tenth of the bytes of 1080p uint8 to keep
    queued and to copy to the GPU); frames already on a GPU, or already preprocessed, pass unchanged."""
    if is_preprocessed(frames) or (isinstance(frames, torch.Tensor) and frames.is_cuda):
        return frames
    return preprocess_frames(frames)


def prompt_text(query: str, history: Sequence[tuple[str, str]] = (), template: str = "chat") -> str:
    if template == "chat":
        earlier = "".join(f"Question: {q} Answer: {a}\n" for q, a in history)
        return f"{earlier}Question: {query} Answer:"
    if template == "base":
        return query
    raise ValueError(f"unknown template {template!r} (known: chat, base)")


def base_frame_indices(total_frames: int, average_fps: float) -> list[int]:
    """The frames the reference samples for the ``base`` template: ``BASE_FRAMES`` indices by
    ``linspace`` (truncated to integers) from the first frame to the last one within ``BASE_SECONDS``."""
    if total_frames <= 0:
        return []
    end = min(total_frames, int(BASE_SECONDS * average_fps))
    return [int(i) for i in np.linspace(0, max(end, 1) - 1, BASE_FRAMES).astype(int)]


@dataclass(frozen=True)
class Prompt:
    """One sequence before padding."""

    input_ids: list[int]
    token_type_ids: list[int]
    num_frames: int

    @property
    def position_ids(self) -> list[int]:
        return position_ids(self.token_type_ids)


def build_prompt(tokenizer, query: str, num_frames: int, history: Sequence[tuple[str, str]] = (),
                 template: str = "chat", pad_token_id: int = 128002, bos_token_id: int | None = None) -> Prompt:
    """Token ids and types for ``num_frames`` frames and the question."""
    bos = tokenizer.bos_token_id if bos_token_id is None else bos_token_id
    text = tokenizer.encode(prompt_text(query, history, template), add_special_tokens=False)
    ids, types = [bos], [LANGUAGE_TOKEN]
    for t in range(num_frames):
        ids += [pad_token_id] * VISION_SLOTS
        types += [VISION_TOKEN] * VISION_SLOTS
        if template == "base":  # ordinals are the chat template's only
            continue
        ordinal = tokenizer.encode(str(t), add_special_tokens=False)
        ids += ordinal
        types += [LANGUAGE_TOKEN] * len(ordinal)
    return Prompt(ids + text, types + [LANGUAGE_TOKEN] * len(text), num_frames)


def position_ids(token_type_ids: Sequence[int]) -> list[int]:
    """The reference position walk over one unpadded sequence."""
    kinds = list(token_type_ids)
    n = len(kinds)
    # boi and eoi (first and last slot of each contiguous run of vision slots) count as language
    i = 0
    while i < n:
        if kinds[i] == VISION_TOKEN:
            j = i
            while j < n and kinds[j] == VISION_TOKEN:
                j += 1
            kinds[i] = kinds[j - 1] = LANGUAGE_TOKEN
            i = j
        else:
            i += 1
    out: list[int] = []
    pos = -1
    for k, kind in enumerate(kinds):
        if kind == LANGUAGE_TOKEN or k == 0 or kinds[k - 1] == LANGUAGE_TOKEN:
            pos += 1
        out.append(pos)
    return out


@dataclass
class Batch:
    """Left-padded tensors for a batch of prompts."""

    input_ids: torch.Tensor  # (B, S) long
    token_type_ids: torch.Tensor  # (B, S) long
    attention_mask: torch.Tensor  # (B, S) bool, False on padding
    position_ids: torch.Tensor  # (B, S) long, 0 on padding
    num_frames: list[int]

    def to(self, device) -> "Batch":
        return Batch(self.input_ids.to(device), self.token_type_ids.to(device), self.attention_mask.to(device),
                     self.position_ids.to(device), self.num_frames)

    def rows(self, start: int, stop: int) -> "Batch":
        return Batch(self.input_ids[start:stop], self.token_type_ids[start:stop], self.attention_mask[start:stop],
                     self.position_ids[start:stop], self.num_frames[start:stop])


def collate(prompts: Sequence[Prompt], pad_token_id: int) -> Batch:
    """Left padding; each row's positions are its own walk, as if it ran alone."""
    length = max(len(p.input_ids) for p in prompts)
    b = len(prompts)
    ids = torch.full((b, length), pad_token_id, dtype=torch.long)
    types = torch.full((b, length), LANGUAGE_TOKEN, dtype=torch.long)
    mask = torch.zeros((b, length), dtype=torch.bool)
    pos = torch.zeros((b, length), dtype=torch.long)
    for row, p in enumerate(prompts):
        n = len(p.input_ids)
        ids[row, length - n:] = torch.tensor(p.input_ids)
        types[row, length - n:] = torch.tensor(p.token_type_ids)
        mask[row, length - n:] = True
        pos[row, length - n:] = torch.tensor(p.position_ids)
    return Batch(ids, types, mask, pos, [p.num_frames for p in prompts])
