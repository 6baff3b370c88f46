"""`cogvlm-media speakers list ASSET`, `speakers name ASSET LABEL NAME` and `speakers rename OLD NEW`."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from cogvlm_media.cli.context import console, fail, state


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Who speaks in a file, and names for their voices.", no_args_is_help=True)
    app.add_typer(group, name="speakers")

    @group.command("list")
    def list_cmd(
        ctx: typer.Context,
        asset: str = typer.Argument(..., help="Asset id, or the path of an ingested file."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    ) -> None:
        """The file's speakers: label, the name an editor gave the voice, seconds spoken, turns."""
        from cogvlm_media.store.engine import read_session
        from cogvlm_media.store.queries import AssetNotFound, find_asset
        from cogvlm_media.store.speakers import asset_speakers

        with read_session(state(ctx).engine) as session:
            try:
                row = find_asset(session, asset)
            except AssetNotFound as exc:
                raise fail(str(exc)) from None
            speakers = asset_speakers(session, row.id)
            asset_id = row.id
        if as_json:
            typer.echo(json.dumps({"schema_version": 1, "asset_id": asset_id, "speakers": speakers}, indent=2,
                                  ensure_ascii=False))
            return
        if not speakers:
            console.print(f"Asset {asset_id} has no speakers (no speech, or the speakers stage did not run).")
            return
        table = Table(title=f"Speakers of asset {asset_id}", title_justify="left")
        for col in ("label", "name", "seconds", "turns"):
            table.add_column(col)
        for s in speakers:
            table.add_row(s["label"], s["name"] or "", f"{s['seconds']:.1f}", str(s["turns"]))
        console.print(table)

    @group.command("name")
    def name_cmd(
        ctx: typer.Context,
        asset: str = typer.Argument(..., help="Asset id, or the path of an ingested file."),
        label: str = typer.Argument(..., help='The speaker\'s label in that file, e.g. "Speaker 2".'),
        name: str = typer.Argument(..., help="The name to show for this voice, in every file where it speaks."),
    ) -> None:
        """Name a voice: every file whose speaker sounds the same (now or later) shows the name."""
        from cogvlm_media import hooks
        from cogvlm_media.store.engine import write_session
        from cogvlm_media.store.queries import AssetNotFound, find_asset
        from cogvlm_media.store.speakers import SpeakerNotFound, name_speaker

        st = state(ctx)
        try:
            with write_session(st.engine) as session:
                row = find_asset(session, asset)
                asset_id = row.id
                changed = name_speaker(session, asset_id, label, name, st.settings.analysis.speaker_match)
        except (AssetNotFound, SpeakerNotFound, ValueError) as exc:
            raise fail(str(exc)) from None
        for changed_id in changed:
            hooks.emit("asset_changed", st.engine, st.settings, asset_id=changed_id)
        others = [str(a) for a in changed if a != asset_id]
        console.print(f"{label} of asset {asset_id} is now {name.strip()!r}"
                      + (f"; the same voice in asset(s) {', '.join(others)} too" if others else ""), markup=False)

    @group.command("rename")
    def rename_cmd(
        ctx: typer.Context,
        old: str = typer.Argument(..., help="The voice's current name."),
        new: str = typer.Argument(..., help="Its new name, shown in every file where the voice speaks."),
    ) -> None:
        """Rename a named voice everywhere (`name` instead changes which voice one file's speaker is)."""
        from cogvlm_media import hooks
        from cogvlm_media.store.engine import write_session
        from cogvlm_media.store.speakers import SpeakerNotFound, rename_voice

        st = state(ctx)
        try:
            with write_session(st.engine) as session:
                changed = rename_voice(session, old, new)
        except (SpeakerNotFound, ValueError) as exc:
            raise fail(str(exc)) from None
        for changed_id in changed:
            hooks.emit("asset_changed", st.engine, st.settings, asset_id=changed_id)
        console.print(f"{old.strip()!r} is now {new.strip()!r} in {len(changed)} file(s)", markup=False)
