"""`cogvlm-media ingest PATH...`: analyse files (or folders of them) into the database."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from rich.markup import escape

from cogvlm_media.cli.context import console, err_console, fail, print_error, require_ffmpeg, state
from cogvlm_media.config import Settings
from cogvlm_media.ingest import Outcome, process_run
from cogvlm_media.store import jobs

STAGES = ("probe", "shots", "speech", "windows", "analyse", "store")


def expand_inputs(paths: list[Path], extensions: tuple[str, ...]) -> tuple[list[str], list[tuple[str, str]]]:
    """Files to ingest (absolute, in order, no repeats) and (input, reason) for inputs that give none."""
    files: list[str] = []
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(p: str) -> None:
        if p not in seen:
            seen.add(p)
            files.append(p)

    for raw in paths:
        path = os.path.normpath(os.path.abspath(os.path.expanduser(str(raw))))
        if os.path.isdir(path):
            found = sorted(
                os.path.join(root, name)
                for root, dirs, names in os.walk(path)
                for name in names
                if not name.startswith(".") and os.path.splitext(name)[1].lower() in extensions
            )
            if not found:
                problems.append((str(raw), "directory contains no video files"))
            for f in found:
                add(f)
        elif os.path.lexists(path):
            add(path)
        else:
            problems.append((str(raw), "file not found"))
    return files, problems


def _ingest_batched(pipeline, engine, files: list[str], reingest: bool, show_progress: bool) -> list[Outcome]:
    """The GPU path (ingest/batched.py): several files at once, one progress line each."""
    from cogvlm_media.model.loading import ModelLoadError

    try:
        pipeline.start()  # the model is loaded once, up front
    except ModelLoadError as exc:
        raise fail(str(exc)) from None
    progress = Progress(TextColumn("{task.description}", justify="left"), BarColumn(),
                        TaskProgressColumn(), TimeElapsedColumn(), console=err_console,
                        disable=not show_progress, transient=False)
    tasks = {}
    with progress, pipeline:
        for number, path in enumerate(files, 1):
            tasks[path] = progress.add_task(f"[{number}/{len(files)}] {escape(Path(path).name[:40])}", total=1,
                                            visible=False)

        def on_stage(path: str, stage: str, done: float, total: float) -> None:
            name = escape(Path(path).name[:40])
            progress.update(tasks[path], description=f"{name} · {stage}", completed=done, total=max(total, 1e-9),
                            visible=True)

        outcomes = pipeline.ingest_paths(engine, files, reingest=reingest, on_stage=on_stage,
                                         on_outcome=lambda o: progress.remove_task(tasks[o.path]))
    return outcomes


def ingest_files(settings: Settings, engine, files: list[str], reingest: bool = False,
                 show_progress: bool = True) -> list[Outcome]:
    from cogvlm_media.ingest.batched import pipeline_for

    pipeline = pipeline_for(settings)
    if pipeline is not None:
        return _ingest_batched(pipeline, engine, files, reingest, show_progress)
    worker = jobs.worker_id()
    outcomes: list[Outcome] = []
    progress = Progress(TextColumn("{task.description}", justify="left"), BarColumn(),
                        TaskProgressColumn(), TimeElapsedColumn(), console=err_console,
                        disable=not show_progress, transient=False)
    with progress:
        for number, path in enumerate(files, 1):
            try:
                st = os.stat(path)
                size, mtime = st.st_size, st.st_mtime_ns
            except OSError:
                size = mtime = None
            run_id, _ = jobs.enqueue(engine, path, size=size, mtime_ns=mtime, source="ingest", reingest=reingest,
                                     max_attempts=1)
            run = jobs.claim(engine, worker, settings.watch.lease_seconds, run_id=run_id)
            if run is None:
                outcomes.append(Outcome(run_id, path, "skipped", error="already being ingested by another process"))
                continue
            name = Path(path).name
            tasks = {s: progress.add_task(f"[{number}/{len(files)}] {escape(name[:40])} · {s}", total=1, visible=False)
                     for s in STAGES}

            def on_stage(stage: str, done: float, total: float) -> None:
                if stage in tasks:
                    progress.update(tasks[stage], completed=done, total=max(total, 1e-9), visible=True)

            outcome = process_run(engine, settings, run, worker, on_stage=on_stage)
            for task in tasks.values():
                progress.remove_task(task)
            outcomes.append(outcome)
    return outcomes


def summary_table(outcomes: list[Outcome]) -> Table:
    table = Table(title="Ingest summary", show_lines=False)
    for col in ("file", "result", "asset", "shots", "scenes", "markers", "seconds"):
        table.add_column(col, justify="right" if col not in ("file", "result") else "left")
    for o in outcomes:
        result = o.outcome if o.status == "done" else f"[red]{o.status}[/]: {escape(o.error or '')}"
        c = o.counts
        table.add_row(escape(Path(o.path).name), result, str(o.asset_id or ""), str(c.get("shots", "")),
                      str(c.get("scenes", "")), str(c.get("markers", "")), f"{o.seconds:.1f}")
    return table


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
        outcomes = ingest_files(settings, st.engine, files, reingest=reingest, show_progress=not quiet)
        for o in outcomes:
            if o.status != "done":
                print_error(f"{o.path}: {o.error}")
        console.print(summary_table(outcomes))
        if not any(o.status == "done" for o in outcomes):
            raise typer.Exit(1)
