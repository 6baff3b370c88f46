"""Fine-tuning data for CogVLM2-Video through ms-swift: one jsonl line per (window clip, prompt) with
``query``, ``response`` and ``videos`` (shared/reference cogvlm2-video.md §8), and the window clips cut
by ffmpeg so a studio can fine-tune the model on its own corrections.

Two records per analysis window, when there is something to teach:
- caption: the vision analyser's caption prompt → the live scene summaries overlapping the window
  (an editor's verified scene marker wins over the model's, which is superseded);
- key moments: the key-moment prompt → the window's verified (editor) markers as ``<ordinal>: <name> - <note>``
  lines, where the ordinal is the whole second from the clip's start (the model's frame ordinals).

The prompts are the vision analyser's own (``cogvlm_media.model.prompts``), so training matches
inference.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cogvlm_media.media.ffmpeg_tools import require
from cogvlm_media.store.models import Asset, Marker, Window
from cogvlm_media.store.queries import live_markers

from cogvlm_media.model.prompts import CAPTION_PROMPT
from cogvlm_media.model.prompts import MOMENT_PROMPT as KEY_MOMENT_PROMPT


class DatasetError(ValueError):
    """The dataset cannot be written; one line for the user."""


@dataclass
class DatasetResult:
    records: int
    clips: int
    jsonl: Path


def _overlaps(mk: Marker, start: float, end: float) -> bool:
    return mk.time < end and mk.time + max(mk.duration or 0.0, 0.0) > start if mk.duration else start <= mk.time < end


def records_for(asset: Asset) -> list[tuple[Window, str, str]]:
    """(window, query, response) pairs for one asset."""
    live = live_markers(asset)
    out = []
    for w in asset.windows:
        summaries = [mk.note.strip() for mk in live if mk.kind == "scene" and mk.note.strip() and _overlaps(mk, w.start, w.end)]
        if summaries:
            out.append((w, CAPTION_PROMPT, " ".join(dict.fromkeys(summaries))))
        moments = sorted((mk for mk in live if mk.verified and mk.kind != "scene" and w.start <= mk.time < w.end),
                         key=lambda k: k.time)
        if moments:
            lines = [f"{int(round(mk.time - w.start))}: {' '.join(mk.name.split())}"
                     + (f" - {' '.join(mk.note.split())}" if mk.note.strip() else "") for mk in moments]
            out.append((w, KEY_MOMENT_PROMPT, "\n".join(lines)))
    return out


def cut_clip(source: str, start: float, end: float, out: Path) -> None:
    partial = out.with_name(f".{out.stem}.partial{out.suffix}")
    cmd = [require("ffmpeg"), "-nostdin", "-v", "error", "-y", "-ss", f"{start:.6f}", "-i", source,
           "-t", f"{end - start:.6f}", "-map", "0:v:0", "-map", "0:a:0?", "-c:v", "libx264", "-preset", "veryfast",
           "-pix_fmt", "yuv420p", "-c:a", "aac", str(partial)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        partial.unlink(missing_ok=True)
        raise DatasetError(f"ffmpeg could not cut {out.name}: {(run.stderr.strip().splitlines() or ['?'])[-1]}")
    os.replace(partial, out)


def write_dataset(session: Session, folder: Path, assets: list[Asset] | None = None) -> DatasetResult:
    assets = assets if assets is not None else list(session.scalars(select(Asset).order_by(Asset.id)))
    plan = []
    for asset in assets:
        rows = records_for(asset)
        if not rows:
            continue
        source = next((p.path for p in reversed(asset.paths) if os.path.isfile(p.path)), None)
        if source is None:
            raise DatasetError(f"asset {asset.id}: none of its files is on disk, cannot cut clips")
        plan.append((asset, source, rows))
    if not plan:
        raise DatasetError("nothing to write: no scene summaries or verified markers")
    clips_dir = Path(folder) / "clips"
    clips_dir.mkdir(parents=True, exist_ok=True)
    lines, cut = [], 0
    for asset, source, rows in plan:
        done: dict[int, Path] = {}
        for w, query, response in rows:
            if w.index not in done:
                done[w.index] = clips_dir / f"asset{asset.id}_w{w.index:04d}.mp4"
                cut_clip(source, w.start, w.end, done[w.index])
                cut += 1
            lines.append(json.dumps({"query": query, "response": response, "videos": [str(done[w.index].resolve())]},
                                    ensure_ascii=False))
    jsonl = Path(folder) / "train.jsonl"
    partial = jsonl.with_name(".train.jsonl.partial")
    partial.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(partial, jsonl)
    return DatasetResult(records=len(lines), clips=cut, jsonl=jsonl)
