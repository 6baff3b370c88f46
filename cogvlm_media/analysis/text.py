"""The ``text`` stage: on-screen text events (slates, lower thirds, title cards) with start and end.

Frames are sampled every ``step`` seconds (``[plugins.text] step``, default 0.5 s) at ``width`` pixels
(default 960) by one ffmpeg pass (``media/sampled_frames.py``), or, in the ingest pipeline, by the
decode shared with shot detection (``media/shared_decode.py``). A sampled frame is read only when it
can hold new text:

* a cut since the previous sample (its 96x54 grey thumbnail differs by more than ``CUT`` on average):
  a shot start is always read;
* otherwise a local change (some 6x6 block of the thumbnail differs by more than ``CHANGE`` from the
  last frame read), and at least ``period`` seconds (default 1 s) since that frame; when text appears
  or goes in a frame read late, its box alone is recognised on the changed samples in between, to
  date it to the sample;
* otherwise the last frame's text carries on (a steady title is read once).

A frame to read first passes the cheap text-likelihood check (``ocr.text_likely``); only then does
text detection run, and recognition runs only on the detected boxes. A frame that cannot be read is
skipped with its reason logged. Without RapidOCR the stage is skipped with one line saying why.
``[plugins.text] enabled = false`` switches the stage off.
"""

from __future__ import annotations

import logging

import numpy as np

from cogvlm_media.analysis.ocr import OcrUnavailable, load_reader, text_likely
from cogvlm_media.analysis.text_events import TextTracker, blocks, same_text
from cogvlm_media.config import Settings
from cogvlm_media.media.sampled_frames import SampledFrames, scaled_size
from cogvlm_media.records import TextResult

log = logging.getLogger(__name__)

CUT = 18.0
CHANGE = 12.0
THUMB = (96, 54)
DEFAULTS = {"enabled": True, "step": 0.5, "period": 1.0, "width": 960}


def options(settings: Settings) -> dict:
    table = settings.plugins.get("text", {})
    return {**DEFAULTS, **{k: v for k, v in table.items() if k in DEFAULTS}}


def enabled(settings: Settings) -> bool:
    return bool(options(settings)["enabled"])


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    ys = (np.arange(THUMB[1]) * h / THUMB[1]).astype(int)
    xs = (np.arange(THUMB[0]) * w / THUMB[0]).astype(int)
    return rgb[ys][:, xs].mean(axis=2, dtype=np.float32)


def is_cut(thumb: np.ndarray, previous: np.ndarray | None) -> bool:
    """Whether a sample's thumbnail starts a new shot after ``previous`` (the first sample always does)."""
    return previous is None or float(np.abs(thumb - previous).mean()) > CUT


def _local_change(a: np.ndarray, b: np.ndarray) -> float:
    d = np.abs(a - b).reshape(THUMB[1] // 6, 6, THUMB[0] // 6, 6).mean(axis=(1, 3))
    return float(d.max())


def _one_line(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:120]}" if text else type(exc).__name__


def _guarded(frames, bad: list[str]):
    """The sampled frames; a decode that breaks off ends the stage with what it found (an optional stage
    never fails the file)."""
    try:
        yield from frames
    except Exception as exc:
        log.warning("on-screen text: decoding stopped early (%s)", _one_line(exc))
        bad.append(f"decoding stopped early ({_one_line(exc)})")


def sampling(settings: Settings, width: int, height: int) -> tuple[float, int, int]:
    """(step in seconds, width, height) of the frames the stage reads from a ``width`` x ``height`` video."""
    opts = options(settings)
    w, h = scaled_size(width, height, int(opts["width"]))
    return float(opts["step"]), w, h


def read_text(path: str, width: int, height: int, duration: float, settings: Settings,
              progress=None, frames=None) -> TextResult:
    """The text events of one file (see the module docstring). ``frames``: the sampled frames from a
    decode shared with the shot stage (``media/shared_decode.py``, sampled as :func:`sampling` says), with
    its ``problems``; this stage's own ffmpeg pass when None."""
    opts = options(settings)
    try:
        reader = load_reader()
    except OcrUnavailable as exc:
        log.warning("on-screen text skipped: %s", exc)
        return TextResult(model_version="", skipped=str(exc))
    step, w, h = sampling(settings, width, height)
    period = float(opts["period"])
    frames = SampledFrames(path, step, w, h) if frames is None else frames
    tracker = TextTracker()
    previous = last_read = None
    last_time = -1e9
    carried: list = []
    pending: list[tuple[float, np.ndarray]] = []  # samples changed since the last frame read, not read

    def refine(block, appearing: bool) -> float:
        for when, frame in pending:
            shows = same_text(reader.read_box(frame, block.box), block.text)
            if shows == appearing:
                return when
        return now

    now = 0.0
    sampled = checked = recognised = 0
    bad: list[str] = []
    for now, rgb in _guarded(frames, bad):
        sampled += 1
        try:
            thumb = thumbnail(rgb)
            cut = is_cut(thumb, previous)
            changed = last_read is None or _local_change(thumb, last_read) > CHANGE
            previous = thumb
            read = cut or (changed and now - last_time >= period - 1e-6)
            if read:
                found = []
                if text_likely(rgb):
                    checked += 1
                    lines, _boxes = reader.read(rgb)
                    recognised += len(lines)
                    found = blocks(lines, w, h)
                carried, last_read, last_time = found, thumb, now  # only a frame read to the end counts
                if cut:
                    pending = []
        except Exception as exc:  # one unreadable frame must not lose the file's other text
            reason = f"frame at {now:.2f} s skipped ({_one_line(exc)})"
            log.warning("on-screen text: %s", reason)
            bad.append(reason)
            continue
        tracker.add(now, carried, refine if read and pending else None)
        if read:
            pending = []
        elif changed:
            pending.append((now, rgb))
        if progress:
            progress(min(now, duration), duration)
    for problem in frames.problems:
        log.warning("on-screen text: the decoder skipped a damaged frame (%s)", problem)
        bad.append(f"decoder: {problem}")
    if progress:
        progress(duration, duration)
    events = tracker.finish(duration, step)
    return TextResult(model_version=reader.version, events=tuple(events), sampled=sampled, checked=checked,
                      recognised=recognised, bad_frames=tuple(bad))
