"""Training examples for LoRA fine-tuning: the archive's editor-verified markers, or a user's ms-swift JSONL.

From the archive, per analysis window (the frames the analyser itself showed the model):
- the key-moment prompt → every verified non-scene marker inside the window, one line each as
  ``<ordinal>: <name> - <note>``, the ordinal being the window's sampled frame nearest the marker
  (the frame the model counts in);
- the caption prompt → the text of the verified scene markers overlapping the window.

An ms-swift line (``{"query", "response", "history", "videos": [path]}``) is read as its first 24 s at
about one frame per second, as the reference sampler reads a clip. The split into training and
validation is by asset (or video file for JSONL): no asset is in both.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from cogvlm_media.model.prompts import CAPTION_PROMPT, MOMENT_PROMPT as KEY_MOMENT_PROMPT
from cogvlm_media.store import models as store_models
from cogvlm_media.store.queries import live_markers


class DataError(ValueError):
    """No usable training data; one line for the user."""


@dataclass(frozen=True)
class Example:
    group: str  # the split key: "asset:<id>" or the video path
    video: str
    frame_indices: tuple[int, ...]
    frame_times: tuple[float, ...]  # absolute, seconds; ordinal i is frame_times[i]
    query: str
    response: str
    history: tuple[tuple[str, str], ...] = ()
    target_times: tuple[float, ...] = ()  # verified moment times (absolute) for the time-error evaluation


@dataclass
class Dataset:
    train: list[Example]
    validation: list[Example]
    skipped_missing_media: int = 0
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        groups = lambda rows: len({e.group for e in rows})  # noqa: E731
        return {"train_examples": len(self.train), "validation_examples": len(self.validation),
                "train_assets": groups(self.train), "validation_assets": groups(self.validation),
                "skipped_missing_media": self.skipped_missing_media}


def nearest_ordinal(frame_times: Sequence[float], t: float) -> int:
    return int(np.argmin(np.abs(np.asarray(frame_times, dtype=float) - t)))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def window_examples(window: store_models.Window, markers: Sequence[store_models.Marker], group: str,
                    video: str) -> list[Example]:
    """The caption and key-moment examples one window teaches (verified markers only)."""
    if not window.frame_indices:
        return []
    base = dict(group=group, video=video, frame_indices=tuple(window.frame_indices),
                frame_times=tuple(window.frame_times))
    out = []
    scenes = [mk for mk in markers if mk.kind == "scene" and mk.time < window.end
              and mk.time + max(mk.duration or 0.0, 0.0) > window.start]
    texts = list(dict.fromkeys(_one_line(mk.note or mk.name) for mk in scenes if (mk.note or mk.name).strip()))
    if texts:
        out.append(Example(query=CAPTION_PROMPT, response=" ".join(texts), **base))
    moments = sorted((mk for mk in markers if mk.kind != "scene" and window.start <= mk.time < window.end),
                     key=lambda mk: mk.time)
    if moments:
        lines = [f"{nearest_ordinal(window.frame_times, mk.time)}: {_one_line(mk.name)}"
                 + (f" - {_one_line(mk.note)}" if mk.note.strip() else "") for mk in moments]
        out.append(Example(query=KEY_MOMENT_PROMPT, response="\n".join(lines),
                           target_times=tuple(mk.time for mk in moments), **base))
    return out


def archive_examples(session: Session, asset_ids: Sequence[int] = ()) -> tuple[list[Example], int]:
    """Examples from every (or the given) asset's verified markers; and how many assets were skipped
    because none of their files is on disk."""
    query = select(store_models.Asset).order_by(store_models.Asset.id)
    if asset_ids:
        query = query.where(store_models.Asset.id.in_(list(asset_ids)))
    examples, missing = [], 0
    for asset in session.scalars(query):
        verified = [mk for mk in live_markers(asset) if mk.verified]
        if not verified:
            continue
        video = next((p.path for p in reversed(asset.paths) if os.path.isfile(p.path)), None)
        if video is None:
            missing += 1
            continue
        for window in sorted(asset.windows, key=lambda w: w.index):
            examples += window_examples(window, verified, f"asset:{asset.id}", video)
    return examples, missing


def swift_examples(path: str | Path) -> list[Example]:
    """Examples from an ms-swift JSONL file; each video is sampled as the reference samples a clip."""
    from cogvlm_media.analysis.windows import plan_windows
    from cogvlm_media.media.frames import FrameReadError, decoded_frame_times

    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    out, sampled = [], {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            query, response = str(row["query"]), str(row["response"])
            videos = row.get("videos") or []
            history = tuple((str(q), str(a)) for q, a in row.get("history") or ())
        except (ValueError, KeyError, TypeError):
            raise DataError(f"{path}:{n}: not an ms-swift line (needs query, response and videos)") from None
        if len(videos) != 1:
            raise DataError(f"{path}:{n}: needs exactly one video, found {len(videos)}")
        video = str((path.parent / videos[0]) if not os.path.isabs(videos[0]) else videos[0])
        if video not in sampled:
            try:
                times = decoded_frame_times(video)
            except (FrameReadError, OSError) as exc:
                raise DataError(f"{path}:{n}: {video}: {exc}") from None
            window = plan_windows([], times, float(times[-1]) + 1e-6, 24.0)[0]
            sampled[video] = (tuple(window.frame_indices), tuple(window.frame_times))
        indices, ftimes = sampled[video]
        out.append(Example(group=video, video=video, frame_indices=indices, frame_times=ftimes, query=query,
                           response=response, history=history))
    return out


def split(examples: Sequence[Example], validation: float = 0.2, seed: int = 0) -> tuple[list[Example], list[Example]]:
    """Train/validation by group: each group's whole set goes to one side (a stable hash orders groups)."""
    groups = sorted({e.group for e in examples},
                    key=lambda g: hashlib.sha256(f"{seed}:{g}".encode()).hexdigest())
    if len(groups) < 2 or validation <= 0:
        return list(examples), []
    held = set(groups[:max(1, round(len(groups) * validation))])
    return [e for e in examples if e.group not in held], [e for e in examples if e.group in held]


def build_dataset(session: Session | None, asset_ids: Sequence[int] = (), jsonl: str | Path | None = None,
                  validation: float = 0.2, seed: int = 0) -> Dataset:
    examples, missing = archive_examples(session, asset_ids) if session is not None else ([], 0)
    if jsonl is not None:
        examples += swift_examples(jsonl)
    if not examples:
        where = "in the archive" if jsonl is None else "in the archive or the JSONL file"
        extra = f" ({missing} asset(s) with verified markers have no file on disk)" if missing else ""
        raise DataError(f"no verified markers {where} to train on{extra}: verify markers in the review page "
                        "or import the editor's markers (import-markers) first")
    train, val = split(examples, validation, seed)
    data = Dataset(train, val, skipped_missing_media=missing)
    if missing:
        data.notes.append(f"skipped {missing} asset(s) whose media is gone")
    if not val:
        data.notes.append("no validation split" + (" (one asset only)" if validation > 0 else ""))
    return data
