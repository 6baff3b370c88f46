"""The plugin hooks (pluggy). Built-in analysers, stages, formats, backends and listeners implement them too.

A plugin is a module or object with functions marked ``@hookimpl`` and named as below; third-party
packages announce theirs under the ``cogvlm_media`` entry-point group (see docs/plugins.md).
"""

from __future__ import annotations

from typing import Any

import pluggy

PROJECT = "cogvlm_media"  # pluggy project name and entry-point group

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_analysers() -> dict[str, Any]:
    """Analysers by name: a "module:Class" string (imported on use) or a callable taking the settings."""


@hookspec
def register_stages() -> list[Any]:
    """Ingest stages (cogvlm_media.analysis.stage.Stage) run on each file before the analyser."""


@hookspec
def register_export_formats() -> list[Any]:
    """Export formats (cogvlm_media.export.formats.Format) offered by `export --format`, the API and the tests."""


@hookspec(firstresult=True)
def open_search_backend(settings: Any, engine: Any) -> Any:
    """The search backend for this database, or None to leave it to the next plugin (the local one is last)."""


@hookspec
def asset_changed(engine: Any, settings: Any, asset_id: int | None) -> None:
    """An asset's records were committed (None: any may have changed); keep derived data current."""
