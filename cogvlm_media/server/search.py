"""Search: the same service, ranking and filters as `cogvlm-media search --json`."""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Query

from cogvlm_media.search.documents import KINDS
from cogvlm_media.search.query import MODES
from cogvlm_media.search.service import InvalidSearch, SearchService, check_request
from cogvlm_media.server.common import MAX_ID, ApiError, Context, context, get_asset
from cogvlm_media.store.engine import read_session

router = APIRouter(tags=["search"])
_lock = threading.Lock()


def service(ctx: Context) -> SearchService:
    """The archive's search service, opened once per server."""
    with _lock:
        if "search" not in ctx.cache:
            ctx.cache["search"] = SearchService(ctx.settings, ctx.engine)
        return ctx.cache["search"]


def _invalid(exc: InvalidSearch) -> ApiError:
    """A refused request in the API's words (parameter: problem)."""
    if exc.field == "query":
        return ApiError(422, "invalid", "q: empty query")
    if exc.field == "mode":
        return ApiError(422, "invalid", f"mode: one of {', '.join(exc.choices)}")
    return ApiError(422, "invalid", f"kind: unknown {', '.join(exc.unknown)} (one of {', '.join(exc.choices)})")


@router.get("/search", summary="Search the archive (hybrid lexical + semantic, verified markers first)")
def search(ctx: Context = Depends(context),
           q: str = Query(..., min_length=1, max_length=500, description="What you are looking for."),
           limit: int = Query(10, ge=1, le=100),
           asset: list[int] = Query([], description="Only these asset ids (repeatable)."),
           kind: list[str] = Query([], description=f"Only these kinds: {', '.join(KINDS)} (repeatable)."),
           mode: str = Query("hybrid", description=f"One of {', '.join(MODES)}."),
           speaker: str = Query("", max_length=200, description="Only where this speaker talks.")) -> dict[str, Any]:
    try:
        request = replace(check_request(q, mode, kind, limit, asset), speaker=speaker)
    except InvalidSearch as exc:
        raise _invalid(exc) from None
    if any(not 1 <= a <= MAX_ID for a in asset):
        raise ApiError(422, "invalid", "asset: ids are positive integers")
    with read_session(ctx.engine) as session:
        for a in asset:
            get_asset(session, a)  # 404 for an unknown id
    searcher = service(ctx)
    ready = searcher.readiness()  # behind: caught up first; another process updating it: results may lag
    if ready.state == "empty":
        return {"schema_version": 1, "query": q, "mode": mode, "count": 0, "hits": [], "message": ready.message,
                "filters": {"asset_ids": list(asset), "kinds": list(request.kinds)}}
    if not ready.ready:
        raise ApiError(503, "not_indexed", ready.message)
    doc = searcher.search(request).as_dict()
    for hit in doc["hits"]:  # for the page: what to show on a card
        hit["name"] = os.path.basename(hit["file"]) if hit["file"] else f"asset {hit['asset_id']}"
        hit["thumbnail"] = f"/api/v1/assets/{hit['asset_id']}/thumbnail?t={hit['time']}&size=small"
    return doc
