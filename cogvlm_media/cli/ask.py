"""`cogvlm-media ask FILE "question"`: temporal grounding over the whole file with the vision model.

The file is cut into windows of at most 24 s (each seen by the model as its own clip); the question runs
over all windows in batches; every time the model names is printed as the file's timecode (its own start
timecode applied) and as seconds, next to the model's words.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from cogvlm_media.cli.context import console, fail, state


def _rewrite(answer: str, window, clock) -> tuple[str, list[dict]]:
    """The answer with each time reference replaced by its absolute timecode, and the references."""
    from cogvlm_media.analysis.timerefs import find_times
    from cogvlm_media.media.timecode import seconds_label

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


def register(app: typer.Typer) -> None:
    @app.command("ask")
    def ask(
        ctx: typer.Context,
        file: Path = typer.Argument(..., help="Video file."),
        question: str = typer.Argument(..., help="What to ask about the footage, e.g. 'when does the door open?'"),
        batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="Windows per batch (default: [model] batch_size; 0 there: from free GPU memory)."),
        max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens", min=1, help="Answer length limit."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    ) -> None:
        """Ask the vision model a question about every window of FILE; answers carry absolute timecodes."""
        from cogvlm_media.analysis.window_questions import ask_windows
        from cogvlm_media.analysis.windows import plan_windows
        from cogvlm_media.media.frame_source import get_frame_source
        from cogvlm_media.media.frames import FrameReadError, decoded_frame_times
        from cogvlm_media.media.probe import ProbeError, probe
        from cogvlm_media.media.timecode import Clock, seconds_label
        from rich.markup import escape

        settings = state(ctx).settings
        if not settings.model.path:
            raise fail("no vision model configured: set [model] path = \"/path/to/cogvlm2-video-llama3-chat\" "
                       "(a local checkpoint folder or a hub id) in the config")
        try:
            info = probe(file)
            times = decoded_frame_times(file, info.frame_count)
        except (ProbeError, FrameReadError) as exc:
            raise fail(f"{file}: {exc}") from None
        windows = [w for w in plan_windows([], times, info.duration, settings.analysis.window_seconds)
                   if w.frame_indices]

        from cogvlm_media.model.engine import VideoChat
        from cogvlm_media.model.loading import ModelLoadError

        try:
            chat = VideoChat.from_settings(settings.model)
        except ModelLoadError as exc:
            raise fail(str(exc)) from None  # fail() escapes rich markup itself
        if batch_size:
            chat.batch_size = batch_size
        clock = Clock.for_media(info.fps_num, info.fps_den, info.start_timecode)

        try:
            reader = get_frame_source(settings.model.frame_source).open(file)
            try:
                answers = [a[0] for a in ask_windows(chat, reader, windows, [question], max_new_tokens)]
            finally:
                reader.close()
        except FrameReadError as exc:
            raise fail(f"{file}: {exc}") from None

        results = []
        for w, answer in zip(windows, answers):
            text, refs = _rewrite(answer, w, clock)
            results.append({"window": w.index, "start": w.start, "end": w.end, "start_timecode": clock.timecode(w.start),
                            "end_timecode": clock.timecode(w.end), "answer": answer, "grounded": text, "times": refs})
        if as_json:
            typer.echo(json.dumps({"file": str(file), "question": question, "model": chat.name, "windows": results},
                                  indent=2))
            return
        console.print(f"[bold]{escape(str(file))}[/] · {len(windows)} window(s) · {escape(chat.name)}")
        for r in results:
            console.print(f"[bold]{r['start_timecode']}–{r['end_timecode']}[/] "
                          f"({seconds_label(r['start'])}–{seconds_label(r['end'])})  {escape(r['grounded'])}", soft_wrap=True)
            for ref in r["times"]:
                console.print(f"    {ref['timecode']}  {ref['seconds']}  ← “{escape(ref['text'])}”", soft_wrap=True)
