"""`cogvlm-media ask FILE "question"`: temporal grounding over the whole file with the vision model
(:func:`cogvlm_media.analysis.ask_file.ask_file`); every time the model names is printed as the file's
timecode and as seconds, next to the model's words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from cogvlm_media.cli.context import console, fail, state


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
        from cogvlm_media.analysis.ask_file import NoVisionModel, ask_file
        from cogvlm_media.media.frames import FrameReadError
        from cogvlm_media.media.probe import ProbeError
        from cogvlm_media.media.timecode import seconds_label
        from cogvlm_media.model.loading import ModelLoadError
        from rich.markup import escape

        try:
            found = ask_file(state(ctx).settings, file, question, batch_size, max_new_tokens)
        except NoVisionModel as exc:
            raise fail(str(exc)) from None
        except (ProbeError, FrameReadError) as exc:
            raise fail(f"{file}: {exc}") from None
        except ModelLoadError as exc:
            raise fail(str(exc)) from None  # fail() escapes rich markup itself
        if as_json:
            typer.echo(json.dumps(found.as_dict(), indent=2))
            return
        console.print(f"[bold]{escape(str(file))}[/] · {len(found.windows)} window(s) · {escape(found.model)}")
        for r in found.windows:
            w = r.window
            console.print(f"[bold]{r.start_timecode}–{r.end_timecode}[/] "
                          f"({seconds_label(w.start)}–{seconds_label(w.end)})  {escape(r.grounded)}", soft_wrap=True)
            for ref in r.times:
                console.print(f"    {ref['timecode']}  {ref['seconds']}  ← “{escape(ref['text'])}”", soft_wrap=True)
