"""What the NLE plugins (``plugins/resolve``, ``plugins/premiere``) need from the review server, under
``/api/v1/nle``: the one colour table, asset look-up by path or content fingerprint, an asset's markers on
its own frame grid, the links NLE marker ↔ our marker (one per use of a clip) and a sync that stores an
editor's changes made in the NLE as editor-verified markers (the model's kept as history), exactly as
the review page's edits and ``import-markers`` do.

The plugins do the time maths (frames, ticks), collision handling and diffing themselves; this package
only stores and answers: the routes (:mod:`.routes`), the sync's reconciliation (:mod:`.reconcile`) and
the layer that lets only the plugins call them (:mod:`.cors`). Registered by :func:`install`: the
Premiere panel's origin may call these routes cross-origin, clients without an Origin (the Resolve
script) too, any other page is refused; every other route keeps the guard's same-origin rule, and the
token rule applies to all.
"""

from __future__ import annotations

from fastapi import FastAPI

from cogvlm_media.server.nle.cors import PanelCors
from cogvlm_media.server.nle.routes import router


def install(app: FastAPI, prefix: str = "/api/v1") -> None:
    """Add the routes and the panel's CORS layer. Call after the guard is added (so this layer is outside it)."""
    app.include_router(router, prefix=prefix)
    app.add_middleware(PanelCors, prefix=prefix)
