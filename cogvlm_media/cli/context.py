"""State shared by CLI commands: settings and database engine, created on first use."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import Engine

from cogvlm_media.config import ConfigError, Settings, load_settings

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def print_error(message: str) -> None:
    """One line on stderr; the message is plain text (file names may contain rich markup brackets)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)


def fail(message: str, code: int = 1) -> "typer.Exit":
    """Print one clear line to stderr and return the Exit to raise."""
    print_error(message)
    return typer.Exit(code)


@dataclass
class CliState:
    config_path: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config_path)
            except ConfigError as exc:
                raise fail(str(exc), 2) from None
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from cogvlm_media.store.engine import get_engine

            self._engine = get_engine(self.settings.db_url)
        return self._engine


def require_ffmpeg() -> None:
    """Exit with one line when FFmpeg, a system requirement, is missing."""
    from cogvlm_media.media.ffmpeg_tools import MissingFFmpeg, require

    try:
        require("ffprobe")
        require("ffmpeg")
    except MissingFFmpeg as exc:
        raise fail(str(exc), 3) from None


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    if obj is None:
        obj = ctx.find_root().obj = CliState()
    return obj
