"""Stage 5: cut the timeline into analysis windows for a video language model.

A window is at most ``max_seconds`` long, starts on a shot boundary where possible (whole shots are
packed greedily; a shot longer than the limit is split into equal parts) and carries the frames a
CogVLM2-Video 'chat' call would sample if the window were cut out as its own file: for every whole
second s = 0 … round(t_last) of the window (t_last = start time of its last frame relative to its
first), the window's own frame whose start time is closest to s, at most 24 of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from cogvlm_media.records import Shot, Window

MAX_FRAMES = 24


def sample_ordinals(relative_times: np.ndarray, max_frames: int = MAX_FRAMES) -> list[int]:
    """Positions (into ``relative_times``) the reference 'chat' sampler picks, in ordinal order.

    ``relative_times`` are frame start times with the window's first frame at 0. Ties go to the
    earlier frame; ``round`` is Python's (half to even), as in the reference.
    """
    if len(relative_times) == 0:
        return []
    t_last = float(relative_times[-1])
    picks: list[int] = []
    for second in range(round(t_last) + 1):
        picks.append(int(np.argmin(np.abs(relative_times - second))))
        if len(picks) == max_frames:
            break
    return picks


def _frame_end(frame_times: np.ndarray, last_frame: int, duration: float) -> float:
    return float(frame_times[last_frame + 1]) if last_frame + 1 < len(frame_times) else duration


def _spans(shots: Sequence[Shot], frame_times: np.ndarray, duration: float,
           max_seconds: float) -> list[tuple[int, int, tuple[int, ...]]]:
    """(first_frame, last_frame, shot indices) for each window."""
    spans: list[tuple[int, int, tuple[int, ...]]] = []
    current: list[Shot] = []

    def close() -> None:
        if current:
            spans.append((current[0].start_frame, current[-1].end_frame, tuple(s.index for s in current)))
            current.clear()

    for shot in shots:
        start = float(frame_times[shot.start_frame])
        end = _frame_end(frame_times, shot.end_frame, duration)
        if end - start > max_seconds:
            close()
            # half a second of slack: a part ends at the start of the frame after its boundary
            parts = math.ceil((end - start) / (max_seconds - 0.5))
            bounds = [start + (end - start) * k / parts for k in range(parts + 1)]
            first = shot.start_frame
            for k in range(1, parts + 1):
                if k == parts:
                    last = shot.end_frame
                else:
                    # last frame that still starts before the part boundary
                    last = int(np.searchsorted(frame_times, bounds[k], side="left")) - 1
                    last = max(first, min(last, shot.end_frame - 1))
                spans.append((first, last, (shot.index,)))
                first = last + 1
            continue
        if current and end - float(frame_times[current[0].start_frame]) > max_seconds:
            close()
        current.append(shot)
    close()
    return spans


def plan_windows(shots: Sequence[Shot], frame_times: np.ndarray, duration: float,
                 max_seconds: float = 24.0) -> list[Window]:
    """Plan windows over the whole file. ``frame_times`` holds every frame's start time (seconds)."""
    frame_times = np.asarray(frame_times, dtype=np.float64)
    if not len(frame_times):
        return []
    if not shots:
        shots = [Shot(0, 0, len(frame_times) - 1, 0.0, duration, "start")]
    windows: list[Window] = []
    for index, (first, last, shot_ids) in enumerate(_spans(shots, frame_times, duration, max_seconds)):
        own = frame_times[first:last + 1]
        picks = sample_ordinals(own - own[0])
        windows.append(Window(
            index=index,
            start=float(own[0]),
            end=_frame_end(frame_times, last, duration),
            first_frame=first,
            last_frame=last,
            frame_indices=tuple(first + p for p in picks),
            frame_times=tuple(float(own[p]) for p in picks),
            shot_indices=shot_ids,
        ))
    return windows
