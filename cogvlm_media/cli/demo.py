"""`cogvlm-media demo`: render a sample clip with cuts and speech, ingest it, print its markers.

Needs no footage of the user's: the clip is made by ffmpeg (lavfi sources) and espeak-ng.
"""

from __future__ import annotations

import typer
from rich.table import Table

from cogvlm_media.cli.context import console, err_console, fail, require_ffmpeg, state
from cogvlm_media.cli.ingest_display import IngestProgress, summary_table
from cogvlm_media.cli.show import print_document
from cogvlm_media.ingest import IngestOptions, ingest_paths
from cogvlm_media.media.timecode import seconds_label
from cogvlm_media.store.engine import read_session
from cogvlm_media.store.queries import asset_document, find_asset


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        ctx: typer.Context,
        full: bool = typer.Option(False, "--full", help="Also print shots, windows and the transcript."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    ) -> None:
        """Render a 24 s sample clip (cuts, a dissolve, a pan, speech), ingest it and print its markers."""
        from cogvlm_media.media.sample import RenderError, render_sample

        require_ffmpeg()
        st = state(ctx)
        target = st.settings.home / "demo" / "cogvlm-media-demo.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        with err_console.status("Rendering the sample clip with ffmpeg and espeak-ng…"):
            try:
                sample = render_sample(target)
            except (RenderError, OSError) as exc:
                raise fail(f"cannot render the sample clip: {exc}") from None
        err_console.print(f"Rendered {target} ({sample.duration:.1f} s, cuts at "
                          f"{', '.join(f'{t:.2f}' for t in sample.cut_times)} s)")
        with IngestProgress(show=not quiet) as progress:
            outcomes = ingest_paths(st.engine, st.settings, [str(target)], IngestOptions(reingest=True),
                                    progress.callbacks)
        outcome = outcomes[0]
        if outcome.status != "done":
            raise fail(f"{target}: {outcome.error}")
        err_console.print(summary_table(outcomes))
        with read_session(st.engine) as session:
            doc = asset_document(find_asset(session, outcome.asset_id))
        if full:
            print_document(doc)
            return
        table = Table(title=f"Markers of {target.name} (asset {doc['asset']['id']})", title_justify="left")
        for col in ("timecode", "seconds", "kind", "name", "note"):
            table.add_column(col, overflow="fold")
        for m in doc["markers"]:
            table.add_row(m["timecode"], seconds_label(m["time"]), m["kind"], m["name"], m["note"])
        console.print(table)
        console.print(f"\nNext: `cogvlm-media show {doc['asset']['id']}` for shots, windows and transcript; "
                      f"`cogvlm-media ingest YOUR_FOLDER` for your own footage.")
