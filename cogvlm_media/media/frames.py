"""Frame access with decord, the reader the CogVLM2-Video reference samples with.

decord is used where frame-index parity with the reference matters (window sampling); its frame
count is checked against ffprobe's so a file decord misreads is rejected instead of mis-sampled.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np


class FrameReadError(ValueError):
    """decord cannot read the frames of the file as ffprobe describes them."""


def _reader(path: str | os.PathLike[str], width: int = -1, height: int = -1, threads: int = 1):
    import decord

    path = os.fspath(path)
    fd = None
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:  # a name that is not UTF-8: decord takes only UTF-8, so open it by descriptor
        fd = os.open(path, os.O_RDONLY)
        path = f"/proc/self/fd/{fd}"
    try:
        return decord.VideoReader(path, ctx=decord.cpu(0), width=width, height=height, num_threads=threads)
    except (RuntimeError, decord.DECORDError) as exc:  # decord raises DECORDError on unreadable input
        raise FrameReadError(f"cannot decode video frames ({str(exc).splitlines()[0][:120]})") from None
    finally:
        if fd is not None:
            os.close(fd)  # the reader holds its own descriptor from here on


def decoded_frame_times(path: str | os.PathLike[str], expected_frames: int | None = None) -> np.ndarray:
    """Start time (seconds) of every frame, relative to the first frame, as float64.

    When ``expected_frames`` (ffprobe's count) is given, a different count raises FrameReadError
    (a tolerance of 1 frame covers containers whose reported count includes a trailing empty packet).
    """
    vr = _reader(path)
    n = len(vr)
    if n == 0:
        raise FrameReadError("no decodable frames")
    if expected_frames is not None and abs(n - expected_frames) > 1:
        raise FrameReadError(f"decord sees {n} frames but ffprobe reports {expected_frames}")
    stamps = np.asarray(vr.get_frame_timestamp(range(n))[:, 0], dtype=np.float64)
    return stamps - stamps[0]


def read_frames(path: str | os.PathLike[str], indices: Sequence[int], width: int = -1,
                height: int = -1) -> np.ndarray:
    """Decoded RGB frames at ``indices`` as uint8 ``(T, H, W, 3)``."""
    if not len(indices):
        return np.zeros((0, max(height, 0), max(width, 0), 3), dtype=np.uint8)
    vr = _reader(path, width, height)
    bad = [i for i in indices if i < 0 or i >= len(vr)]
    if bad:
        raise FrameReadError(f"frame index {bad[0]} outside 0..{len(vr) - 1}")
    return vr.get_batch(list(indices)).asnumpy()


def iter_frames(path: str | os.PathLike[str], indices: Sequence[int], width: int = -1, height: int = -1,
                chunk: int = 16, threads: int = 1):
    """Yield ``(index, frame, reason)`` for each index in order: the uint8 ``(H, W, 3)`` RGB frame, or
    ``None`` and a one-line reason for a frame that cannot be decoded (the others are still read).
    ``threads``: decoder threads (0: as many as the decoder likes)."""
    vr = _reader(path, width, height, threads)
    wanted = list(indices)
    for start in range(0, len(wanted), chunk):
        part = wanted[start:start + chunk]
        try:
            batch = vr.get_batch(part).asnumpy()
        except Exception:  # decord raises its own error types; read one by one to find the bad frame
            for index in part:
                try:
                    yield index, vr[index].asnumpy(), ""
                except Exception as exc:  # noqa: BLE001 - any decode failure skips just this frame
                    yield index, None, f"frame {index}: {str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__}"
            continue
        for index, frame in zip(part, batch):
            yield index, frame, ""
