"""The one plugin manager: the built-in plugins first, then the ``cogvlm_media`` entry-point group.

Built on first use (never at import), once per process. Built-ins are modules with ``@hookimpl``
functions, registered under their module names; a third-party plugin is registered under its entry
point's name. Tests add a plugin object with ``get_plugin_manager().register(obj)`` and remove it again.
"""

from __future__ import annotations

import threading
from importlib import import_module, metadata

import pluggy

from cogvlm_media import hookspecs

DEFAULT_PLUGINS = (
    "cogvlm_media.analysis.analyser",  # analysers: embedded, vision
    "cogvlm_media.analysis.stage",  # ingest stages: shots, speech
    "cogvlm_media.analysis.face_stage",  # ingest stage: faces
    "cogvlm_media.export.formats",  # export formats
    "cogvlm_media.search.backend",  # the local search backend
    "cogvlm_media.search.postgres",  # the search backend of a PostgreSQL archive
    "cogvlm_media.search.sync",  # asset_changed: keep the search index current
)

_manager: pluggy.PluginManager | None = None
_lock = threading.Lock()


class PluginError(RuntimeError):
    """A plugin could not be loaded; the message is one line naming it."""


def get_plugin_manager() -> pluggy.PluginManager:
    global _manager
    if _manager is None:
        with _lock:
            if _manager is None:
                _manager = _build()
    return _manager


def _build() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(import_module(name), name=name)
    for ep in metadata.entry_points(group=hookspecs.PROJECT):
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue  # the same distribution found twice on sys.path
        where = f"plugin {ep.name!r} ({ep.value}"
        where += f", from {ep.dist.name} {ep.dist.version})" if ep.dist is not None else ")"
        try:
            pm.register(ep.load(), name=ep.name)
        except Exception as exc:
            raise PluginError(f"{where} failed to load: {type(exc).__name__}: {exc}") from exc
    try:
        pm.check_pending()  # a @hookimpl whose name is no hook: a typo in a plugin
    except pluggy.PluginValidationError as exc:
        raise PluginError(str(exc)) from exc
    return pm

