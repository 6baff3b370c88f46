"""The ingest stage record and the built-in stages (shots, speech, text), registered through ``register_stages``.

A stage reads one file and returns a result; :func:`cogvlm_media.ingest.stages.analyse_file` runs
every enabled stage and hands the results to the analyser on ``AnalysisInput.stage_results`` (by stage
name). ``shots`` runs on the calling thread, since the windows are planned from it; the other stages run
meanwhile on one background thread, one after another, in registration order (built-ins first), except
``text`` and ``faces`` when they read the decode they share with ``shots`` (``StageInput.shared_decode``):
each of those runs on a thread of its own, beside the shot decode.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cogvlm_media import records
from cogvlm_media.config import Settings
from cogvlm_media.hookspecs import hookimpl
from cogvlm_media.media.probe import MediaInfo

StageProgress = Callable[[float, float], None]  # (done, total)


@dataclass(frozen=True)
class StageInput:
    path: str
    media: MediaInfo
    settings: Settings
    frame_times: np.ndarray  # start time of every frame of the file, seconds from the first frame
    small_frames: np.ndarray | None = None  # every frame at 48x27 when the file was decoded once (NVDEC)
    # waits for and returns the shots stage's result (None: not available); only for stages other than shots
    shots: Callable[[], list[records.Shot]] | None = None
    # the one decode shared by the shots, text and faces stages (media/shared_decode.py), when the pipeline made one
    shared_decode: Any = None


def _always(settings: Settings) -> bool:
    return True


@dataclass(frozen=True)
class Stage:
    name: str  # also the name its progress is reported under
    run: Callable[[StageInput, StageProgress], Any]
    enabled: Callable[[Settings], bool] = _always  # from the configuration, before any file is read


def detect_shots_stage(item: StageInput, progress: StageProgress) -> list[records.Shot]:
    from cogvlm_media.analysis.shots import detect_shots

    # the decode shared with the text and faces stages, when the pipeline made one, decodes the shots' frames
    decode = item.shared_decode.small if item.shared_decode is not None and item.small_frames is None else None
    return detect_shots(item.path, item.media, item.settings, frames=item.small_frames, progress=progress,
                        times=item.frame_times, decode=decode)


def transcribe_stage(item: StageInput, progress: StageProgress) -> records.Transcript | None:
    if not item.media.has_audio:
        progress(1, 1)
        return None
    from cogvlm_media.analysis.speech import transcribe

    return transcribe(item.path, item.media, item.settings, progress=progress)


def speakers_stage(item: StageInput, progress: StageProgress) -> records.Diarization | None:
    from cogvlm_media.analysis.speakers import speakers_stage as run

    return run(item, progress)


def _speakers_enabled(settings: Settings) -> bool:
    return settings.analysis.speakers


def read_text_stage(item: StageInput, progress: StageProgress) -> records.TextResult:
    from cogvlm_media.analysis.text import read_text

    stream = item.shared_decode.stream("text") if item.shared_decode is not None else None
    try:
        return read_text(item.path, item.media.width, item.media.height, item.media.duration, item.settings, progress,
                         frames=stream)
    finally:
        if stream is not None:
            stream.close()  # frames it did not take are dropped, so the shot decode goes on


def _text_enabled(settings: Settings) -> bool:
    from cogvlm_media.analysis.text import enabled

    return enabled(settings)


@hookimpl
def register_stages() -> list[Stage]:
    return [Stage("shots", detect_shots_stage), Stage("speech", transcribe_stage),
            Stage("speakers", speakers_stage, _speakers_enabled),
            Stage("text", read_text_stage, enabled=_text_enabled)]


def stages(settings: Settings) -> list[Stage]:
    """The enabled stages, in registration order (built-ins first). Two stages of one name are an error."""
    from cogvlm_media.plugin_manager import get_plugin_manager

    found: dict[str, Stage] = {}
    for batch in reversed(get_plugin_manager().hook.register_stages()):
        for stage in batch:
            if stage.name in found:
                raise ValueError(f"two ingest stages are named {stage.name!r}")
            found[stage.name] = stage
    return [s for s in found.values() if s.enabled(settings)]
