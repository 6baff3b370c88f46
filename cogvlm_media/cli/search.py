"""`cogvlm-media search "QUERY"` and `cogvlm-media reindex [--check]`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from cogvlm_media.cli.context import console, err_console, fail, state
from cogvlm_media.media.timecode import seconds_label


def _backend(ctx: typer.Context):
    from cogvlm_media.search.backend import open_backend

    st = state(ctx)
    return open_backend(st.settings, st.engine)


def _ready(backend) -> None:
    """Exit with one clear line when there is nothing to search; catch up when behind."""
    from cogvlm_media.search.sync import IndexBusy

    status = backend.status()
    if status.assets == 0 and status.documents == 0:
        raise fail("the archive is empty: ingest footage first with `cogvlm-media ingest PATH`")
    if not status.indexed:
        raise fail(f"the archive ({status.assets} assets) is not indexed yet: run `cogvlm-media reindex`")
    if status.pending:
        try:
            backend.catch_up(wait=False)
        except IndexBusy:
            err_console.print("note: the index is being updated by another process; results may lag")


def register(app: typer.Typer) -> None:
    @app.command()
    def search(
        ctx: typer.Context,
        query: str = typer.Argument(..., help="What you are looking for, in plain language."),
        limit: int = typer.Option(10, "--limit", "-n", min=1, max=1000, help="Number of hits."),
        asset: Optional[list[str]] = typer.Option(None, "--asset", help="Only this asset (id or path); repeatable."),
        kind: Optional[list[str]] = typer.Option(
            None, "--kind", help="Only these kinds: scene, speech, moment, editor, caption, transcript."),
        mode: str = typer.Option("hybrid", "--mode", help="hybrid, lexical or semantic."),
        refine: bool = typer.Option(False, "--refine", help="Ask the vision model for the exact time of the top hits."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output (schema_version 1)."),
    ) -> None:
        """Search the archive: files and timecodes where something happens or is said."""
        from cogvlm_media.search.backend import Filters
        from cogvlm_media.search.documents import KINDS
        from cogvlm_media.search.query import MODES
        from cogvlm_media.search.query import search as run_search
        from cogvlm_media.store.engine import read_session
        from cogvlm_media.store.queries import AssetNotFound, find_asset

        if not query.strip():
            raise fail("empty query")
        if mode not in MODES:
            raise fail(f"--mode must be one of: {', '.join(MODES)}", 2)
        kinds = tuple(dict.fromkeys(kind or []))
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise fail(f"unknown --kind {', '.join(unknown)} (choose from {', '.join(KINDS)})", 2)
        st = state(ctx)
        asset_ids: list[int] = []
        with read_session(st.engine) as session:
            for ref in asset or []:
                try:
                    asset_ids.append(find_asset(session, ref).id)
                except AssetNotFound as exc:
                    raise fail(str(exc)) from None
        refiner = None
        if refine:
            from cogvlm_media.search.refine import RefineUnavailable, get_refiner

            try:
                refiner = get_refiner(st.settings)
            except RefineUnavailable as exc:
                raise fail(str(exc)) from None
        backend = _backend(ctx)
        _ready(backend)
        result = run_search(backend, st.engine, query, limit, Filters(tuple(asset_ids), kinds), mode)
        if refiner is not None:
            from cogvlm_media.search.refine import refine_hits

            refine_hits(refiner, result.hits, query)
        if as_json:
            typer.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
            return
        if not result.hits:
            console.print(f"No matches for {query!r}.")
            return
        # one column for where (file, timecode, seconds) and one for how (index, score): readable at 80 columns
        table = Table(title=f"{len(result.hits)} hits for {query!r}", title_justify="left")
        table.add_column("#", justify="right")
        table.add_column("file · timecode · seconds", overflow="fold", min_width=18)
        table.add_column("kind")
        table.add_column("text", overflow="fold", ratio=1)
        table.add_column("matched · score", overflow="fold")
        for i, h in enumerate(result.hits, 1):
            name = Path(h.file).name if h.file else f"asset {h.asset_id}"
            where = f"{name}\n{h.timecode} · {h.time:.2f} s"
            if h.refined and h.refined["time"] is not None:
                where += f"\n→ {seconds_label(h.refined['time'])}"
            table.add_row(str(i), where, h.kind + (" ✓" if h.verified else ""), h.text[:160],
                          f"{'+'.join(h.matched)}\n{h.score:.4f}")
        console.print(table)

    @app.command()
    def reindex(
        ctx: typer.Context,
        check: bool = typer.Option(False, "--check", help="Compare the indexes with the database and repair differences."),
        no_repair: bool = typer.Option(False, "--no-repair", help="With --check: report only (exit 1 if inconsistent)."),
        catch_up: bool = typer.Option(False, "--catch-up", help="Only index what changed since the last update."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable report."),
    ) -> None:
        """Rebuild the search indexes from the database (or check them against it)."""
        from cogvlm_media.search.check import check as run_check
        from cogvlm_media.search.sync import IndexBusy, Indexer

        st = state(ctx)
        indexer = Indexer(st.settings, st.engine)
        try:
            if check:
                report = run_check(indexer, repair=not no_repair)
                data = report.as_dict()
                if as_json:
                    typer.echo(json.dumps(data, indent=2))
                elif not report.indexed:
                    console.print("No search index yet: run `cogvlm-media reindex`.")
                else:
                    console.print(
                        f"database {report.documents} documents · lexical {report.lexical} · vectors {report.vectors}"
                        f" · missing {report.missing} · stale {report.stale} · extra {report.extra}"
                        f" · pending assets {len(report.pending)} · inconsistent assets {len(report.inconsistent)}")
                    if report.ok:
                        console.print("consistent")
                    elif report.repaired:
                        console.print("repaired: the indexes now match the database")
                    else:
                        console.print("INCONSISTENT" + ("" if no_repair else " (repair failed)"))
                if not report.indexed or not (report.ok or report.repaired):
                    raise typer.Exit(1)
                return
            result = indexer.catch_up() if catch_up else indexer.rebuild()
        except IndexBusy as exc:
            raise fail(str(exc)) from None
        if as_json:
            typer.echo(json.dumps(result.__dict__, indent=2))
        else:
            console.print(f"{result.action}: {result.assets} assets, {result.documents} documents "
                          f"in {result.seconds:.1f} s")
