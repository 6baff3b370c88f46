"""`cogvlm-media ingest PATH...`: analyse files (or folders of them) into the database."""

from __future__ import annotations

from pathlib import Path

import typer

from cogvlm_media.cli.context import console, fail, print_error, require_ffmpeg, state
from cogvlm_media.cli.ingest_display import IngestProgress, summary_table
from cogvlm_media.ingest import IngestOptions, expand_inputs, ingest_paths
from cogvlm_media.store.fspath import shown


def register(app: typer.Typer) -> None:
    @app.command()
    def ingest(
        ctx: typer.Context,
        paths: list[Path] = typer.Argument(..., help="Video files or folders (searched recursively)."),
        reingest: bool = typer.Option(False, "--reingest", help="Analyse again even if already ingested."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    ) -> None:
        """Analyse video files into shots, transcript, scenes and markers."""
        require_ffmpeg()
        st = state(ctx)
        settings = st.settings
        files, problems = expand_inputs(paths, settings.watch.extensions)
        for raw, reason in problems:
            print_error(f"{raw}: {reason}")
        if not files:
            raise fail("nothing to ingest")
        from cogvlm_media.model.loading import ModelLoadError

        try:
            with IngestProgress(show=not quiet) as progress:
                outcomes = ingest_paths(st.engine, settings, files, IngestOptions(reingest=reingest),
                                        progress.callbacks)
        except ModelLoadError as exc:  # the GPU path loads the model once, up front
            raise fail(str(exc)) from None
        for o in outcomes:
            if o.status != "done":
                print_error(f"{shown(o.path)}: {o.error}")
        console.print(summary_table(outcomes))
        if not any(o.status == "done" for o in outcomes):
            raise typer.Exit(1)
