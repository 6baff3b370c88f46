"""Search: the same query function, ranking and filters as `cogvlm-media search --json`."""

from __future__ import annotations

import os
import threading
from typing import Any

from fastapi import APIRouter, Depends, Query

from cogvlm_media.search.backend import Filters, open_backend
from cogvlm_media.search.documents import KINDS
from cogvlm_media.search.query import MODES
from cogvlm_media.search.query import search as run_search
from cogvlm_media.search.sync import IndexBusy
from cogvlm_media.server.common import MAX_ID, ApiError, Context, context, get_asset
from cogvlm_media.store.engine import read_session

router = APIRouter(tags=["search"])
_lock = threading.Lock()


def backend(ctx: Context):
    with _lock:
        if "search" not in ctx.cache:
            ctx.cache["search"] = open_backend(ctx.settings, ctx.engine)
        return ctx.cache["search"]


def _ready(b) -> str | None:
    """None when searchable (catching up first when behind), else why not (as the CLI says it)."""
    status = b.status()
    if status.assets == 0 and status.documents == 0:
        return "the archive is empty: ingest footage first with `cogvlm-media ingest PATH`"
    if not status.indexed:
        raise ApiError(503, "not_indexed", f"the archive ({status.assets} assets) is not indexed yet: "
                       "run `cogvlm-media reindex`")
    if status.pending:
        try:
            b.catch_up(wait=False)
        except IndexBusy:
            pass  # another process is updating it; results may lag a moment
    return None


@router.get("/search", summary="Search the archive (hybrid lexical + semantic, verified markers first)")
def search(ctx: Context = Depends(context),
           q: str = Query(..., min_length=1, max_length=500, description="What you are looking for."),
           limit: int = Query(10, ge=1, le=100),
           asset: list[int] = Query([], description="Only these asset ids (repeatable)."),
           kind: list[str] = Query([], description=f"Only these kinds: {', '.join(KINDS)} (repeatable)."),
           mode: str = Query("hybrid", description=f"One of {', '.join(MODES)}.")) -> dict[str, Any]:
    if not q.strip():
        raise ApiError(422, "invalid", "q: empty query")
    if mode not in MODES:
        raise ApiError(422, "invalid", f"mode: one of {', '.join(MODES)}")
    kinds = tuple(dict.fromkeys(kind))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ApiError(422, "invalid", f"kind: unknown {', '.join(unknown)} (one of {', '.join(KINDS)})")
    if any(not 1 <= a <= MAX_ID for a in asset):
        raise ApiError(422, "invalid", "asset: ids are positive integers")
    with read_session(ctx.engine) as session:
        for a in asset:
            get_asset(session, a)  # 404 for an unknown id
    b = backend(ctx)
    message = _ready(b)
    if message:
        return {"schema_version": 1, "query": q, "mode": mode, "count": 0, "hits": [], "message": message,
                "filters": {"asset_ids": list(asset), "kinds": list(kinds)}}
    doc = run_search(b, ctx.engine, q, limit, Filters(tuple(dict.fromkeys(asset)), kinds), mode).as_dict()
    for hit in doc["hits"]:  # for the page: what to show on a card
        hit["name"] = os.path.basename(hit["file"]) if hit["file"] else f"asset {hit['asset_id']}"
        hit["thumbnail"] = f"/api/v1/assets/{hit['asset_id']}/thumbnail?t={hit['time']}&size=small"
    return doc
