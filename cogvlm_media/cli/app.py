"""The `cogvlm-media` command: a thin layer that parses, builds core objects and runs them.

Each command lives in its own module under ``cogvlm_media.cli`` and exposes ``register(app)``.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Optional

import typer

from cogvlm_media import __version__
from cogvlm_media.cli.context import CliState, print_error
from cogvlm_media.plugin_manager import PluginError
from sqlalchemy.exc import DBAPIError

COMMAND_MODULES = [
    "ingest",
    "show",
    "demo",
    "config_cmd",
    "ask",
    "watch",
    "export",
    "search",
    "serve",
    "finetune",
    "people",
    "speakers",
]

app = typer.Typer(
    name="cogvlm-media",
    help="Analyse footage into timestamped scenes and key-moment markers; export them to NLEs; search the archive.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cogvlm-media {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Optional[Path] = typer.Option(None, "--config", help="Settings file (TOML). Default: XDG config location."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    ctx.obj = CliState(config_path=config)


for _name in COMMAND_MODULES:
    try:
        import_module(f"cogvlm_media.cli.{_name}").register(app)
    except ModuleNotFoundError as exc:  # a command whose module is not written yet
        if exc.name != f"cogvlm_media.cli.{_name}":
            raise


def main() -> None:
    try:
        app()
    except PluginError as exc:  # a broken third-party plugin: one line, not a traceback
        print_error(str(exc))
        raise SystemExit(1) from None
    except DBAPIError as exc:  # a database server out of reach (after the engine's retries): one line
        from cogvlm_media.store.engine import database_error_line, is_unavailable

        if not is_unavailable(exc):
            raise
        print_error(database_error_line(exc))
        raise SystemExit(1) from None
