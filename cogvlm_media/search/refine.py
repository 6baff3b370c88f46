"""``search --refine``: ask the vision model again, on the window around each top hit, when exactly
the query happens. The vision code is imported only here and only when a model is configured.

The vision stage is expected to offer ``cogvlm_media.analysis.vision_analyser.ground(settings, path, start,
end, prompt) -> float | None`` (seconds in the file, or None when it sees no such moment).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Protocol

from cogvlm_media.config import Settings

GROUNDING_PROMPT = ("Watch this clip. At what second does the following happen: \"{query}\"? "
                    "Answer with the time in seconds from the start of the clip, or \"none\".")
PAD_SECONDS = 6.0


class RefineUnavailable(RuntimeError):
    """No vision model is configured, or the vision stage cannot ground moments."""


class Refiner(Protocol):
    def refine(self, path: str, start: float, end: float, query: str) -> float | None: ...


class VisionRefiner:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        try:
            module = import_module("cogvlm_media.analysis.vision_analyser")
        except ImportError as exc:
            raise RefineUnavailable(f"the vision stage is not installed ({exc})") from None
        self._ground = getattr(module, "ground", None)
        if self._ground is None:
            raise RefineUnavailable("the vision stage offers no grounding call (analysis.vision_analyser.ground)")

    def refine(self, path: str, start: float, end: float, query: str) -> float | None:
        return self._ground(self.settings, path, start, end, GROUNDING_PROMPT.format(query=query))


def get_refiner(settings: Settings) -> Refiner:
    if not settings.model.path:
        raise RefineUnavailable("--refine needs the vision model: set [model] path in the settings file")
    return VisionRefiner(settings)


def refine_hits(refiner: Refiner, hits: list, query: str, top: int = 3) -> None:
    """Fill ``hit.refined`` for the first ``top`` hits that have a file."""
    for hit in hits[:top]:
        if not hit.file:
            continue
        start, end = max(0.0, hit.time - PAD_SECONDS), max(hit.end, hit.time + PAD_SECONDS)
        found = refiner.refine(hit.file, start, end, query)
        refined: dict[str, Any] = {"window": [round(start, 3), round(end, 3)], "time": None}
        if found is not None:
            refined["time"] = round(float(found), 3)
        hit.refined = refined
