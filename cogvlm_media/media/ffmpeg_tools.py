"""Locating the ffmpeg/ffprobe binaries, a system requirement of the whole package."""

from __future__ import annotations

import shutil
from functools import cache


class MissingFFmpeg(RuntimeError):
    """ffmpeg or ffprobe is not installed."""


@cache
def require(binary: str = "ffprobe") -> str:
    path = shutil.which(binary)
    if path is None:
        raise MissingFFmpeg(
            f"{binary} not found on PATH: cogvlm-media needs FFmpeg (Debian/Ubuntu: apt-get install ffmpeg; "
            "macOS: brew install ffmpeg)"
        )
    return path
