"""Where window frames come from: a ``FrameSource`` opens a file once and reads frames by index.

``DecordSource`` is today's ``frames.read_frames`` (decord, the reader the CogVLM2-Video reference
samples with): the same indices give the same pixels, but one reader stays open for all windows of a
file. A GPU decoder (NVDEC) is another source with the same two methods; its ``read`` may return a
CUDA tensor, which the model then preprocesses where it lies. Sources are named in ``FRAME_SOURCES``
(``module:class``, imported lazily) and chosen by ``[model] frame_source``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import import_module
from typing import Any, Protocol

import numpy as np

from cogvlm_media.media.frames import FrameReadError, _reader


class FrameReader(Protocol):
    def read(self, indices: Sequence[int]) -> Any:
        """uint8 RGB frames ``(T, H, W, 3)`` at ``indices`` (numpy array or torch tensor)."""

    def close(self) -> None: ...


class FrameSource(Protocol):
    name: str

    def open(self, path: str | os.PathLike[str]) -> FrameReader: ...


class DecordReader:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._vr = _reader(path)

    def read(self, indices: Sequence[int]) -> np.ndarray:
        if not len(indices):
            return np.zeros((0, 0, 0, 3), dtype=np.uint8)
        n = len(self._vr)
        bad = [i for i in indices if i < 0 or i >= n]
        if bad:
            raise FrameReadError(f"frame index {bad[0]} outside 0..{n - 1}")
        return self._vr.get_batch(list(indices)).asnumpy()

    def close(self) -> None:
        self._vr = None

    def __enter__(self) -> "DecordReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class DecordSource:
    name = "decord"

    def open(self, path: str | os.PathLike[str]) -> DecordReader:
        return DecordReader(path)


FRAME_SOURCES: dict[str, str] = {
    "decord": "cogvlm_media.media.frame_source:DecordSource",
    "nvdec": "cogvlm_media.media.nvdec:NvdecSource",
}


class UnknownFrameSource(ValueError):
    pass


def get_frame_source(name: str = "auto") -> FrameSource:
    """``auto`` (or empty): NVDEC when a CUDA device and PyNvVideoCodec are there, else decord."""
    if name in ("", "auto"):
        from cogvlm_media.media.nvdec import default_source_name

        name = default_source_name()
    target = FRAME_SOURCES.get(name)
    if target is None:
        raise UnknownFrameSource(f"unknown frame source {name!r} (known: {', '.join(sorted(FRAME_SOURCES))})")
    module, cls = target.split(":")
    return getattr(import_module(module), cls)()
