"""`cogvlm-media list` and `cogvlm-media show ASSET [--json]`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from cogvlm_media.cli.context import console, fail, state
from cogvlm_media.media.timecode import seconds_label
from cogvlm_media.store.engine import read_session
from cogvlm_media.store.queries import AssetNotFound, asset_document, find_asset, list_assets


def _table(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def print_document(doc: dict) -> None:
    a = doc["asset"]
    console.print(f"[bold]Asset {a['id']}[/] {', '.join(a['paths'])}")
    console.print(f"  {a['duration']:.2f} s · {a['fps']['num']}/{a['fps']['den']} fps · {a['width']}×{a['height']}"
                  f" · start TC {a['start_timecode'] or 'none'} · analyser {a['analyser']} {a['analyser_version']}")
    console.print(_table("Markers", ["timecode", "seconds", "kind", "name", "note"], [
        [m["timecode"], seconds_label(m["time"]), m["kind"] + (" ✓" if m["verified"] else ""), m["name"],
         m["note"][:160]] for m in doc["markers"]]))
    console.print(_table("Scenes", ["#", "start", "end", "title", "summary"], [
        [str(s["index"]), s["start_tc"], s["end_tc"], s["title"], s["summary"][:200]] for s in doc["scenes"]]))
    console.print(_table("Shots", ["#", "start", "end", "seconds", "transition"], [
        [str(s["index"]), s["start_tc"], s["end_tc"], f"{s['start']:.3f}–{s['end']:.3f}", s["transition"]]
        for s in doc["shots"]]))
    console.print(_table("Windows", ["#", "start", "end", "frames", "caption"], [
        [str(w["index"]), w["start_tc"], w["end_tc"], str(len(w["frame_indices"])), (w["caption"] or "")[:160]]
        for w in doc["windows"]]))
    segments = doc["transcript"]["segments"]
    if any(s.get("speaker") for s in segments):
        console.print(_table("Transcript", ["start", "seconds", "speaker", "text"], [
            [s["start_tc"], seconds_label(s["start"]), s.get("speaker") or "", s["text"]] for s in segments]))
    else:
        console.print(_table("Transcript", ["start", "seconds", "text"], [
            [s["start_tc"], seconds_label(s["start"]), s["text"]] for s in segments]))
    if doc.get("speakers"):
        console.print(_table("Speakers", ["label", "name", "seconds", "turns"], [
            [s["label"], s["name"] or "", f"{s['seconds']:.1f}", str(s["turns"])] for s in doc["speakers"]]))


def register(app: typer.Typer) -> None:
    @app.command("list")
    def list_cmd(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
        """List ingested assets."""
        with read_session(state(ctx).engine) as session:
            rows = list_assets(session)
            data = [{"id": a.id, "paths": [p.path for p in a.paths], "duration": a.duration,
                     "markers": n_markers, "scenes": n_scenes, "analyser": a.analyser} for a, n_markers, n_scenes in rows]
        if as_json:
            typer.echo(json.dumps({"schema_version": 1, "assets": data}, indent=2))
            return
        if not data:
            console.print("No assets yet. Ingest footage with `cogvlm-media ingest PATH`.")
            return
        console.print(_table("Assets", ["id", "file", "duration", "scenes", "markers", "analyser"], [
            [str(d["id"]), Path(d["paths"][-1]).name if d["paths"] else "(no path)", f"{d['duration']:.1f} s",
             str(d["scenes"]), str(d["markers"]), d["analyser"]] for d in data]))

    @app.command()
    def show(
        ctx: typer.Context,
        asset: str = typer.Argument(..., help="Asset id, or the path of an ingested file."),
        as_json: bool = typer.Option(False, "--json", help="The versioned JSON document (schema_version 1)."),
    ) -> None:
        """Show an asset's markers, scenes, shots, windows and transcript."""
        with read_session(state(ctx).engine) as session:
            try:
                doc = asset_document(find_asset(session, asset))
            except AssetNotFound as exc:
                raise fail(str(exc)) from None
        if as_json:
            typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        else:
            print_document(doc)
