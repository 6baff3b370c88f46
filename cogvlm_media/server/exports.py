"""Exports: every format of the export registry as a download (the same writers as `cogvlm-media export`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import Response

from cogvlm_media.export.formats import all_formats, format_names, get_format, render
from cogvlm_media.export.timeline import KINDS, ExportError, plan
from cogvlm_media.server.common import MAX_ID, ApiError, AssetId, Context, context, get_asset
from cogvlm_media.server.disposition import content_disposition
from cogvlm_media.store.engine import read_session

router = APIRouter(tags=["exports"])

FormatName = PathParam(..., max_length=32, description=f"One of {', '.join(format_names())}.")


@router.get("/exports", summary="The export formats")
def formats() -> dict[str, Any]:
    return {"formats": [{"name": f.name, "suffix": f.suffix, "description": f.description,
                         "resolve_imports": f.resolve_imports, "carries_ids": f.carries_ids,
                         "timeline": f.timeline} for f in all_formats()]}


def _download(ctx: Context, fmt: str, asset_ids: list[int], kind: list[str], start_tc: str | None,
              collisions: str) -> Response:
    spec = get_format(fmt)
    if spec is None:
        raise ApiError(404, "unknown_format", f"unknown format {fmt!r} (one of {', '.join(format_names())})")
    kinds = tuple(dict.fromkeys(kind or KINDS))
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ApiError(422, "invalid", f"kind: unknown {', '.join(bad)} (one of {', '.join(KINDS)})")
    if collisions not in ("nudge", "merge"):
        raise ApiError(422, "invalid", "collisions: nudge or merge")
    if not asset_ids:
        raise ApiError(422, "invalid", "asset: give at least one asset id")
    if any(not 1 <= a <= MAX_ID for a in asset_ids):
        raise ApiError(422, "invalid", "asset: ids are positive integers")
    if not spec.timeline and len(asset_ids) > 1:
        raise ApiError(422, "invalid", f"{fmt} is written per asset: export one asset at a time")
    with read_session(ctx.engine) as session:
        rows = [get_asset(session, a) for a in asset_ids]
        try:
            p = plan(rows, kinds=kinds, start_tc=start_tc, default_start_tc=ctx.settings.export.start_timecode)
            _asset_id, text, notes = render(spec, p, collisions)[0]
        except ExportError as exc:
            raise ApiError(422, "export_failed", str(exc)) from None
        stem = Path(p.clips[0].name).stem if len(rows) == 1 else "timeline"
    name = f"{stem}{spec.suffix}"
    headers = {"content-disposition": content_disposition(name),
               "x-export-notes": json.dumps(notes, ensure_ascii=True)}
    return Response(text.encode("utf-8"), headers=headers,
                    media_type=spec.media_type + "; charset=utf-8")


@router.get("/assets/{asset_id}/export/{fmt}", summary="One asset's markers in an export format, as a download")
def export_asset(fmt: str = FormatName, asset_id: int = AssetId, ctx: Context = Depends(context),
                 kind: list[str] = Query([], description="Only these marker kinds."),
                 start_tc: str | None = Query(None, max_length=16, description="Timeline start timecode."),
                 collisions: str = Query("nudge", description="nudge or merge (formats Resolve imports).")) -> Response:
    return _download(ctx, fmt, [asset_id], kind, start_tc, collisions)


@router.get("/export/{fmt}", summary="Several assets on one timeline (timeline formats), as a download")
def export_many(fmt: str = FormatName, ctx: Context = Depends(context),
                asset: list[int] = Query([], description="Asset ids, in timeline order."),
                kind: list[str] = Query([]), start_tc: str | None = Query(None, max_length=16),
                collisions: str = Query("nudge")) -> Response:
    return _download(ctx, fmt, asset, kind, start_tc, collisions)
