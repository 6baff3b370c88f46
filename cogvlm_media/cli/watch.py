"""`cogvlm-media watch DIR...`, `status` and `retry`: the watch-folder daemon and its queue."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from cogvlm_media.cli.context import console, err_console, fail, state
from cogvlm_media.store import jobs
from cogvlm_media.store.queue_status import status_document
from cogvlm_media.watch.snapshot import WatchStatus

ROOT_STATES = {"missing": "[red]missing[/]", "watching": "[green]watching[/]"}


def _panel(status: WatchStatus) -> Group:
    roots = Table(title="cogvlm-media watch", show_header=True, expand=False)
    for col in ("folder", "mode", "state", "rebuilds"):
        roots.add_column(col)
    for r in status.roots:
        roots.add_row(r.path, r.mode, ROOT_STATES.get(r.state, r.state) + (f" {r.error}" if r.error else ""),
                      str(r.rebuilds))
    c = status.counts
    summary = (f"settling {status.settling} · queued {c.get('queued', 0)} · running {c.get('running', 0)} · "
               f"retrying {c.get('failed', 0)} · done {c.get('done', 0)} · quarantined {c.get('quarantined', 0)}")
    jobs_table = Table(show_header=True, expand=False)
    for col in ("job", "file", "stage", "seconds"):
        jobs_table.add_column(col)
    for job in status.running:
        jobs_table.add_row(f"#{job.run_id}", os.path.basename(job.path), job.stage, f"{job.seconds:.0f}")
    return Group(roots, summary, jobs_table, "\n".join(status.recent))


class WatchScreen:
    """Draws the daemon's snapshots: a live panel on a terminal, else each note as one line."""

    def __init__(self, out: Console) -> None:
        self.out = out
        self.live = Live(console=out, refresh_per_second=2, transient=False) if out.is_terminal else None

    def __call__(self, status: WatchStatus) -> None:
        if self.live is not None:
            self.live.update(_panel(status))
        elif status.note is not None:
            self.out.print(status.note, soft_wrap=True, markup=False)

    def __enter__(self) -> WatchScreen:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.stop()


def _print_status(doc: dict) -> None:
    c = doc["counts"]
    console.print(f"queued {c['queued']} · running {c['running']} · retrying {c['failed']} · done {c['done']} · "
                  f"quarantined {c['quarantined']}")
    sections = (("running", ("job", "file", "stage", "attempt", "worker"),
                 lambda r: [f"#{r['id']}", r["path"], r["stage"] or "", f"{r['attempts']}/{r['max_attempts']}",
                            r["worker"] or ""]),
                ("retrying", ("job", "file", "attempt", "next try", "error"),
                 lambda r: [f"#{r['id']}", r["path"], f"{r['attempts']}/{r['max_attempts']}",
                            r["next_attempt_at"] or "", r["error"] or ""]),
                ("quarantined", ("job", "file", "reason"),
                 lambda r: [f"#{r['id']}", r["path"], r["error"] or ""]))
    for key, columns, cells in sections:
        if not doc[key]:
            continue
        table = Table(title=key)
        for col in columns:
            table.add_column(col, overflow="fold")
        for r in doc[key]:
            table.add_row(*cells(r))
        console.print(table)


def register(app: typer.Typer) -> None:
    @app.command()
    def watch(
        ctx: typer.Context,
        folders: list[Path] = typer.Argument(..., help="Folders to watch (recursively)."),
        poll: bool = typer.Option(False, "--poll", help="Polling observer everywhere (network shares are "
                                  "detected from the mount table and polled anyway)."),
        workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1,
                                              help="Files analysed at once (default [watch] workers, 1)."),
        exit_when_idle: bool = typer.Option(False, "--exit-when-idle",
                                            help="Exit once everything found is ingested (scripts, tests)."),
        scan_only: bool = typer.Option(False, "--scan-only",
                                       help="Only queue finished files; analyse nothing (drain later)."),
        no_probe: bool = typer.Option(False, "--no-probe", help="Skip the ffprobe check before queueing."),
        stable_seconds: Optional[float] = typer.Option(None, "--stable-seconds", min=0.0,
                                                       help="Stability window for local folders."),
        ray: Optional[str] = typer.Option(None, "--ray", metavar="ADDRESS",
                                          help="Analyse on the Ray cluster whose head is at host:port "
                                               "(default [cluster] ray_address; docs/deploy.md)."),
        ray_fallback: Optional[str] = typer.Option(None, "--ray-fallback", metavar="local|none",
                                                   help="When the Ray head cannot be reached: 'local' "
                                                        "analyses here instead (default: fail)."),
    ) -> None:
        """Watch folders and ingest each finished video file exactly once."""
        from cogvlm_media.watch.daemon import Daemon, WatchOptions

        st = state(ctx)
        settings = st.settings
        if stable_seconds is not None:
            settings = replace(settings, watch=replace(settings.watch, stable_seconds=stable_seconds))
        roots = []
        for folder in folders:
            path = os.path.normpath(os.path.abspath(os.path.expanduser(str(folder))))
            if not os.path.isdir(path):
                raise fail(f"{folder}: not a folder")
            if path not in roots:
                roots.append(path)
        from cogvlm_media.cluster.connect import RayUnavailable
        from cogvlm_media.cluster.runner import open_runner

        try:
            runner, note = (None, "") if scan_only else open_runner(settings, ray, ray_fallback)
        except (RayUnavailable, ValueError) as exc:
            raise fail(str(exc)) from None
        if note:
            err_console.print(note, markup=False)
        # on a cluster, one worker thread per file in flight there (each waits for its node)
        workers = max(workers or settings.watch.workers, runner.files_in_flight if runner else 1)
        options = WatchOptions(roots=roots, poll=poll, workers=workers,
                               exit_when_idle=exit_when_idle, scan_only=scan_only, probe=not no_probe)
        with WatchScreen(err_console) as screen:
            daemon = Daemon(st.engine, settings, options, reporter=screen,
                            process=runner.process_run if runner else None)
            try:
                code = daemon.run()
            finally:
                if runner is not None:
                    runner.close()
        if daemon.abandoned_threads:
            # a released job's thread, or a search-index update, is still in native code (torch,
            # CTranslate2): the run is back in the queue and the index catches up on the next start, so
            # leave at once instead of tearing the interpreter down around it
            sys.stdout.flush()
            sys.stderr.flush()
            st.engine.dispose()
            os._exit(code)
        raise typer.Exit(code)

    @app.command()
    def status(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
        limit: int = typer.Option(50, "--limit", min=1, help="Rows per section."),
    ) -> None:
        """The ingest queue: queued, running, retrying, done and quarantined jobs, with reasons."""
        doc = status_document(state(ctx).engine, limit)
        if as_json:
            typer.echo(json.dumps(doc, indent=2))
        else:
            _print_status(doc)

    @app.command()
    def retry(
        ctx: typer.Context,
        job: Optional[int] = typer.Argument(None, help="Job number (from `status`)."),
        quarantined: bool = typer.Option(False, "--quarantined", help="Queue every quarantined job again."),
    ) -> None:
        """Queue a failed or quarantined job again (its attempts start over)."""
        if (job is None) == (not quarantined):
            raise fail("give a job number or --quarantined (not both)", 2)
        n = jobs.retry(state(ctx).engine, run_id=job, quarantined=quarantined)
        if job is not None and n == 0:
            raise fail(f"job #{job} is not failed or quarantined")
        console.print(f"queued {n} job(s) again")
