"""One question over a whole file with the vision model: what `cogvlm-media ask` runs (and what a worker
or an API route would call).

The file is cut into windows of at most ``[analysis] window_seconds`` (each seen by the model as its own
clip); the question runs over every window through the shared windows → frames → answers loop
(:func:`~cogvlm_media.analysis.window_questions.ask_windows`); each time the model names is grounded: the
ordinal it counted in becomes the file's time, as timecode (the file's own start timecode applied) and
seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cogvlm_media.config import Settings
from cogvlm_media.media.timecode import Clock, seconds_label
from cogvlm_media.records import Window


class NoVisionModel(ValueError):
    """``[model] path`` is not set; the message says how to set it (one line)."""


@dataclass(frozen=True)
class WindowAnswer:
    window: Window
    start_timecode: str
    end_timecode: str
    answer: str  # the model's words
    grounded: str  # the same words, each time reference replaced by its [timecode]
    times: tuple[dict[str, Any], ...]  # text, time, end, timecode, seconds of each reference

    def as_dict(self) -> dict[str, Any]:
        w = self.window
        return {"window": w.index, "start": w.start, "end": w.end, "start_timecode": self.start_timecode,
                "end_timecode": self.end_timecode, "answer": self.answer, "grounded": self.grounded,
                "times": list(self.times)}


@dataclass(frozen=True)
class FileAnswers:
    file: str
    question: str
    model: str
    windows: tuple[WindowAnswer, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "question": self.question, "model": self.model,
                "windows": [w.as_dict() for w in self.windows]}


def ground_answer(answer: str, window: Window, clock: Clock) -> tuple[str, list[dict[str, Any]]]:
    """The answer with each time reference replaced by its absolute timecode, and the references."""
    from cogvlm_media.analysis.timerefs import find_times

    refs, out, last = [], [], 0
    for ref in find_times(answer):
        start = window.ordinal_time(ref.start)
        end = window.ordinal_time(ref.end) if ref.end is not None else None
        label = clock.timecode(start) + (f"–{clock.timecode(end)}" if end is not None else "")
        out += [answer[last:ref.span[0]], f"[{label}]"]
        last = ref.span[1]
        refs.append({"text": ref.text, "time": start, "end": end, "timecode": clock.timecode(start),
                     "seconds": seconds_label(start)})
    out.append(answer[last:])
    return "".join(out), refs


def ask_file(settings: Settings, path: str, question: str, batch_size: int | None = None,
             max_new_tokens: int | None = None, chat=None) -> FileAnswers:
    """Ask ``question`` of every window of ``path``. Raises :class:`NoVisionModel` (no ``[model] path``,
    checked first), ``ProbeError``/``FrameReadError`` (the file) and ``ModelLoadError`` (the weights), each
    with a one-line message. ``chat``: an already loaded ``VideoChat`` (else one from ``[model]``)."""
    from cogvlm_media.analysis.window_questions import ask_windows
    from cogvlm_media.analysis.windows import plan_windows
    from cogvlm_media.media.frame_source import get_frame_source
    from cogvlm_media.media.frames import decoded_frame_times
    from cogvlm_media.media.probe import probe

    if chat is None and not settings.model.path:
        raise NoVisionModel("no vision model configured: set [model] path = \"/path/to/cogvlm2-video-llama3-chat\" "
                            "(a local checkpoint folder or a hub id) in the config")
    info = probe(path)
    times = decoded_frame_times(path, info.frame_count)
    windows = [w for w in plan_windows([], times, info.duration, settings.analysis.window_seconds)
               if w.frame_indices]
    if chat is None:
        from cogvlm_media.model.engine import VideoChat

        chat = VideoChat.from_settings(settings.model)
    if batch_size:
        chat.batch_size = batch_size
    clock = Clock.for_media(info.fps_num, info.fps_den, info.start_timecode)
    reader = get_frame_source(settings.model.frame_source).open(path)
    try:
        answers = [a[0] for a in ask_windows(chat, reader, windows, [question], max_new_tokens)]
    finally:
        reader.close()
    out = []
    for w, answer in zip(windows, answers):
        grounded, refs = ground_answer(answer, w, clock)
        out.append(WindowAnswer(w, clock.timecode(w.start), clock.timecode(w.end), answer, grounded, tuple(refs)))
    return FileAnswers(str(path), question, chat.name, tuple(out))
