"""Run the analysis stages for one file, in memory (no database): probe → frames → shots ∥ speech →
windows → analyse. The caller stores the result in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from cogvlm_media.analysis import results as r
from cogvlm_media.analysis.analyser import AnalysisInput, get_analyser
from cogvlm_media.analysis.windows import plan_windows
from cogvlm_media.config import Settings
from cogvlm_media.media.frames import FrameReadError, frame_times
from cogvlm_media.media.probe import MediaInfo, ProbeError, probe

StageCallback = Callable[[str, float, float], None]  # (stage, done, total)


class IngestError(Exception):
    """One file could not be ingested; the message is a one-line reason."""

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass
class FileAnalysis:
    media: MediaInfo
    frame_times: np.ndarray
    shots: list[r.Shot]
    transcript: r.Transcript | None
    windows: list[r.Window]
    analysis: r.Analysis


def _report(on_stage: StageCallback | None, stage: str):
    def progress(done: float, total: float) -> None:
        if on_stage:
            on_stage(stage, done, total)
    return progress


def probe_file(path: str) -> MediaInfo:
    try:
        return probe(path)
    except ProbeError as exc:
        raise IngestError(str(exc)) from None


def analyse_file(path: str, settings: Settings, media: MediaInfo | None = None,
                 on_stage: StageCallback | None = None, analyser=None) -> FileAnalysis:
    """``analyser``: the one to use instead of ``get_analyser(settings)`` (the batched path passes a
    vision analyser bound to its shared model and the file's batcher ticket).

    When the analyser's frame source decodes whole files (``decode_file``: NVDEC), the file is decoded
    once, before shot detection, which takes its small frames; the windows' frames come from the same
    decode. Otherwise shots decode their own small frames and the windows read theirs (the CPU path)."""
    from cogvlm_media.analysis.shots import detect_shots
    from cogvlm_media.analysis.speech import transcribe

    media = media or probe_file(path)
    _report(on_stage, "probe")(1, 1)
    try:
        times = frame_times(path, expected_frames=media.frame_count)
    except FrameReadError as exc:
        raise IngestError(str(exc)) from None
    analyser = analyser or get_analyser(settings)
    source = getattr(analyser, "frame_source", None)
    decode = getattr(source, "decode_file", None)
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="speech") as pool:
            speech = pool.submit(transcribe, path, media, settings, progress=_report(on_stage, "speech")) \
                if media.has_audio else None
            small = None
            if decode is not None:
                video = decode(path, len(times), progress=_report(on_stage, "decode"))
                small = video.small if video is not None else None
            shots = detect_shots(path, media, settings, frames=small, progress=_report(on_stage, "shots"),
                                 times=times)
            transcript = speech.result() if speech else None
        if not media.has_audio:
            _report(on_stage, "speech")(1, 1)

        windows = plan_windows(shots, times, media.duration, settings.analysis.window_seconds)
        _report(on_stage, "windows")(1, 1)
        item = AnalysisInput(path=path, media=media, shots=shots, transcript=transcript, windows=windows,
                             frame_times=times)
        analysis = analyser.analyse(item, progress=_report(on_stage, "analyse"))
    finally:
        if decode is not None:
            source.release(path)  # the decoded frames of a file that failed, too
    return FileAnalysis(media=media, frame_times=times, shots=shots, transcript=transcript, windows=windows,
                        analysis=analysis)
