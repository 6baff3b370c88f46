"""Run the analysis stages for one file, in memory (no database): probe → frames → shots ∥ (speech, then
any plugin stages) → windows → analyse. The caller stores the result in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from cogvlm_media import records
from cogvlm_media.analysis.analyser import AnalysisInput, get_analyser
from cogvlm_media.analysis.stage import StageInput, stages
from cogvlm_media.analysis.windows import plan_windows
from cogvlm_media.config import Settings
from cogvlm_media.media.frames import FrameReadError, decoded_frame_times
from cogvlm_media.media.probe import MediaInfo, ProbeError, probe
from cogvlm_media.media.shared_decode import SharedDecode

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
    shots: list[records.Shot]
    transcript: records.Transcript | None
    windows: list[records.Window]
    analysis: records.Analysis
    stage_results: dict[str, Any] = field(default_factory=dict)  # every stage's result, by stage name


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


def _shared_decode(path: str, media: MediaInfo, settings: Settings, enabled: list) -> SharedDecode | None:
    """One decode for the built-in shots stage and the text and faces stages when they run: their sampled
    frames come from the shot detection's decode instead of passes of their own over the file; None when
    neither runs. (Stage names are unique, so "text" and "faces" are the built-ins.)"""
    names = {s.name for s in enabled}
    streams = {}
    if "text" in names:
        from cogvlm_media.analysis.text import sampling

        streams["text"] = sampling(settings, media.width, media.height)
    if "faces" in names:
        from cogvlm_media.analysis.face_stage import stream_spec

        streams["faces"] = stream_spec(media, settings)
    return SharedDecode(path, streams) if streams else None


def analyse_file(path: str, settings: Settings, media: MediaInfo | None = None,
                 on_stage: StageCallback | None = None, analyser=None) -> FileAnalysis:
    """``analyser``: the one to use instead of ``get_analyser(settings)`` (the batched path passes a
    vision analyser bound to its shared model and the file's batcher ticket).

    When the analyser's frame source decodes whole files (``decode_file``: NVDEC), the file is decoded
    once, before shot detection, which takes its small frames; the windows' frames come from the same
    decode. Otherwise shots decode their own small frames and the windows read theirs (the CPU path); the
    text and faces stages, when on, take their sampled frames from the shots' decode
    (``media/shared_decode.py``)."""
    media = media or probe_file(path)
    _report(on_stage, "probe")(1, 1)
    try:
        times = decoded_frame_times(path, expected_frames=media.frame_count)
    except FrameReadError as exc:
        raise IngestError(str(exc)) from None

    enabled = stages(settings)
    shot_stage = next((s for s in enabled if s.name == "shots"), None)
    if shot_stage is None:
        raise IngestError("no 'shots' stage is enabled (the windows are planned from the shots)")
    analyser = analyser or get_analyser(settings)
    frame_source = getattr(analyser, "frame_source", None)
    decode = getattr(frame_source, "decode_file", None)
    shot_result: Future = Future()  # a stage that needs the shots (faces) waits on it
    shared = _shared_decode(path, media, settings, enabled) if decode is None else None
    source = StageInput(path=path, media=media, settings=settings, frame_times=times, shots=shot_result.result,
                        shared_decode=shared)
    try:
        # shots on this thread (after the one decode, where there is one); the other stages meanwhile on
        # one background thread, in registration order; text and faces, reading the shot decode, on their own
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stage") as pool, \
                ThreadPoolExecutor(max_workers=2, thread_name_prefix="sampled") as beside:
            others = {s.name: (beside if shared is not None and shared.stream(s.name) is not None else pool).submit(
                s.run, source, _report(on_stage, s.name)) for s in enabled if s is not shot_stage}
            shot_source = source
            if decode is not None:
                video = decode(path, len(times), progress=_report(on_stage, "decode"))
                if video is not None:
                    shot_source = replace(source, small_frames=video.small)
            try:
                results: dict[str, Any] = {"shots": shot_stage.run(shot_source, _report(on_stage, "shots"))}
            except BaseException as exc:
                shot_result.set_exception(exc)
                if shared is not None:
                    shared.abort()  # the text stage sees the end of its frames
                raise
            if shared is not None:
                shared.finish()
            shot_result.set_result(results["shots"])
            results.update((name, future.result()) for name, future in others.items())
        shots, transcript = results["shots"], results.get("speech")
        if results.get("speakers") is not None:  # speaker turns only where something was said
            from cogvlm_media.analysis.speakers import keep_spoken, label_transcript

            results["speakers"] = keep_spoken(results["speakers"], transcript or records.Transcript("en"))
            if transcript is not None:
                transcript = results["speech"] = label_transcript(transcript, results["speakers"])

        windows = plan_windows(shots, times, media.duration, settings.analysis.window_seconds)
        _report(on_stage, "windows")(1, 1)
        item = AnalysisInput(path=path, media=media, shots=shots, transcript=transcript, windows=windows,
                             frame_times=times, stage_results=results)
        analysis = analyser.analyse(item, progress=_report(on_stage, "analyse"))
    finally:
        if decode is not None:
            frame_source.release(path)  # the decoded frames of a file that failed, too
        if shared is not None:
            shared.abort()  # finished by now, unless something failed
    return FileAnalysis(media=media, frame_times=times, shots=shots, transcript=transcript, windows=windows,
                        analysis=analysis, stage_results=results)
