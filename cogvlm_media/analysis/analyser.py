"""The analyser interface: windows + transcript + shots in, captions, scenes and key moments out.

Analysers are looked up by name through the ``register_analysers`` hook (built-ins below, as
"module:Class" strings imported on use, so that the embedded default never imports the vision model).
``auto`` picks ``vision`` when a model path is configured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Protocol

import numpy as np

from cogvlm_media.records import Analysis, Shot, Transcript, Window
from cogvlm_media.config import Settings
from cogvlm_media.hookspecs import hookimpl
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
    stage_results: dict[str, Any] = field(default_factory=dict)  # every ingest stage's result, by stage name


class Analyser(Protocol):
    name: str
    version: str

    def analyse(self, item: AnalysisInput, progress: Progress | None = None) -> Analysis: ...


@hookimpl
def register_analysers() -> dict[str, str]:
    return {
        "embedded": "cogvlm_media.analysis.embedded:EmbeddedAnalyser",
        "vision": "cogvlm_media.analysis.vision_analyser:VisionAnalyser",
    }


class UnknownAnalyser(ValueError):
    pass


def analysers() -> dict[str, str | Callable[[Settings], Analyser]]:
    """Every registered analyser by name; a later plugin's name replaces an earlier one's."""
    from cogvlm_media.plugin_manager import get_plugin_manager

    found: dict[str, str | Callable[[Settings], Analyser]] = {}
    for names in reversed(get_plugin_manager().hook.register_analysers()):  # built-ins first
        found.update(names)
    return found


def analyser_name(settings: Settings) -> str:
    name = settings.analysis.analyser
    if name == "auto":
        return "vision" if settings.model.path else "embedded"
    return name


def get_analyser(settings: Settings) -> Analyser:
    name = analyser_name(settings)
    known = analysers()
    target = known.get(name)
    if target is None:
        raise UnknownAnalyser(f"unknown analyser {name!r} (known: {', '.join(sorted(known))})")
    if isinstance(target, str):
        module, cls = target.split(":")
        target = getattr(import_module(module), cls)
    return target(settings)
