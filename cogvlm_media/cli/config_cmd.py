"""`cogvlm-media config`: print the effective settings."""

from __future__ import annotations

import json

import tomli_w
import typer

from cogvlm_media.cli.context import console, state


def register(app: typer.Typer) -> None:
    @app.command()
    def config(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
        """Print the effective settings (defaults < config file < environment)."""
        settings = state(ctx).settings
        data = settings.as_dict()
        if as_json:
            typer.echo(json.dumps(data, indent=2))
            return
        source = data.pop("config_path") or "none (defaults)"
        console.print(f"# config file: {source}", markup=False)
        console.print(tomli_w.dumps({k: v for k, v in data.items() if v is not None}), markup=False)
