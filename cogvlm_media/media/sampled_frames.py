"""Frames sampled at a fixed time step, for the stages that look at pictures (on-screen text).

One ffmpeg process decodes the video and keeps the first frame of every ``step``-second interval
(``select`` on the presentation time), scaled to ``width`` pixels; ``showinfo`` reports each kept
frame's time on stderr, so a frame the decoder dropped never shifts the times of the frames after it.
The decoder's own complaints (a corrupt frame) are collected as one-line reasons.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from cogvlm_media.media.ffmpeg_tools import require

_SHOWINFO = re.compile(r"\[Parsed_showinfo.*\] n:\s*\d+ pts:\s*-?\d+ pts_time:(-?[\d.]+)")
_ERROR = re.compile(r"^(\[[^\]]+ @ 0x[0-9a-f]+\] )\[(error|fatal)\] (.*)$")  # a decoder's error, not a warning


def select_filter(step: float) -> str:
    """The ``select`` filter keeping the first frame of every ``step``-second interval."""
    bucket = f"floor(t/{step:.6f}+0.001)"
    return f"select='isnan(prev_selected_t)+gt({bucket}-floor(prev_selected_t/{step:.6f}+0.001)\\,0)'"


@dataclass
class SampledFrames:
    """Iterate over ``(time, rgb frame)``; after the loop, ``problems`` holds what the decoder reported."""

    path: str
    step: float
    width: int
    height: int
    problems: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        select = select_filter(self.step)
        cmd = [require("ffmpeg"), "-nostdin", "-hide_banner", "-nostats", "-loglevel", "level+info", "-noautorotate",
               "-i", os.fspath(self.path), "-map", "0:v:0", "-an", "-sn", "-dn",
               "-vf", f"{select},showinfo,scale={self.width}:{self.height}", "-fps_mode", "passthrough",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        times: queue.Queue = queue.Queue()
        reader = threading.Thread(target=self._read_stderr, args=(proc, times), daemon=True)
        reader.start()
        size = self.width * self.height * 3
        first: float | None = None
        try:
            assert proc.stdout is not None
            while True:
                buf = bytearray()
                while len(buf) < size:
                    block = proc.stdout.read(size - len(buf))
                    if not block:
                        break
                    buf += block
                if len(buf) < size:
                    if buf:
                        self.problems.append(f"a truncated frame ({len(buf)} of {size} bytes) at the end")
                    break
                stamp = times.get(timeout=30)
                first = stamp if first is None else first
                yield max(0.0, stamp - first), np.frombuffer(bytes(buf), np.uint8).reshape(self.height, self.width, 3)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            reader.join(timeout=5)

    def _read_stderr(self, proc: subprocess.Popen, times: queue.Queue) -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").strip()
            found = _SHOWINFO.search(line)
            if found:
                times.put(float(found.group(1)))
            elif (error := _ERROR.match(line)):
                self.problems.append((error.group(1) + error.group(3))[:200])


def scaled_size(width: int, height: int, target_width: int) -> tuple[int, int]:
    """An even-sized frame of at most ``target_width`` pixels across, with the picture's aspect ratio."""
    w = min(target_width, width) if width > 0 else target_width
    h = round(w * height / width) if width > 0 and height > 0 else round(w * 9 / 16)
    return max(2, w - w % 2), max(2, h - h % 2)
