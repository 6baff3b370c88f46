"""The windows → frames → answers loop, shared by the vision analyser, grounding and `cogvlm-media ask`.

Per window its frames are read once (from a ``FrameReader``) and every question is asked over them
(``Questions``: one vision pass, one shared prompt prefix). The answerer is a ``VideoChat`` (batches of
this caller's windows), a ``WindowBatcher`` ticket (windows of many files batched together), or any
object with ``answer(requests)`` only, which gets one ``Request`` per question.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from cogvlm_media.records import Window
from cogvlm_media.model.engine import Questions, Request


def window_items(reader, windows: Iterable[Window], queries: Sequence[str], max_new_tokens: int | None = None,
                 prepare: Callable | None = None) -> Iterator[Questions]:
    """One ``Questions`` per window, its frames decoded only when the item is taken (and passed through
    ``prepare``, e.g. ``model.inputs.preprocess_on_host``, in the caller's thread)."""
    for w in windows:
        frames = reader.read(list(w.frame_indices))
        yield Questions(tuple(queries), prepare(frames) if prepare else frames, max_new_tokens)


def answer_items(answerer, items: Iterable[Questions], max_new_tokens: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> list[list[str]]:
    """Answers per item and question, through whichever interface the answerer has."""
    if hasattr(answerer, "answer_stream"):
        return answerer.answer_stream(items, max_new_tokens, progress)
    out: list[list[str]] = []
    for it in items:
        out.append(list(answerer.answer([Request(q, it.frames) for q in it.queries], max_new_tokens)))
    return out


def ask_windows(answerer, reader, windows: Sequence[Window], queries: Sequence[str],
                max_new_tokens: int | None = None, progress: Callable[[int, int], None] | None = None,
                prepare: Callable | None = None) -> list[list[str]]:
    """``answers[w][q]``: every query over every window's frames."""
    return answer_items(answerer, window_items(reader, windows, queries, max_new_tokens, prepare), max_new_tokens,
                        progress)
