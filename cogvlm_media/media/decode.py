"""One shared decode per file: small RGB frames for shot detection and 16 kHz mono audio for speech.

The video stream is decoded once, by one ffmpeg process that scales every decoded frame straight to
TransNetV2's 48x27 input (``-fps_mode passthrough``: one output frame per decoded frame, none
duplicated or dropped, so frame i here is frame i of decord and ffprobe). The audio is decoded by a
separate ffmpeg process that skips the video stream entirely (``-vn``), so it costs a small fraction
of the video decode and can start first, letting speech recognition run while shots are detected.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from fractions import Fraction

import numpy as np

from cogvlm_media.media.ffmpeg_tools import require

SMALL_W, SMALL_H = 48, 27  # TransNetV2's input size
AUDIO_RATE = 16000  # what Whisper expects

Progress = Callable[[int, int], None]


class DecodeError(ValueError):
    """ffmpeg could not decode the file's video or audio. The message is a one-line reason."""


def _reason(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "unknown error"


def read_exactly(pipe, size: int) -> bytes:
    """``size`` bytes from ``pipe``, or fewer at its end."""
    buf = bytearray()
    while len(buf) < size:
        block = pipe.read(size - len(buf))
        if not block:
            break
        buf += block
    return bytes(buf)


def frame_chunks(pipe, width: int, height: int, chunk_frames: int = 256) -> Iterator[np.ndarray]:
    """Raw RGB frames read from ``pipe`` as uint8 ``(n, height, width, 3)`` chunks of up to ``chunk_frames``,
    until the pipe ends (a partial frame at its end is dropped)."""
    frame_bytes = width * height * 3
    want = frame_bytes * chunk_frames
    while True:
        buf = read_exactly(pipe, want)
        n = len(buf) // frame_bytes
        if n:
            yield np.frombuffer(buf[: n * frame_bytes], np.uint8).reshape(n, height, width, 3)
        if len(buf) < want:
            return


def gather_frames(chunks, expected_frames: int | None = None, progress: Progress | None = None) -> list[np.ndarray]:
    """The chunks as a list, with ``progress(done, expected_frames)`` after each."""
    out: list[np.ndarray] = []
    done, total = 0, expected_frames or 0
    for chunk in chunks:
        out.append(chunk)
        done += len(chunk)
        if progress:
            progress(min(done, total) if total else done, total or done)
    return out


def iter_small_frames(path: str | os.PathLike[str], width: int = SMALL_W, height: int = SMALL_H,
                      chunk_frames: int = 256, threads: int = 0) -> Iterator[np.ndarray]:
    """Yield the video's frames as uint8 ``(n, height, width, 3)`` RGB chunks, in display order."""
    cmd = [require("ffmpeg"), "-nostdin", "-v", "error", "-noautorotate", "-threads", str(threads),
           "-i", os.fspath(path), "-map", "0:v:0", "-an", "-sn", "-dn",
           "-vf", f"scale={width}:{height}", "-fps_mode", "passthrough",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    errors: list[bytes] = []
    drain = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)
    drain.start()
    finished = False
    try:
        assert proc.stdout is not None
        yield from frame_chunks(proc.stdout, width, height, chunk_frames)
        finished = True
    finally:
        if not finished and proc.poll() is None:
            proc.kill()
        proc.wait()
        drain.join(timeout=5)
    if finished and proc.returncode != 0:
        raise DecodeError(f"cannot decode video ({_reason(b''.join(errors))})")


def decode_small(path: str | os.PathLike[str], expected_frames: int | None = None,
                 progress: Progress | None = None, width: int = SMALL_W, height: int = SMALL_H,
                 threads: int = 0) -> np.ndarray:
    """All frames as uint8 ``(N, height, width, 3)``; ``progress(done, expected_frames)`` per chunk."""
    chunks = gather_frames(iter_small_frames(path, width, height, threads=threads), expected_frames, progress)
    if not chunks:
        raise DecodeError("no decodable video frames")
    return np.concatenate(chunks)


def decode_audio(path: str | os.PathLike[str], rate: int = AUDIO_RATE) -> np.ndarray | None:
    """The first audio stream as float32 mono samples at ``rate`` Hz; None when there is none."""
    cmd = [require("ffmpeg"), "-nostdin", "-v", "error", "-i", os.fspath(path), "-map", "0:a:0?",
           "-vn", "-sn", "-dn", "-ac", "1", "-ar", str(rate), "-f", "f32le", "pipe:1"]
    run = subprocess.run(cmd, capture_output=True)
    if run.returncode != 0:
        raise DecodeError(f"cannot decode audio ({_reason(run.stderr)})")
    if not run.stdout:
        return None
    return np.frombuffer(run.stdout, dtype=np.float32).copy()


def packet_frame_times(path: str | os.PathLike[str], count: int, fps: Fraction, variable: bool) -> np.ndarray:
    """Start time of each of ``count`` frames, seconds from the first frame.

    Constant-rate footage: ``i / fps`` exactly. Variable-rate footage: the packets' presentation
    times from ffprobe (no decoding), sorted into display order.
    """
    if not variable:
        return np.arange(count, dtype=np.float64) * (fps.denominator / fps.numerator)
    cmd = [require("ffprobe"), "-v", "error", "-select_streams", "v:0", "-show_entries",
           "packet=pts_time", "-of", "csv=p=0", os.fspath(path)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    stamps = sorted(float(x.strip().rstrip(",")) for x in run.stdout.split() if x.strip(", ") not in ("", "N/A"))
    if run.returncode != 0 or len(stamps) < count:
        return np.arange(count, dtype=np.float64) * (fps.denominator / fps.numerator)
    out = np.asarray(stamps[:count], dtype=np.float64)
    return out - out[0]
