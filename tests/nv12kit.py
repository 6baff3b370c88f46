"""NV12 as NVDEC hands it over, made on the CPU: ffmpeg's own decoded planes repacked (no conversion), and a
stand-in decoder that gives them out in batches with their timestamps, as PyNvVideoCodec's does."""

from __future__ import annotations

import subprocess

import numpy as np
import torch


def nv12_of(path, width: int, height: int) -> torch.Tensor:
    """The decoded frames as NV12 ``(N, 3H/2, W)``: ffmpeg's own planes (no conversion), U and V interleaved."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "pipe:1"],
                         capture_output=True, check=True).stdout
    a = np.frombuffer(raw, np.uint8).reshape(-1, width * height * 3 // 2)
    n, y = len(a), width * height
    u = a[:, y:y + y // 4].reshape(n, height // 2, width // 2)
    v = a[:, y + y // 4:].reshape(n, height // 2, width // 2)
    uv = np.stack([u, v], -1).reshape(n, height // 2, width)
    return torch.from_numpy(np.concatenate([a[:, :y].reshape(n, height, width), uv], axis=1))


class Frame:
    """What PyNvVideoCodec hands over: a DLPack-able NV12 frame with its presentation timestamp."""

    def __init__(self, tensor, pts):
        self.tensor, self.pts = tensor, pts

    def __dlpack__(self, stream=None):
        return self.tensor.__dlpack__()

    def __dlpack_device__(self):
        return self.tensor.__dlpack_device__()

    def getPTS(self):  # noqa: N802 - PyNvVideoCodec's name
        return self.pts


class Decoder:
    def __init__(self, frames):
        self.frames = list(frames)

    def get_batch_frames(self, n):
        out, self.frames = self.frames[:n], self.frames[n:]
        return out
