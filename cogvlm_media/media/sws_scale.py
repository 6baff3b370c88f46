"""The small frames of the CPU decode (``ffmpeg -vf scale=48:27 -pix_fmt rgb24``), made from NV12 on the GPU.

ffmpeg scales with swscale's bicubic filter (B = 0, C = 0.6; widened by the reduction, so it also averages
away detail), on the YUV planes before converting: luma from W x H, chroma from its own W/2 x H/2, to a
chroma width of half the output (packed RGB output without full chroma interpolation uses one chroma sample
for two pixels) and the full output height. Each resize is a weight matrix here, so a batch of frames is
two matrix products per plane. Within a level or so of ffmpeg's fixed-point result.
"""

from __future__ import annotations

import numpy as np

from cogvlm_media.media.yuv import BT601, Colour, nv12_planes, yuv_to_rgb

B, C = 0.0, 0.6  # swscale's bicubic parameters


def _cubic(d: np.ndarray) -> np.ndarray:
    d = np.abs(d)
    inner = ((12 - 9 * B - 6 * C) * d ** 3 + (-18 + 12 * B + 6 * C) * d ** 2 + (6 - 2 * B)) / 6
    outer = ((-B - 6 * C) * d ** 3 + (6 * B + 30 * C) * d ** 2 + (-12 * B - 48 * C) * d + (8 * B + 24 * C)) / 6
    return np.where(d < 1, inner, np.where(d < 2, outer, 0.0))


def weights(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` float64: row ``i`` weighs the input samples of output ``i`` (centres aligned, the
    kernel stretched by the reduction, samples beyond the edge taken from the edge, each row summing to 1)."""
    scale = max(n_in / n_out, 1.0)
    centre = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    reach = int(np.ceil(2 * scale)) + 1
    taps = np.floor(centre)[:, None].astype(np.int64) + np.arange(-reach, reach + 1)[None, :]
    w = _cubic((taps - centre[:, None]) / scale)
    out = np.zeros((n_out, n_in))
    np.add.at(out, (np.repeat(np.arange(n_out), taps.shape[1]), np.clip(taps, 0, n_in - 1).ravel()), w.ravel())
    return out / out.sum(axis=1, keepdims=True)


class SmallFrames:
    """NV12 frames ``(B, rows, pitch)`` uint8 -> ``(B, out_h, out_w, 3)`` uint8 RGB, as the CPU decode's."""

    def __init__(self, height: int, width: int, out_h: int, out_w: int, device, colour: Colour = BT601):
        import torch

        def t(a):
            return torch.from_numpy(a).to(device=device, dtype=torch.float32)

        self.height, self.width, self.out_h, self.out_w, self.colour = height, width, out_h, out_w, colour
        chroma_w = (out_w + 1) // 2
        self.ly, self.lx = t(weights(height, out_h)), t(weights(width, out_w).T.copy())
        self.cy, self.cx = t(weights(height // 2, out_h)), t(weights(width // 2, chroma_w).T.copy())

    def __call__(self, nv12):
        y, u, v = nv12_planes(nv12, self.height, self.width)
        luma = self.ly @ y.float() @ self.lx

        def chroma(plane):  # one chroma sample for each pair of output pixels
            return (self.cy @ plane.float() @ self.cx).repeat_interleave(2, dim=2)[:, :, :self.out_w]

        return yuv_to_rgb(luma, chroma(u), chroma(v), self.colour)
