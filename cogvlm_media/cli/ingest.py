"""`cogvlm-media ingest PATH...`: analyse files (or folders of them) into the database."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

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
        ray: Optional[str] = typer.Option(None, "--ray", metavar="ADDRESS",
                                          help="Analyse on the Ray cluster whose head is at host:port "
                                               "(default [cluster] ray_address; docs/deploy.md)."),
        ray_fallback: Optional[str] = typer.Option(None, "--ray-fallback", metavar="local|none",
                                                   help="When the Ray head cannot be reached: 'local' "
                                                        "ingests here instead (default: fail)."),
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
        from cogvlm_media.cluster.connect import RayUnavailable
        from cogvlm_media.cluster.runner import open_runner
        from cogvlm_media.model.loading import ModelLoadError

        try:
            runner, note = open_runner(settings, ray, ray_fallback)
            if note:
                print_error(note)
            with IngestProgress(show=not quiet) as progress:
                if runner is None:
                    outcomes = ingest_paths(st.engine, settings, files, IngestOptions(reingest=reingest),
                                            progress.callbacks)
                else:
                    with runner:
                        outcomes = runner.ingest_paths(st.engine, files, IngestOptions(reingest=reingest),
                                                       progress.callbacks)
        except (ModelLoadError, RayUnavailable, ValueError) as exc:  # the model or the cluster, up front
            raise fail(str(exc)) from None
        for o in outcomes:
            if o.status != "done":
                print_error(f"{shown(o.path)}: {o.error}")
        console.print(summary_table(outcomes))
        if not any(o.status == "done" for o in outcomes):
            raise typer.Exit(1)
