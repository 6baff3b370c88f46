"""The vision analyser: CogVLM2-Video (native, ``cogvlm_media.model``) over the planned windows.

Per window, two questions run batched across windows: a caption prompt (dense description) and a
key-moment prompt (events with the second they happen). The model's time references are ordinals
of the frames it was shown; ``Window.ordinal_time`` maps them to absolute times. Scene boundaries and
speech moments come from the embedded analyser; each scene's summary is a text-only pass of the same
model over the captions of the windows it overlaps. Enabled by configuration alone (``[model] path``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from cogvlm_media.analysis.analyser import AnalysisInput, Progress
from cogvlm_media.records import Analysis, KeyMoment, Scene, Window, WindowCaption
from cogvlm_media.analysis.timerefs import parse_moments
from cogvlm_media.analysis.window_questions import answer_items, ask_windows
from cogvlm_media.config import Settings
from cogvlm_media.model.prompts import CAPTION_PROMPT, MOMENT_PROMPT, summary_prompt


def _name(text: str) -> str:
    """A key moment's name: the model's whole description on one line, without its closing punctuation
    (names are stored whole; only the review page shortens them, on display)."""
    return " ".join(text.split()).rstrip(",;:.")


def window_moments(window: Window, text: str) -> list[KeyMoment]:
    """Key moments from the model's answer for one window, at absolute times inside the window."""
    found: list[KeyMoment] = []
    for m in parse_moments(text):
        start = window.ordinal_time(m.start)
        end = window.ordinal_time(m.end) if m.end is not None else start
        found.append(KeyMoment(time=start, name=_name(m.description), note=m.sentence, kind="moment",
                               duration=max(0.0, end - start)))
    return found


def scene_captions(scene: Scene, windows: Sequence[Window], captions: dict[int, str]) -> list[str]:
    """Captions of the windows overlapping the scene, in time order."""
    return [captions[w.index] for w in windows
            if w.index in captions and captions[w.index] and w.start < scene.end and w.end > scene.start]


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]


class VisionAnalyser:
    """``chat``: the loaded model (default: loaded from ``[model]``); ``answerer``: where the questions go
    (default: the chat itself; the cross-file batcher passes a file's ticket); ``frame_source``: the
    window frames' decoder (default: ``[model] frame_source``); ``prepare``: applied to each window's
    frames before they are queued (the batched path preprocesses host frames there)."""

    name = "vision"
    version = "1"

    def __init__(self, settings: Settings, chat=None, answerer=None, frame_source=None, prepare=None) -> None:
        self.settings = settings
        self._chat = chat
        self.answerer = answerer
        self.frame_source = frame_source
        self.prepare = prepare  # applied to each window's frames in this file's thread

    @property
    def chat(self):
        if self._chat is None:
            from cogvlm_media.model.engine import VideoChat

            self._chat = VideoChat.from_settings(self.settings.model)
        return self._chat

    def _base(self, item: AnalysisInput) -> Analysis:
        from cogvlm_media.analysis.embedded import EmbeddedAnalyser

        return EmbeddedAnalyser(self.settings).analyse(item)

    def _source(self):
        if self.frame_source is None:
            from cogvlm_media.media.frame_source import get_frame_source

            self.frame_source = get_frame_source(self.settings.model.frame_source)
        return self.frame_source

    def analyse(self, item: AnalysisInput, progress: Progress | None = None) -> Analysis:
        from cogvlm_media.model.engine import Questions

        chat = self.chat
        answerer = self.answerer or chat
        base = self._base(item)
        windows = [w for w in item.windows if w.frame_indices]
        total = len(windows) + len(base.scenes)

        def windows_done(done: int, _total: int) -> None:
            if progress:
                progress(min(done, len(windows)), total)

        reader = self._source().open(item.path)
        try:
            answers = ask_windows(answerer, reader, windows, (CAPTION_PROMPT, MOMENT_PROMPT), progress=windows_done,
                                  prepare=self.prepare)
        finally:
            reader.close()
        captions = {w.index: a[0] for w, a in zip(windows, answers)}
        moments = [m for w, a in zip(windows, answers) for m in window_moments(w, a[1])]
        if progress:
            progress(len(windows), total)

        scenes = list(base.scenes)
        todo = [(i, scene_captions(s, windows, captions)) for i, s in enumerate(scenes)]
        todo = [(i, parts) for i, parts in todo if parts]
        if todo:
            summaries = answer_items(answerer, [Questions((summary_prompt(parts),)) for _, parts in todo])
            for (i, _), (summary,) in zip(todo, summaries):
                if summary:
                    s = scenes[i]
                    scenes[i] = Scene(index=s.index, start=s.start, end=s.end, title=_name(_first_sentence(summary)),
                                      summary=summary, shot_indices=s.shot_indices)
        getattr(answerer, "finish", lambda: None)()  # a batcher ticket: this file asks nothing more
        if progress:
            progress(total, total)

        speech = [m for m in base.moments if m.kind == "speech"]
        return Analysis(
            analyser=self.name, analyser_version=self.version, model_version=chat.name,
            captions=[WindowCaption(window_index=i, text=t, source=self.name) for i, t in sorted(captions.items())],
            scenes=scenes,
            moments=sorted(speech + moments, key=lambda m: (m.time, m.kind)),
        )


_CHATS: dict = {}


def _cached_chat(settings: Settings):
    """One loaded model per model configuration per process (grounding calls come one hit at a time)."""
    from cogvlm_media.model.engine import VideoChat

    chat = _CHATS.get(settings.model)
    if chat is None:
        chat = _CHATS[settings.model] = VideoChat.from_settings(settings.model)
    return chat


def ground(settings: Settings, path: str, start: float, end: float, prompt: str, chat=None) -> float | None:
    """Ask the model when something happens inside [start, end) of ``path`` (cut to at most the window
    length); return the absolute time of the first time reference in its answer, or None."""
    from cogvlm_media.analysis.timerefs import find_times
    from cogvlm_media.analysis.windows import plan_windows
    from cogvlm_media.media.frame_source import get_frame_source
    from cogvlm_media.media.frames import decoded_frame_times

    times = decoded_frame_times(path)
    end = min(end, start + settings.analysis.window_seconds)
    inside = [i for i, t in enumerate(times) if start <= t < end]
    if not inside:
        return None
    first, last = inside[0], inside[-1]
    # the slice keeps the file's own times, so the window's frame times are already absolute
    window = plan_windows([], times[first:last + 1], float(times[last]) + 1e-6, 1e9)[0]
    window = replace(window, frame_indices=tuple(first + i for i in window.frame_indices))
    reader = get_frame_source(settings.model.frame_source).open(path)
    try:
        answer = ask_windows(chat or _cached_chat(settings), reader, [window], [prompt])[0][0]
    finally:
        reader.close()
    refs = find_times(answer)
    if not refs:
        return None
    return window.ordinal_time(refs[0].start)
