"""`cogvlm-media people`: the people found in the footage; name, merge and split them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from cogvlm_media.cli.context import console, fail, state
from cogvlm_media.media.timecode import seconds_label


def _changed(st, assets) -> None:
    from cogvlm_media import hooks

    for asset_id in sorted(assets):
        hooks.emit("asset_changed", st.engine, st.settings, asset_id=asset_id)


def _colour(st) -> str:
    from cogvlm_media.config import DEFAULT_COLOURS

    return {**DEFAULT_COLOURS, **st.settings.export.colours}["person"]


def register(app: typer.Typer) -> None:
    people = typer.Typer(help="People seen in the footage (faces clustered across the archive).",
                         no_args_is_help=False, invoke_without_command=True)
    app.add_typer(people, name="people")

    @people.callback()
    def list_people(ctx: typer.Context,
                    as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
        """List every person: id, name, faces, files and appearances."""
        if ctx.invoked_subcommand:
            return
        from cogvlm_media.store.engine import read_session
        from cogvlm_media.store.people_queries import list_people as query

        with read_session(state(ctx).engine) as session:
            rows = query(session)
        if as_json:
            typer.echo(json.dumps([r.as_dict() for r in rows], indent=2, ensure_ascii=False))
            return
        if not rows:
            console.print("No people yet: faces are found when footage is ingested with the [see] extra.")
            return
        table = Table(title=f"{len(rows)} people", title_justify="left")
        for column in ("id", "name", "faces", "files", "appearances"):
            table.add_column(column, justify="right" if column != "name" else "left")
        for r in rows:
            table.add_row(str(r.id), r.label, str(r.faces), str(r.assets), str(r.appearances))
        console.print(table)

    @people.command("show")
    def show(ctx: typer.Context, person: str = typer.Argument(..., help="Person id or name."),
             as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
        """Where a person appears: file and time range of every appearance."""
        from cogvlm_media.store.engine import read_session
        from cogvlm_media.store.people_queries import appearances, find_person
        from cogvlm_media.store.people_writer import PersonNotFound

        with read_session(state(ctx).engine) as session:
            try:
                found = find_person(session, person)
            except PersonNotFound as exc:
                raise fail(str(exc)) from None
            rows = appearances(session, person_id=found.id)
        print_appearances(rows, as_json, f"{found.id}: {found.name or f'Person {found.id}'}")

    @people.command("name")
    def name(ctx: typer.Context, person: str = typer.Argument(..., help="Person id (or current name)."),
             new_name: str = typer.Argument(..., help="The name, e.g. \"Maria Keller\".")) -> None:
        """Name a person: every appearance in every file takes the name."""
        from cogvlm_media.plain_text import one_line
        from cogvlm_media.store.engine import write_session
        from cogvlm_media.store.people_queries import find_person
        from cogvlm_media.store.people_writer import PersonNotFound, name_person

        clean = one_line(new_name).strip()
        if not clean:
            raise fail("the name is empty")
        st = state(ctx)
        try:
            with write_session(st.engine) as session:
                found = find_person(session, person)
                assets = name_person(session, found.id, clean)
                pid = found.id
        except PersonNotFound as exc:
            raise fail(str(exc)) from None
        _changed(st, assets)
        console.print(f"person {pid} is now {clean!r} in {len(assets)} file(s)", markup=False)

    @people.command("merge")
    def merge(ctx: typer.Context, keep: str = typer.Argument(..., help="The person to keep (id or name)."),
              others: list[str] = typer.Argument(..., help="People to merge into it (ids or names).")) -> None:
        """Merge people who are the same person."""
        from cogvlm_media.store.engine import write_session
        from cogvlm_media.store.people_queries import find_person
        from cogvlm_media.store.people_writer import PersonNotFound, merge_people

        st = state(ctx)
        try:
            with write_session(st.engine) as session:
                target = find_person(session, keep)
                ids = [find_person(session, o).id for o in others]
                assets = merge_people(session, target.id, ids, colour=_colour(st))
                label, pid = target.label, target.id
        except PersonNotFound as exc:
            raise fail(str(exc)) from None
        _changed(st, assets)
        console.print(f"merged {len(ids)} into person {pid} ({label})", markup=False)

    @people.command("split")
    def split(ctx: typer.Context, person: str = typer.Argument(..., help="Person id or name."),
              asset: list[int] = typer.Option(..., "--asset", help="Asset id whose faces become a new person; repeatable.")) -> None:
        """Split off a person's faces in the given files into a new person."""
        from cogvlm_media.store.engine import write_session
        from cogvlm_media.store.people_queries import find_person
        from cogvlm_media.store.people_writer import PersonNotFound, split_person

        st = state(ctx)
        try:
            with write_session(st.engine) as session:
                found = find_person(session, person)
                new_id, assets = split_person(session, found.id, list(asset), colour=_colour(st))
        except (PersonNotFound, ValueError) as exc:
            raise fail(str(exc)) from None
        _changed(st, assets)
        console.print(f"split: the faces in asset(s) {', '.join(map(str, asset))} are now person {new_id}")


def print_appearances(rows, as_json: bool, title: str) -> None:
    """The appearances table (also used by `search --person`)."""
    if as_json:
        typer.echo(json.dumps({"schema_version": 1, "appearances": [r.as_dict() for r in rows]},
                              indent=2, ensure_ascii=False))
        return
    if not rows:
        console.print(f"No appearances of {title}.", markup=False)
        return
    table = Table(title=f"{len(rows)} appearances of {title}", title_justify="left")
    for column in ("file", "from", "to", "seconds"):
        table.add_column(column, overflow="fold")
    for r in rows:
        name = Path(r.file).name if r.file else f"asset {r.asset_id}"
        table.add_row(name, seconds_label(r.start), seconds_label(r.end), f"{r.start:.2f}–{r.end:.2f}")
    console.print(table)
