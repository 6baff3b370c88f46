"""The speaker encoder: Resemblyzer's voice encoder (GE2E, 3-layer LSTM, 256-d embeddings).

The weights (``pretrained.pt``, 17 MB, Apache-2.0) ship inside the ``resemblyzer`` wheel of the
``[see]`` extra. Only that file is read: the network (an LSTM and a linear layer) and its 40-band mel
front end are rebuilt here with torch and numpy, so librosa/numba/webrtcvad (which resemblyzer's own
code imports, and whose first call JIT-compiles for about a minute) are never imported at run time.
The mel filter bank is librosa's (Slaney scale and norm), computed in numpy.

Embeddings are non-negative and L2-normed: cosine distance between two is ``1 - a @ b``.
"""

from __future__ import annotations

import importlib.util
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

RATE = 16000
N_FFT, HOP, N_MELS = 400, 160, 40  # 25 ms windows every 10 ms, as the encoder was trained
PARTIAL_FRAMES = 160  # 1.6 s: the encoder's training utterance length
TARGET_DBFS = -30.0  # volume the encoder's training audio was normalised to (raised only)
PACKAGE = "resemblyzer"


class SpeakerModelMissing(RuntimeError):
    """The optional speaker encoder is not installed."""


MISSING = ("speaker diarization needs the voice encoder of the [see] extra: "
           "pip install 'cogvlm-media[see]' (package resemblyzer)")


def weights_path() -> Path:
    """``pretrained.pt`` inside the installed resemblyzer package (found without importing it)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.origin:
        raise SpeakerModelMissing(MISSING)
    path = Path(spec.origin).parent / "pretrained.pt"
    if not path.is_file():
        raise SpeakerModelMissing(f"{MISSING}; its weights file is missing: {path}")
    return path


def model_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"resemblyzer-{version(PACKAGE)}"
    except PackageNotFoundError:
        return "resemblyzer"


def available() -> bool:
    try:
        weights_path()
    except SpeakerModelMissing:
        return False
    return True


@lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """librosa.filters.mel(sr=16000, n_fft=400, n_mels=40): Slaney mel scale, Slaney area norm."""
    f_sp, min_log_hz, min_log_mel, logstep = 200.0 / 3, 1000.0, 15.0, np.log(6.4) / 27.0

    def hz_to_mel(hz):
        hz = np.asarray(hz, dtype=np.float64)
        return np.where(hz >= min_log_hz, min_log_mel + np.log(np.maximum(hz, 1e-10) / min_log_hz) / logstep,
                        hz / f_sp)

    def mel_to_hz(mel):
        return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)

    fft_freqs = np.linspace(0, RATE / 2, 1 + N_FFT // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(RATE / 2), N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:N_MELS + 2] - mel_f[:N_MELS]))[:, None]
    return weights.astype(np.float32)


def normalise_volume(wav: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) if len(wav) else 0.0
    if rms <= 0:
        return wav
    gain_db = TARGET_DBFS - 20 * np.log10(rms)
    return wav * np.float32(10 ** (gain_db / 20)) if gain_db > 0 else wav


def mel_frames(wav: np.ndarray) -> np.ndarray:
    """(frames, 40) power mel spectrogram, frames centred every 10 ms (librosa's center=True, zero pad)."""
    padded = np.pad(np.asarray(wav, dtype=np.float32), N_FFT // 2)
    count = 1 + (len(padded) - N_FFT) // HOP
    if count <= 0:
        return np.zeros((0, N_MELS), dtype=np.float32)
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(count)[:, None]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)  # periodic Hann
    power = np.abs(np.fft.rfft(padded[idx] * window, axis=1)) ** 2
    return (power.astype(np.float32) @ mel_filters().T).astype(np.float32)


class VoiceEncoder:
    """Embeds short stretches of 16 kHz speech. Loaded once per process (:func:`get_encoder`)."""

    def __init__(self, path: Path, threads: int = 0) -> None:
        import torch
        from torch import nn

        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        self.lstm = nn.LSTM(N_MELS, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)
        state = checkpoint["model_state"]
        self.lstm.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("lstm.")})
        self.linear.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("linear.")})
        self.lstm.eval()
        self.linear.eval()
        self.threads = threads

    def embed(self, clips: list[np.ndarray], batch: int = 64) -> np.ndarray:
        """One L2-normed 256-d embedding per clip of audio (each ~0.5–2 s; a longer one is cut to 2 s)."""
        import torch
        from torch.nn.utils.rnn import pack_sequence

        if not clips:
            return np.zeros((0, 256), dtype=np.float32)
        mels = [mel_frames(normalise_volume(c))[:200] for c in clips]
        out = np.zeros((len(mels), 256), dtype=np.float32)
        with torch.inference_mode():
            for lo in range(0, len(mels), batch):
                chunk = [torch.from_numpy(m if len(m) else np.zeros((1, N_MELS), np.float32))
                         for m in mels[lo:lo + batch]]
                _, (hidden, _) = self.lstm(pack_sequence(chunk, enforce_sorted=False))
                raw = torch.relu(self.linear(hidden[-1]))
                out[lo:lo + len(chunk)] = (raw / raw.norm(dim=1, keepdim=True).clamp_min(1e-8)).numpy()
        return out


_encoder: VoiceEncoder | None = None
_lock = threading.Lock()


def get_encoder() -> VoiceEncoder:
    """The process's voice encoder; SpeakerModelMissing (one line) without the [see] extra."""
    global _encoder
    with _lock:
        if _encoder is None:
            _encoder = VoiceEncoder(weights_path())
        return _encoder
