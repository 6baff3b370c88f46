"""Decode a file once on the GPU (NVDEC, through PyNvVideoCodec) for every consumer of its frames.

One sequential pass decodes every frame to NV12 in device memory and converts it to RGB as decord's
swscale does, with the colour matrix and range the stream is tagged with (``media.yuv``: BT.709 for most HD
footage, BT.601 when untagged; PyNvVideoCodec's own RGB takes BT.709 for untagged footage and so differs
from decord by about 6 levels there); for each frame the GPU then makes

* the 48x27 frame TransNetV2 reads (``small``), as the CPU decode's ffmpeg makes it: swscale's bicubic
  reduction of the YUV planes, then the conversion (``media.sws_scale``), and
* the 224x224 picture CogVLM2-Video is shown (``model``): the short side resized to 224 with the
  reference's bilinear filter (``align_corners=False``, no antialiasing), then the centre crop, in
  exactly the order and geometry of ``model.inputs.preprocess_frames`` (resizing commutes with its
  per-channel normalisation), rounded to uint8. ``preprocess_frames`` leaves a 224x224 frame as is.

Both go to host memory (about 150 kB per frame for ``model``), so any window's frames can be served
after shot detection has placed the windows, with no second decode. Frame ``i`` here is the ``i``-th
frame in display order, as for decord and ffprobe (NVDEC hands frames over in display order; they are
also put in timestamp order when every timestamp is distinct); a file whose NVDEC frame count differs from
the expected count is refused (``NvdecError``) so that the caller falls back to the CPU decode.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from cogvlm_media.media import yuv
from cogvlm_media.media.decode import SMALL_H, SMALL_W
from cogvlm_media.media.sws_scale import SmallFrames
from cogvlm_media.media.yuv import BT601, Colour, nv12_to_rgb  # noqa: F401 (nvdec.nv12_to_rgb for callers)

MODEL_SIZE = 224
BATCH = 16  # frames converted per GPU step (about 1 GB of temporaries at 1080p)

Progress = Callable[[int, int], None]


class NvdecError(RuntimeError):
    """NVDEC cannot decode this file (or is not usable here); the CPU decode should be used."""


_probe_lock = threading.Lock()
_reason: dict[int, str | None] = {}


def unavailable_reason(gpu: int = 0) -> str | None:
    """None when NVDEC decoding can run on CUDA device ``gpu``, else a one-line reason (cached)."""
    with _probe_lock:
        if gpu not in _reason:
            _reason[gpu] = _check(gpu)
        return _reason[gpu]


def _check(gpu: int) -> str | None:
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return "no CUDA device"
    if gpu >= torch.cuda.device_count():
        return f"no CUDA device {gpu}"
    try:
        import PyNvVideoCodec  # noqa: F401
    except Exception as exc:  # ImportError, or the driver library missing (RuntimeError)
        return f"PyNvVideoCodec cannot be loaded ({str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__})"
    return None


def model_geometry(height: int, width: int, size: int = MODEL_SIZE) -> tuple[int, int, int, int]:
    """(resized height, resized width, crop top, crop left) exactly as ``preprocess_frames`` computes them."""
    if height <= width:
        new_h, new_w = size, math.floor(width / height * size)
    else:
        new_h, new_w = math.floor(height / width * size), size
    return new_h, new_w, int(round((new_h - size) / 2.0)), int(round((new_w - size) / 2.0))


@dataclass
class DecodedVideo:
    """Every frame of one file, as shot detection and the vision model each need it."""

    small: np.ndarray  # uint8 (N, 27, 48, 3)
    model: np.ndarray  # uint8 (N, 224, 224, 3)
    width: int
    height: int
    colour: Colour = BT601  # the conversion used

    def __len__(self) -> int:
        return len(self.small)

    def frames(self, indices: Sequence[int]) -> np.ndarray:
        """The model-ready frames at ``indices`` (uint8 ``(T, 224, 224, 3)``)."""
        idx = [int(i) for i in indices]
        bad = [i for i in idx if i < 0 or i >= len(self.model)]
        if bad:
            raise NvdecError(f"frame index {bad[0]} outside 0..{len(self.model) - 1}")
        return self.model[idx] if idx else np.zeros((0, MODEL_SIZE, MODEL_SIZE, 3), np.uint8)


def _taps(n_in: int, n_out: int, start: int, count: int, device):
    """Source indices and weight of ``F.interpolate``'s bilinear filter (``align_corners=False``) for the
    outputs ``start .. start + count - 1`` of a resize from ``n_in`` to ``n_out`` samples."""
    import torch

    dst = torch.arange(start, start + count, device=device, dtype=torch.float32)
    src = ((dst + 0.5) * (n_in / n_out) - 0.5).clamp_(min=0)
    i0 = src.long()
    return i0, (i0 + 1).clamp_(max=n_in - 1), src - i0


class Nv12Converter:
    """NV12 frames from NVDEC -> the small and the model-ready frames, without a full-size RGB picture.

    Model frames: the RGB (as ``nv12_to_rgb``) of just the 2x2 source pixels each output pixel of the
    224x224 crop reads, combined with the bilinear filter's own weights in its own order: the same values
    as ``FrameConverter`` on ``nv12_to_rgb``'s frames. Small frames: as ffmpeg's ``scale=48:27`` makes
    them for the CPU decode (``sws_scale.SmallFrames``)."""

    def __init__(self, height: int, width: int, device, size: int = MODEL_SIZE, colour: Colour = BT601):
        self.height, self.width, self.size, self.colour = height, width, size, colour
        new_h, new_w, top, left = model_geometry(height, width, size)
        self.rows = _taps(height, new_h, top, size, device)
        self.cols = _taps(width, new_w, left, size, device)
        self.small = SmallFrames(height, width, SMALL_H, SMALL_W, device, colour)

    def __call__(self, nv12):
        import torch

        y, u, v = yuv.nv12_planes(nv12, self.height, self.width)
        (r0, r1, wr), (c0, c1, wc) = self.rows, self.cols

        def pixel(r, c):
            yy = y.index_select(1, r).index_select(2, c)
            uu = u.index_select(1, r // 2).index_select(2, c // 2)
            vv = v.index_select(1, r // 2).index_select(2, c // 2)
            return yuv.yuv_to_rgb(yy, uu, vv, self.colour).float()

        h1, w1 = wr.view(1, -1, 1, 1), wc.view(1, 1, -1, 1)
        h0, w0 = 1 - h1, 1 - w1
        out = h0 * (w0 * pixel(r0, c0) + w1 * pixel(r0, c1)) + h1 * (w0 * pixel(r1, c0) + w1 * pixel(r1, c1))
        return self.small(nv12), out.round_().clamp_(0, 255).to(torch.uint8)


class FrameConverter:
    """RGB uint8 frames on the GPU (``(B, H, W, 3)``) -> the small and the model-ready versions."""

    def __init__(self, height: int, width: int, size: int = MODEL_SIZE):
        self.height, self.width, self.size = height, width, size
        self.geometry = model_geometry(height, width, size)

    def __call__(self, rgb):
        import torch
        import torch.nn.functional as F

        x = rgb.permute(0, 3, 1, 2).float()
        small = F.interpolate(x, size=(SMALL_H, SMALL_W), mode="area")
        new_h, new_w, top, left = self.geometry
        if (new_h, new_w) != (self.height, self.width):
            x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=False)
        x = x[..., top:top + self.size, left:left + self.size]

        def to_u8(t):
            return t.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()

        return to_u8(small), to_u8(x)


def _open(nvc, path: str, gpu: int, threaded: bool, batch: int):
    # NV12 out, converted here: PyNvVideoCodec's own RGB takes BT.709 for untagged streams (decord: BT.601)
    kind = nvc.OutputColorType.NATIVE
    if threaded:  # decodes ahead in a thread of its own while this one converts
        return nvc.ThreadedDecoder(path, 2 * batch, gpu_id=gpu, use_device_memory=True, output_color_type=kind)
    return nvc.SimpleDecoder(path, gpu_id=gpu, use_device_memory=True, output_color_type=kind)


def decode_once(path: str | os.PathLike[str], expected_frames: int | None = None, gpu: int = 0,
                progress: Progress | None = None, batch: int = BATCH, threaded: bool = False,
                colour: Colour | None = None) -> DecodedVideo:
    """Decode every frame of ``path`` once with NVDEC; see the module docstring. ``colour``: how to convert
    to RGB (default: what the stream's tags say, read with ffprobe). The conversions run on a CUDA stream of
    their own, so decodes in several threads (and the model) do not wait for each other."""
    reason = unavailable_reason(gpu)
    if reason:
        raise NvdecError(reason)
    import PyNvVideoCodec as nvc
    import torch

    colour = colour or yuv.colour_of(path) or BT601
    try:
        decoder = _open(nvc, os.fspath(path), gpu, threaded, batch)
        meta = decoder.get_stream_metadata()
        count = len(decoder)
    except Exception as exc:  # unsupported codec or container, corrupt file
        raise NvdecError(f"NVDEC cannot open the file ({str(exc).splitlines()[0][:160] if str(exc) else exc})") \
            from None
    device = torch.device("cuda", gpu)
    try:
        with torch.cuda.device(device), torch.inference_mode(), torch.cuda.stream(torch.cuda.Stream(device)):
            return read_all(decoder, count, int(meta.width), int(meta.height), device, colour, expected_frames,
                            progress, batch)
    finally:
        if threaded:
            decoder.end()


def read_all(decoder, count: int, width: int, height: int, device, colour: Colour = BT601,
             expected_frames: int | None = None, progress: Progress | None = None,
             batch: int = BATCH) -> DecodedVideo:
    """Every frame ``decoder.get_batch_frames`` gives (NV12 frames with ``__dlpack__`` and ``getPTS``),
    converted on ``device``, in presentation order."""
    import torch

    if height % 2 or width % 2:
        raise NvdecError(f"odd picture size {width}x{height}: the CPU decode is used")
    total = expected_frames or count
    capacity = max(total, count) + 2
    small = np.empty((capacity, SMALL_H, SMALL_W, 3), np.uint8)
    model = torch.empty((capacity, MODEL_SIZE, MODEL_SIZE, 3), dtype=torch.uint8)
    convert = Nv12Converter(height, width, device, colour=colour)
    done = 0
    pts: list[int | None] = []
    while done < count:
        frames = decoder.get_batch_frames(min(batch, count - done))
        if not frames:
            break
        nv12 = torch.stack([torch.from_dlpack(f) for f in frames])
        if nv12.ndim != 3 or nv12.shape[1] < height * 3 // 2 or nv12.shape[2] < width:
            raise NvdecError(f"unexpected NVDEC frame layout {tuple(nv12.shape)} for {width}x{height}")
        s, m = convert(nv12)
        n = len(frames)
        if done + n > capacity:
            raise NvdecError(f"NVDEC decoded more frames than the {total} expected")
        small[done:done + n] = s.cpu().numpy()
        model[done:done + n].copy_(m)
        pts += [_pts(f) for f in frames]
        done += n
        del frames, nv12
        if progress:
            progress(min(done, total), total)
    if expected_frames is not None and abs(done - expected_frames) > 1:
        raise NvdecError(f"NVDEC decoded {done} frames but {expected_frames} were expected")
    if done == 0:
        raise NvdecError("NVDEC decoded no frames")
    order = presentation_order(pts)
    if order is None:
        return DecodedVideo(small=small[:done], model=model[:done].numpy(), width=width, height=height, colour=colour)
    return DecodedVideo(small=small[order], model=model.numpy()[order], width=width, height=height, colour=colour)


def _pts(frame) -> int | None:
    try:
        return int(frame.getPTS())
    except Exception:  # noqa: BLE001 - a build without timestamps: the frames keep their arrival order
        return None


def presentation_order(pts: Sequence[int | None]) -> np.ndarray | None:
    """Frame ``i`` is the ``i``-th in presentation order, as decord and ffprobe count: the permutation that
    sorts the decoded frames by timestamp, or None when they already are in order, or when the timestamps
    cannot order them (one missing, or two alike: NVDEC's own display order is kept)."""
    if not len(pts) or any(p is None for p in pts) or len(set(pts)) != len(pts):
        return None
    order = np.argsort(np.asarray(pts, dtype=np.int64), kind="stable")
    return None if np.array_equal(order, np.arange(len(pts))) else order


class NvdecReader:
    """Window frames of one decoded file (the ``FrameReader`` of ``NvdecSource``)."""

    def __init__(self, source: "NvdecSource", path: str, video: DecodedVideo) -> None:
        self._source, self._path, self._video = source, path, video

    def read(self, indices: Sequence[int]) -> np.ndarray:
        return self._video.frames(indices)

    def close(self) -> None:
        self._source.release(self._path)


class NvdecSource:
    """``FrameSource`` whose files are decoded once by ``decode_file`` (the ingest stages call it before
    shot detection, which takes the small frames); ``open`` then serves that decode. A file not decoded
    here (NVDEC unusable, or it refused the file) is read with decord as before."""

    name = "nvdec"

    def __init__(self, gpu: int = 0, threaded: bool = False) -> None:
        self.gpu, self.threaded = gpu, threaded
        self._decoded: dict[str, DecodedVideo] = {}
        self._lock = threading.Lock()
        self.fallbacks: list[tuple[str, str]] = []  # (path, reason) of files read with decord instead

    def decode_file(self, path: str | os.PathLike[str], expected_frames: int,
                    progress: Progress | None = None) -> DecodedVideo | None:
        """Every frame of ``path`` (exactly ``expected_frames`` of them), or None when the CPU decode must
        be used instead (the reason is kept in ``fallbacks``)."""
        key = os.fspath(path)
        try:
            video = self._decode(key, expected_frames, progress)
            if len(video) != expected_frames:
                raise NvdecError(f"NVDEC decoded {len(video)} frames, the frame index has {expected_frames}")
        except NvdecError as exc:
            with self._lock:
                self.fallbacks.append((key, str(exc)))
            return None
        with self._lock:
            self._decoded[key] = video
        return video

    def _decode(self, path: str, expected_frames: int, progress: Progress | None) -> DecodedVideo:
        return decode_once(path, expected_frames, self.gpu, progress, threaded=self.threaded)

    def open(self, path: str | os.PathLike[str]):
        with self._lock:
            video = self._decoded.get(os.fspath(path))
        if video is None:
            from cogvlm_media.media.frame_source import DecordReader

            return DecordReader(path)
        return NvdecReader(self, os.fspath(path), video)

    def release(self, path: str | os.PathLike[str]) -> None:
        """Forget a file's frames (its reader closed, or its analysis failed)."""
        with self._lock:
            self._decoded.pop(os.fspath(path), None)


def default_source_name() -> str:
    """``[model] frame_source = "auto"``: NVDEC where it can run, else decord."""
    return "nvdec" if unavailable_reason() is None else "decord"
