"""Events other stages subscribe to, without the core importing them eagerly.

``asset_changed`` fires after an asset's records were committed (ingest, marker import, edits);
listeners keep derived data (search indexes) current. A listener's failure is logged, never raised:
derived data is caught up from the database later.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import Any

log = logging.getLogger(__name__)

# event name -> "module:function" listeners, called as f(engine, settings, **payload)
LISTENERS: dict[str, list[str]] = {
    "asset_changed": ["cogvlm_media.search.sync:on_asset_changed"],
}


def emit(event: str, engine: Any, settings: Any, **payload: Any) -> None:
    for target in LISTENERS.get(event, []):
        module, func = target.split(":")
        try:
            listener = getattr(import_module(module), func)
        except (ImportError, AttributeError):
            continue  # a listener whose stage is not installed
        try:
            listener(engine, settings, **payload)
        except Exception:
            log.exception("listener %s for %s failed", target, event)
