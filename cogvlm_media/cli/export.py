"""`export`, `embed-chapters`, `import-markers` and `export-dataset`: markers out to NLEs and chapter
files, editors' corrections back in, and fine-tuning data from verified markers."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from cogvlm_media.cli.context import console, err_console, fail, state
from cogvlm_media.export.formats import all_formats, builtin_formats
from cogvlm_media.plugin_manager import PluginError
from cogvlm_media.export.timeline import KINDS, ExportError
from cogvlm_media.store.engine import read_session
from cogvlm_media.store.queries import AssetNotFound, find_asset


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8", newline="")
    os.replace(partial, path)


def _kinds(kind: list[str] | None) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(kind or KINDS))
    bad = [k for k in chosen if k not in KINDS]
    if bad:
        raise fail(f"unknown marker kind {bad[0]!r} (choose from {', '.join(KINDS)})")
    return chosen


def _either(names: list[str]) -> str:
    return f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else "".join(names)


def _help_formats(readable: bool = False) -> list:
    """The formats the help text lists; a plugin that fails to load is reported when the command runs."""
    try:
        found = all_formats()
    except PluginError:
        found = list(builtin_formats())
    return [f for f in found if f.round_trips or not readable]


def _help_names(readable: bool = False) -> list[str]:
    return [f.name for f in _help_formats(readable)]


def _formats_epilog(readable: bool = False) -> str:
    return "Formats: " + "; ".join(f"{f.name}: {f.description}" for f in _help_formats(readable)) + "."


def register(app: typer.Typer) -> None:
    @app.command(epilog=_formats_epilog())
    def export(
        ctx: typer.Context,
        assets: list[str] = typer.Argument(..., help="Asset ids or ingested paths."),
        fmt: str = typer.Option(..., "--format", "-f", help=f"{_either(_help_names())}."),
        output: Optional[Path] = typer.Option(None, "-o", "--output",
                                              help="File (or folder with --split / several chapter files). Default: stdout."),
        start_tc: Optional[str] = typer.Option(None, "--start-tc", help="Timeline start timecode (default: the file's "
                                               "timecode tag, else the configured export.start_timecode)."),
        kind: Optional[list[str]] = typer.Option(None, "--kind", help="Only these marker kinds (repeatable)."),
        split: bool = typer.Option(False, "--split", help="One file per asset instead of one timeline."),
        collisions: str = typer.Option("nudge", "--collisions", help="Markers on one frame, for formats Resolve "
                                       "imports: nudge (to the nearest free frame) or merge."),
    ) -> None:
        """Export markers and scenes to NLE timelines, chapter files or marker lists."""
        from cogvlm_media.export.formats import format_names, get_format, render
        from cogvlm_media.export.timeline import plan

        st = state(ctx)
        spec = get_format(fmt)
        if spec is None:
            raise fail(f"unknown format {fmt!r} (choose from {', '.join(format_names())})")
        if collisions not in ("nudge", "merge"):
            raise fail(f"unknown --collisions {collisions!r} (nudge or merge)")
        kinds = _kinds(kind)
        outputs: list[tuple[str, str]] = []  # (file name, text)
        notes: list[str] = []
        with read_session(st.engine) as session:
            try:
                rows = [find_asset(session, a) for a in assets]
                groups = [[a] for a in rows] if (split or not spec.timeline) else [rows]
                for group in groups:
                    p = plan(group, kinds=kinds, start_tc=start_tc, default_start_tc=st.settings.export.start_timecode)
                    for asset_id, text, said in render(spec, p, collisions):
                        stem = Path(p.clips[0].name).stem if len(group) == 1 else "timeline"
                        outputs.append((f"{stem}{spec.suffix}", text))
                        notes += said
            except (AssetNotFound, ExportError) as exc:
                raise fail(str(exc)) from None
        for note in notes:
            err_console.print(f"note: {note}", soft_wrap=True, markup=False)
        if output is None:
            if len(outputs) > 1:
                raise fail("several files to write: give -o FOLDER")
            sys.stdout.write(outputs[0][1])
            return
        if len(outputs) > 1 or output.is_dir():
            if output.exists() and not output.is_dir():
                raise fail(f"{output}: several files to write, so -o must be a folder")
            names = [n for n, _ in outputs]
            if len(set(names)) != len(names):
                raise fail("two assets share a file name; export them separately")
            targets = [(output / n, t) for n, t in outputs]
        else:
            targets = [(output, outputs[0][1])]
        for path, text in targets:
            write_atomic(path, text)
            console.print(f"wrote {path}", markup=False)

    @app.command("embed-chapters")
    def embed_chapters_cmd(
        ctx: typer.Context,
        asset: str = typer.Argument(..., help="Asset id or ingested path."),
        output: Path = typer.Option(..., "-o", "--output", help="The new media file (same container family)."),
    ) -> None:
        """Write a copy of the media with its scenes as chapters (ffmpeg stream copy)."""
        from cogvlm_media.export.chapters import chapters_for, ffmetadata
        from cogvlm_media.export.mux_chapters import embed_chapters
        from cogvlm_media.export.timeline import placement

        st = state(ctx)
        with read_session(st.engine) as session:
            try:
                row = find_asset(session, asset)
                clip = placement(row, KINDS)
                source = next((p.path for p in reversed(row.paths) if os.path.isfile(p.path)), None)
                if source is None:
                    raise ExportError(f"asset {row.id}: none of its files is on disk")
                text = ffmetadata(chapters_for(clip))
            except (AssetNotFound, ExportError) as exc:
                raise fail(str(exc)) from None
        try:
            embed_chapters(source, text, str(output))
        except ExportError as exc:
            raise fail(str(exc)) from None
        console.print(f"wrote {output}", markup=False)

    _register_import(app)
    _register_dataset(app)


def _register_import(app: typer.Typer) -> None:
    @app.command("import-markers", epilog=_formats_epilog(readable=True))
    def import_markers(
        ctx: typer.Context,
        file: Path = typer.Argument(..., help="A marker file exported from an NLE or by `export`."),
        asset: str = typer.Option(..., "--asset", help="The asset the markers belong to."),
        fmt: Optional[str] = typer.Option(None, "--format", "-f", help="Force a format: "
                                          f"{_either(_help_names(readable=True))} (otherwise detected)."),
        start_tc: Optional[str] = typer.Option(None, "--start-tc", help="The timeline start used at export "
                                               "(EDL record timecode)."),
        no_delete: bool = typer.Option(False, "--no-delete", help="Never treat missing markers as deleted."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be added, changed, deleted and "
                                     "refused; write nothing."),
        force: bool = typer.Option(False, "--force", help="Import even when the file does not look like the "
                                   "asset's (verified markers are then never deleted)."),
    ) -> None:
        """Bring markers edited in an NLE back: changes and additions are stored as editor-verified."""
        from cogvlm_media import hooks
        from cogvlm_media.export.import_run import ImportRefused, run_import
        from cogvlm_media.export.markers_import import ImportFailed
        from cogvlm_media.store.engine import write_session
        from cogvlm_media.store.marker_edits import CONFLICTS, conflict_message

        st = state(ctx)
        try:
            with (read_session if dry_run else write_session)(st.engine) as session:
                row = find_asset(session, asset)
                report = run_import(session, file, row, fmt=fmt, start_tc=start_tc,
                                    default_start_tc=st.settings.export.start_timecode, force=force,
                                    allow_delete=not no_delete, dry_run=dry_run,
                                    editor_colour=st.settings.export.colours.get("editor", "RED"))
                asset_id = row.id
        except (AssetNotFound, ImportFailed, ImportRefused, ExportError) as exc:
            raise fail(str(exc)) from None
        except CONFLICTS:
            raise fail(f"import-markers: {conflict_message()}") from None
        if report.import_id is not None:
            hooks.emit("asset_changed", st.engine, st.settings, asset_id=asset_id)
        for note in report.notes:
            console.print(f"note: {note}", markup=False, soft_wrap=True)
        for line in (report.plan_lines() if dry_run else []) + report.plan.refused:
            console.print(f"  {line}", markup=False, soft_wrap=True)
        console.print(report.summary(), markup=False, soft_wrap=True)

    @app.command("undo-import")
    def undo_import_cmd(
        ctx: typer.Context,
        import_id: int = typer.Argument(..., help="The import's id (from import-markers' summary)."),
    ) -> None:
        """Take back one import-markers run: what it replaced or deleted comes back, what it added goes."""
        from cogvlm_media import hooks
        from cogvlm_media.store.engine import write_session
        from cogvlm_media.store.import_log import UndoFailed, undo_import
        from cogvlm_media.store.marker_edits import CONFLICTS, conflict_message

        st = state(ctx)
        try:
            with write_session(st.engine) as session:
                row, restored, removed = undo_import(session, import_id)
                asset_id = row.asset_id
        except UndoFailed as exc:
            raise fail(str(exc)) from None
        except CONFLICTS:
            raise fail(f"undo-import: {conflict_message()}") from None
        hooks.emit("asset_changed", st.engine, st.settings, asset_id=asset_id)
        console.print(f"undid import {import_id} into asset {asset_id}: {restored} markers back, {removed} removed",
                      markup=False)


def _register_dataset(app: typer.Typer) -> None:
    @app.command("export-dataset")
    def export_dataset(
        ctx: typer.Context,
        output: Path = typer.Option(..., "-o", "--output", help="Folder for the jsonl and the clips."),
        fmt: str = typer.Option("swift", "--format", "-f", help="swift (ms-swift jsonl)."),
        assets: Optional[list[str]] = typer.Option(None, "--asset", help="Only these assets (default: all)."),
    ) -> None:
        """Fine-tuning data (ms-swift jsonl and clips cut per window) from verified markers and scene summaries."""
        from cogvlm_media.export.dataset import DatasetError, write_dataset

        if fmt != "swift":
            raise fail(f"unknown dataset format {fmt!r} (swift)")
        st = state(ctx)
        try:
            with read_session(st.engine) as session:
                rows = [find_asset(session, a) for a in assets] if assets else None
                result = write_dataset(session, output, rows)
        except (AssetNotFound, DatasetError) as exc:
            raise fail(str(exc)) from None
        console.print(f"wrote {result.records} records and {result.clips} clips to {output}", markup=False)
