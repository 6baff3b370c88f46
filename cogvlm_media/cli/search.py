"""`cogvlm-media search "QUERY"` and `cogvlm-media reindex [--check]`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from cogvlm_media.cli.context import console, err_console, fail, state
from cogvlm_media.media.timecode import seconds_label


def _usage(exc) -> typer.Exit:
    """A refused request (search.service.InvalidSearch) in the command line's words."""
    if exc.field == "query":
        return fail("empty query")
    if exc.field == "mode":
        return fail(f"--mode must be one of: {', '.join(exc.choices)}", 2)
    return fail(f"unknown --kind {', '.join(exc.unknown)} (choose from {', '.join(exc.choices)})", 2)


def register(app: typer.Typer) -> None:
    @app.command()
    def search(
        ctx: typer.Context,
        query: Optional[str] = typer.Argument(None, help="What you are looking for, in plain language."),
        limit: int = typer.Option(10, "--limit", "-n", min=1, max=1000, help="Number of hits."),
        asset: Optional[list[str]] = typer.Option(None, "--asset", help="Only this asset (id or path); repeatable."),
        kind: Optional[list[str]] = typer.Option(
            None, "--kind", help="Only these kinds: scene, speech, moment, editor, caption, transcript, person."),
        person: Optional[str] = typer.Option(
            None, "--person", help="Only where this person (id or name) is seen; alone, lists their appearances."),
        mode: str = typer.Option("hybrid", "--mode", help="hybrid, lexical or semantic."),
        speaker: str = typer.Option("", "--speaker", help='Only where this speaker talks ("Speaker 2" or a name given with `speakers name`).'),
        refine: bool = typer.Option(False, "--refine", help="Ask the vision model for the exact time of the top hits."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output (schema_version 1)."),
    ) -> None:
        """Search the archive: files and timecodes where something happens or is said."""
        from cogvlm_media.search.service import InvalidSearch, SearchService, check_request
        from cogvlm_media.store.engine import read_session
        from cogvlm_media.store.queries import AssetNotFound, find_asset

        if person is not None:
            _person_search(ctx, person, query, limit, as_json)
            if not query:
                return
        try:
            request = check_request(query or "", mode, kind or [], limit)
        except InvalidSearch as exc:
            raise _usage(exc) from None
        st = state(ctx)
        asset_ids: list[int] = []
        with read_session(st.engine) as session:
            for ref in asset or []:
                try:
                    asset_ids.append(find_asset(session, ref).id)
                except AssetNotFound as exc:
                    raise fail(str(exc)) from None
        request = replace(request, asset_ids=tuple(asset_ids), speaker=speaker)
        refiner = None
        if refine:
            from cogvlm_media.search.refine import RefineUnavailable, get_refiner

            try:
                refiner = get_refiner(st.settings)
            except RefineUnavailable as exc:
                raise fail(str(exc)) from None
        service = SearchService(st.settings, st.engine)
        ready = service.readiness()
        if not ready.ready:
            raise fail(ready.message)
        if ready.lagging:
            err_console.print("note: the index is being updated by another process; results may lag")
        result = service.search(request) if person is None else _within_person(ctx, person, service, request)
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

    def _person_search(ctx, person, query, limit, as_json) -> None:
        """`search --person NAME` alone: the person's appearances."""
        if query:
            return
        from cogvlm_media.cli.people import print_appearances
        from cogvlm_media.store.engine import read_session
        from cogvlm_media.store.people_queries import appearances, find_person
        from cogvlm_media.store.people_writer import PersonNotFound

        with read_session(state(ctx).engine) as session:
            try:
                found = find_person(session, person)
            except PersonNotFound as exc:
                raise fail(str(exc)) from None
            rows = appearances(session, person_id=found.id)[:limit]
        print_appearances(rows, as_json, f"{found.id}: {found.name or f'Person {found.id}'}")

    def _within_person(ctx, person, service, request):
        from cogvlm_media.search.people import search_within
        from cogvlm_media.store.engine import read_session
        from cogvlm_media.store.people_queries import appearances, find_person
        from cogvlm_media.store.people_writer import PersonNotFound

        with read_session(state(ctx).engine) as session:
            try:
                found = find_person(session, person)
            except PersonNotFound as exc:
                raise fail(str(exc)) from None
            spans = [(a.asset_id, a.start, a.end) for a in appearances(session, person_id=found.id)]
        return search_within(service, request, spans)

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
        from cogvlm_media.search.backend import indexer_for
        from cogvlm_media.search.sync import IndexBusy

        st = state(ctx)
        indexer = indexer_for(st.settings, st.engine)
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
