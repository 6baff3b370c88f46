"""The NLE plugins' routes under ``/api/v1/nle``: the colour table, asset look-up by content fingerprint or
ingested path (never the file system), an asset's markers on its own frame grid, the links NLE marker ↔
our marker and the sync (stored by :mod:`cogvlm_media.server.nle.reconcile`)."""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from cogvlm_media.export.timeline import COLOURS, KINDS, RESOLVE_EXTRA, marks_for, premiere_colour_index, \
    resolve_colour
from cogvlm_media.server.common import MAX_ID, ApiError, AssetId, Context, announce_change, context, get_asset
from cogvlm_media.server.nle.reconcile import Key, Nle, SyncIn, link_row, sync_markers
from cogvlm_media.store.engine import read_session, write_session
from cogvlm_media.store.models import Asset, Marker
from cogvlm_media.store.nle_links import NLES, NleLink
from cogvlm_media.store.queries import asset_by_fingerprint, path_row

router = APIRouter(prefix="/nle", tags=["nle plugins"])
TICKS_PER_SECOND = 254_016_000_000  # Premiere Pro's time base


def _nle(value: str) -> str:
    if value not in NLES:
        raise ApiError(422, "invalid", f"nle: unknown NLE {value!r} (one of {', '.join(NLES)})")
    return value


@router.get("/config", summary="The colour table (OTIO name → Resolve colour, Premiere index) and time bases")
def config() -> dict[str, Any]:
    return {"colours": {k: {"resolve": r, "premiere": p} for k, (r, p) in COLOURS.items()},
            "resolve_extra": dict(RESOLVE_EXTRA), "kinds": list(KINDS), "ticks_per_second": TICKS_PER_SECOND}


class MatchItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Annotated[str, Field(strict=True, max_length=255)] = ""
    path: Annotated[str, Field(strict=True, max_length=4096)] | None = None
    fingerprint: Annotated[str, Field(strict=True, pattern=r"^[0-9a-fA-F]{64}$")] | None = None


class MatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: Annotated[list[MatchItem], Field(max_length=256)]


def _asset_brief(asset: Asset) -> dict[str, Any]:
    path = asset.paths[-1].path if asset.paths else None
    return {"id": asset.id, "name": os.path.basename(path) if path else f"asset {asset.id}", "path": path,
            "fps_num": asset.fps_num, "fps_den": asset.fps_den, "frame_count": asset.frame_count,
            "duration": asset.duration, "start_timecode": asset.start_timecode, "fingerprint": asset.fingerprint}


def _match_one(session, item: MatchItem) -> dict[str, Any]:
    out: dict[str, Any] = {"key": item.key, "path": item.path, "asset": None, "matched_by": None, "message": ""}
    if item.fingerprint:
        asset = asset_by_fingerprint(session, item.fingerprint.lower())
        if asset is not None:
            return {**out, "asset": _asset_brief(asset), "matched_by": "fingerprint"}
    if not item.path:
        return {**out, "message": "no ingested asset has this fingerprint" if item.fingerprint else "no path given"}
    if "\x00" in item.path or not os.path.isabs(item.path):
        return {**out, "message": "the path must be absolute"}
    row = path_row(session, os.path.normpath(item.path))
    if row is not None:
        return {**out, "asset": _asset_brief(row.asset), "matched_by": "path"}
    # only ingested paths are answered: the file system is never looked at, so the answer says nothing
    # about whether a file exists (moved media: the plugin sends the file's fingerprint, or ingest it again)
    return {**out, "message": "not ingested (no asset has this path)"}


@router.post("/match", summary="Match media files to ingested assets by content fingerprint, else by ingested path")
def match(body: MatchRequest, ctx: Context = Depends(context)) -> dict[str, Any]:
    with read_session(ctx.engine) as session:
        return {"items": [_match_one(session, item) for item in body.items]}


@router.get("/assets/{asset_id}/marks", summary="An asset's live markers on its own frame grid (frame 0 = the "
            "file's first frame), with Resolve colour names and Premiere colour indices")
def marks(asset_id: int = AssetId, ctx: Context = Depends(context)) -> dict[str, Any]:
    with read_session(ctx.engine) as session:
        asset = get_asset(session, asset_id)
        return {"asset": _asset_brief(asset), "marks": [
            {"id": mk.id, "frame": mk.frame, "frames": mk.frames, "name": mk.name, "note": mk.note, "kind": mk.kind,
             "colour": mk.colour, "resolve_color": resolve_colour(mk.colour),
             "premiere_color_index": premiere_colour_index(mk.colour), "verified": mk.verified, "source": mk.source}
            for mk in marks_for(asset, KINDS)]}


@router.get("/links", summary="The links NLE marker → our marker in one timeline/sequence/clip")
def links(nle: str = Query(..., max_length=16), container: str = Query(..., min_length=1, max_length=255),
          ctx: Context = Depends(context)) -> dict[str, Any]:
    _nle(nle)
    with read_session(ctx.engine) as session:
        rows = session.scalars(select(NleLink).where(NleLink.nle == nle, NleLink.container == container)
                               .order_by(NleLink.id)).all()
        return {"nle": nle, "container": container, "links": [link_row(session, r) for r in rows]}


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nle_key: Key
    marker_id: Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
    use_key: Annotated[str, Field(strict=True, max_length=255)] = ""


class LinksIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nle: Nle
    container: Key
    links: Annotated[list[LinkIn], Field(max_length=5000)]


@router.put("/links", summary="Record (or move) links after the plugin added markers to the NLE")
def put_links(body: LinksIn, ctx: Context = Depends(context)) -> dict[str, Any]:
    _nle(body.nle)
    with write_session(ctx.engine) as session:
        for item in body.links:
            marker = session.get(Marker, item.marker_id)
            if marker is None:
                raise ApiError(404, "not_found", f"no marker with id {item.marker_id}")
            row = session.scalars(select(NleLink).where(NleLink.nle == body.nle, NleLink.container == body.container,
                                                        NleLink.nle_key == item.nle_key)).first()
            if row is None:
                session.add(NleLink(nle=body.nle, container=body.container, nle_key=item.nle_key,
                                    use_key=item.use_key, asset_id=marker.asset_id, marker_id=marker.id))
            else:
                row.use_key, row.asset_id, row.marker_id = item.use_key, marker.asset_id, marker.id
        session.flush()
        rows = session.scalars(select(NleLink).where(NleLink.nle == body.nle, NleLink.container == body.container)
                               .order_by(NleLink.id)).all()
        out = [link_row(session, r) for r in rows]
    return {"nle": body.nle, "container": body.container, "links": out}



@router.post("/sync", summary="Store markers changed or added in the NLE as editor-verified (originals kept as "
             "history) and move or create their links")
def sync(body: SyncIn, background: BackgroundTasks, ctx: Context = Depends(context)) -> dict[str, Any]:
    _nle(body.nle)
    with write_session(ctx.engine) as session:
        results, touched = sync_markers(session, body, ctx.settings.export.colours.get("editor", "RED"))
    if any(r["status"] in ("changed", "added", "deleted") for r in results):
        for asset_id in sorted(touched):
            announce_change(ctx, background, asset_id)
    counts = {s: sum(1 for r in results if r["status"] == s)
              for s in ("changed", "added", "unchanged", "deleted", "deleted_on_server")}
    return {"results": results, "counts": counts}
