"""The analyser interface: windows + transcript + shots in, captions, scenes and key moments out.

Analysers are looked up by name in ``ANALYSERS`` (module:class, imported lazily so that the embedded
default never imports the vision model). ``auto`` picks ``vision`` when a model path is configured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Protocol

import numpy as np

from cogvlm_media.analysis.results import Analysis, Shot, Transcript, Window
from cogvlm_media.config import Settings
from cogvlm_media.media.probe import MediaInfo

Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class AnalysisInput:
    path: str
    media: MediaInfo
    shots: list[Shot]
    transcript: Transcript | None
    windows: list[Window]
    frame_times: np.ndarray  # start time of every frame of the file, seconds from the first frame


class Analyser(Protocol):
    name: str
    version: str

    def analyse(self, item: AnalysisInput, progress: Progress | None = None) -> Analysis: ...


ANALYSERS: dict[str, str] = {
    "embedded": "cogvlm_media.analysis.embedded:EmbeddedAnalyser",
    "vision": "cogvlm_media.analysis.vision_analyser:VisionAnalyser",
}


class UnknownAnalyser(ValueError):
    pass


def analyser_name(settings: Settings) -> str:
    name = settings.analysis.analyser
    if name == "auto":
        return "vision" if settings.model.path else "embedded"
    return name


def get_analyser(settings: Settings) -> Analyser:
    name = analyser_name(settings)
    target = ANALYSERS.get(name)
    if target is None:
        raise UnknownAnalyser(f"unknown analyser {name!r} (known: {', '.join(sorted(ANALYSERS))})")
    module, cls = target.split(":")
    return getattr(import_module(module), cls)(settings)
