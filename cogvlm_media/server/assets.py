"""Assets: list, detail (the `show --json` contract), ingest status per asset, the watch queue."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from cogvlm_media import __version__
from cogvlm_media.server.common import ApiError, AssetId, Context, context, get_asset, media_available, media_path
from cogvlm_media.store.engine import read_session
from cogvlm_media.store.models import Asset, IngestRun
from cogvlm_media.store.queries import asset_document, clock_for, list_assets
from cogvlm_media.store.queue_status import run_row, status_document

router = APIRouter(tags=["assets"])


def asset_summary(asset: Asset, markers: int, scenes: int) -> dict[str, Any]:
    path = asset.paths[-1].path if asset.paths else None
    return {"id": asset.id, "name": os.path.basename(path) if path else f"asset {asset.id}", "path": path,
            "duration": asset.duration, "fps": asset.fps_num / asset.fps_den, "width": asset.width,
            "height": asset.height, "start_timecode": clock_for(asset).timecode(0.0), "markers": markers,
            "scenes": scenes, "media_available": media_available(asset),
            "analysed_at": asset.analysed_at.isoformat() if asset.analysed_at else None}


@router.get("/health", summary="Liveness and version")
def health(ctx: Context = Depends(context)) -> dict[str, Any]:
    with read_session(ctx.engine) as session:
        assets = len(session.scalars(select(Asset.id)).all())
    return {"ok": True, "version": __version__, "assets": assets}


@router.get("/assets", summary="Every ingested asset, newest first")
def assets(ctx: Context = Depends(context), limit: int = Query(500, ge=1, le=10_000),
           offset: int = Query(0, ge=0, le=2**31)) -> dict[str, Any]:
    with read_session(ctx.engine) as session:
        rows = list_assets(session)
        items = [asset_summary(a, nm, ns) for a, nm, ns in rows[offset:offset + limit]]
    return {"count": len(rows), "assets": items}


@router.get("/assets/{asset_id}", summary="Everything stored about an asset (the `show --json` document)")
def asset_detail(asset_id: int = AssetId, ctx: Context = Depends(context)) -> dict[str, Any]:
    with read_session(ctx.engine) as session:
        return asset_document(get_asset(session, asset_id))


@router.get("/assets/{asset_id}/status", summary="Ingest runs of an asset and whether its media file is on disk")
def asset_status(asset_id: int = AssetId, ctx: Context = Depends(context)) -> dict[str, Any]:
    with read_session(ctx.engine) as session:
        asset = get_asset(session, asset_id)
        runs = session.scalars(select(IngestRun).where(IngestRun.asset_id == asset.id)
                               .order_by(IngestRun.id.desc()).limit(20)).all()
        try:
            media = {"available": True, "path": media_path(asset), "error": None}
        except ApiError as exc:
            media = {"available": False, "path": None, "error": exc.message}
        return {"asset_id": asset.id, "media": media, "runs": [run_row(r) for r in runs]}


@router.get("/status", summary="The ingest/watch queue: counts, running, retrying, quarantined (with reasons)")
def queue_status(ctx: Context = Depends(context), limit: int = Query(20, ge=1, le=500)) -> dict[str, Any]:
    return status_document(ctx.engine, limit)
