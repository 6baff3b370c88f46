"""YUV -> RGB as swscale converts a file's frames for decord and ffmpeg: the matrix and range the stream is
tagged with (untagged: BT.601, limited range), on 4:2:0 NV12 frames in torch tensors (any device).

The tags matter: HD footage is usually tagged BT.709, and decord's swscale then converts with BT.709;
converting such a file with BT.601 differs by about 5 levels on average and by 35-45 on saturated colours.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass

# swscale's ff_yuv2rgb_coeffs (crv, cbu, cgu, cgv) / 65536 for limited range, by the stream's colour matrix
_COEFFS = {
    "bt709": (117489, 138438, 13975, 34925),
    "fcc": (104448, 132798, 24759, 53109),
    "smpte240m": (117579, 136230, 16907, 35559),
    "bt2020nc": (110013, 140363, 12277, 42626),
    "bt2020c": (110013, 140363, 12277, 42626),
}
_BT601 = (104597, 132201, 25675, 53279)  # bt470bg, smpte170m, unspecified and everything else


@dataclass(frozen=True)
class Colour:
    """How a stream's YUV is turned into RGB: its colour matrix (ffprobe's name) and whether it is full range."""

    matrix: str = "unknown"
    full_range: bool = False

    def coefficients(self) -> tuple[float, float, float, float, float, float]:
        """(luma offset, luma gain, crv, cbu, cgu, cgv) of ``R = gain * (Y - offset) + crv * V'`` and so on."""
        crv, cbu, cgu, cgv = (c / 65536 for c in _COEFFS.get(self.matrix, _BT601))
        if self.full_range:  # swscale: no luma expansion, chroma gains scaled back by 224/255
            return 0.0, 1.0, crv * 224 / 255, cbu * 224 / 255, cgu * 224 / 255, cgv * 224 / 255
        return 16.0, 255 / 219, crv, cbu, cgu, cgv


BT601 = Colour()


def colour_of_tags(color_space: str | None, color_range: str | None, pix_fmt: str | None = None) -> Colour:
    """The conversion swscale picks for a stream with these ffprobe tags (``yuvj*`` formats are full range)."""
    full = (color_range or "") in ("pc", "jpeg") or (pix_fmt or "").startswith("yuvj")
    return Colour(matrix=color_space or "unknown", full_range=full)


def colour_of(path: str | os.PathLike[str]) -> Colour | None:
    """The first video stream's colour tags read with ffprobe; None when ffprobe cannot tell."""
    from cogvlm_media.media.ffmpeg_tools import MissingFFmpeg, require

    try:
        run = subprocess.run([require("ffprobe"), "-v", "error", "-select_streams", "v:0", "-show_entries",
                              "stream=color_space,color_range,pix_fmt", "-of", "json", os.fspath(path)],
                             capture_output=True, text=True, timeout=60)
        stream = json.loads(run.stdout or "{}").get("streams", [{}])[0]
    except (MissingFFmpeg, OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
    return colour_of_tags(stream.get("color_space"), stream.get("color_range"), stream.get("pix_fmt"))


def yuv_to_rgb(y, u, v, colour: Colour = BT601):
    """Y, U, V of the same shape (uint8 or float) -> RGB uint8 ``(..., 3)``, rounded as swscale rounds."""
    import torch

    offset, gain, crv, cbu, cgu, cgv = colour.coefficients()
    y = y.float().sub_(offset).mul_(gain)
    u, v = u.float().sub_(128), v.float().sub_(128)
    rgb = torch.stack([y + crv * v, y - cgu * u - cgv * v, y + cbu * u], dim=-1)
    return rgb.round_().clamp_(0, 255).to(torch.uint8)


def nv12_planes(nv12, height: int, width: int):
    """Y ``(B, H, W)``, U and V ``(B, H/2, W/2)`` views of NV12 frames ``(B, rows, pitch)``.

    The frames may be padded: a pitch wider than ``width`` and rows beyond the picture (a surface of 1088
    rows for 1080p, say); the chroma plane then starts after the surface's luma rows, not after ``height``."""
    b, rows, pitch = nv12.shape
    if pitch < width or rows < height * 3 // 2:
        raise ValueError(f"NV12 frames of {rows}x{pitch} cannot hold a {width}x{height} picture")
    luma_rows = rows * 2 // 3  # the surface height: NV12 is luma rows plus half as many chroma rows
    uv = nv12[:, luma_rows:luma_rows + height // 2, :width].reshape(b, height // 2, width // 2, 2)
    return nv12[:, :height, :width], uv[..., 0], uv[..., 1]


def full_chroma(chroma, height: int, width: int):
    """A 4:2:0 chroma plane at full size, each sample for its 2x2 pixels (swscale's unscaled conversion)."""
    return chroma.repeat_interleave(2, dim=1).repeat_interleave(2, dim=2)[:, :height, :width]


def nv12_to_rgb(nv12, height: int, width: int, colour: Colour = BT601):
    """NV12 frames -> RGB ``(B, H, W, 3)`` uint8, as swscale converts 4:2:0 at the same size (what decord
    returns): the stream's matrix and range, each chroma sample used for its 2x2 pixels."""
    y, u, v = nv12_planes(nv12, height, width)
    return yuv_to_rgb(y, full_chroma(u, height, width), full_chroma(v, height, width), colour)
