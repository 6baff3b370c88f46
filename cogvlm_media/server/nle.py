"""What the NLE plugins (``plugins/resolve``, ``plugins/premiere``) need from the review server, under
``/api/v1/nle``: the one colour table, asset look-up by path or content fingerprint, an asset's markers on
its own frame grid, the links NLE marker ↔ our marker (one per use of a clip) and a sync that stores an
editor's changes made in the NLE as editor-verified markers (the model's kept as history), exactly as
the review page's edits and ``import-markers`` do.

The plugins do the time maths (frames, ticks), collision handling and diffing themselves; this module
only stores and answers. Registered by :func:`install`, which also lets the Premiere panel's origin
(and localhost pages) call these routes cross-origin; every other route keeps the guard's same-origin
rule, and the token rule applies to all.
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import select

from cogvlm_media.export.plain_text import refuse_controls
from cogvlm_media.export.reconcile import add_marker, delete_marker, replace_marker
from cogvlm_media.export.timeline import COLOURS, KINDS, RESOLVE_EXTRA, marks_for, premiere_colour_index, \
    resolve_colour
from cogvlm_media.media.fingerprint import fingerprint
from cogvlm_media.server.common import MAX_ID, ApiError, AssetId, Context, announce_change, checked_colour, \
    checked_name, context, get_asset
from cogvlm_media.store import models as m
from cogvlm_media.store.engine import read_session, write_session
from cogvlm_media.store.nle_links import NLES, NleLink
from cogvlm_media.store.queries import asset_by_fingerprint, live_successor, path_row

router = APIRouter(prefix="/nle", tags=["nle plugins"])
TICKS_PER_SECOND = 254_016_000_000  # Premiere Pro's time base
PANEL_ID = "com.cogvlm-media.premiere"
# Origins allowed to call /api/v1/nle cross-origin besides http(s)://localhost|127.0.0.1|[::1][:port].
# UXP's documentation does not say which Origin header (if any) a panel's fetch sends; add yours here.
PANEL_ORIGINS_ENV = "COGVLM_MEDIA_PANEL_ORIGINS"
DEFAULT_PANEL_ORIGINS = (f"plugin:{PANEL_ID}", f"uxp://{PANEL_ID}", f"plugin://{PANEL_ID}")

Key = Annotated[str, Field(strict=True, min_length=1, max_length=255)]
Nle = Annotated[str, Field(strict=True, description="resolve or premiere")]
Frame = Annotated[int, Field(strict=True, ge=0, le=2**31)]


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


def _asset_brief(asset: m.Asset) -> dict[str, Any]:
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
    path = os.path.normpath(item.path)
    row = path_row(session, path)
    if row is not None:
        return {**out, "asset": _asset_brief(row.asset), "matched_by": "path"}
    if not os.path.isfile(path):
        return {**out, "message": "not ingested, and the file is not readable on this machine"}
    try:
        key = fingerprint(path)  # the spine's content key: moved or renamed media still match
    except OSError as exc:
        return {**out, "message": f"cannot read the file: {exc.strerror or exc}"}
    asset = asset_by_fingerprint(session, key)
    if asset is None:
        return {**out, "message": "not ingested (no asset with this content); drop it in the watch folder"}
    return {**out, "asset": _asset_brief(asset), "matched_by": "fingerprint"}


@router.post("/match", summary="Match media files (by path, else by content fingerprint) to ingested assets")
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


def _live(session, marker_id: int) -> m.Marker | None:
    return live_successor(session, session.get(m.Marker, marker_id))


def _link_row(session, link: NleLink) -> dict[str, Any]:
    live = _live(session, link.marker_id)
    return {"nle_key": link.nle_key, "use_key": link.use_key, "asset_id": link.asset_id, "marker_id": link.marker_id,
            "live_marker_id": live.id if live is not None else None}


@router.get("/links", summary="The links NLE marker → our marker in one timeline/sequence/clip")
def links(nle: str = Query(..., max_length=16), container: str = Query(..., min_length=1, max_length=255),
          ctx: Context = Depends(context)) -> dict[str, Any]:
    _nle(nle)
    with read_session(ctx.engine) as session:
        rows = session.scalars(select(NleLink).where(NleLink.nle == nle, NleLink.container == container)
                               .order_by(NleLink.id)).all()
        return {"nle": nle, "container": container, "links": [_link_row(session, r) for r in rows]}


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
            marker = session.get(m.Marker, item.marker_id)
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
        out = [_link_row(session, r) for r in rows]
    return {"nle": body.nle, "container": body.container, "links": out}


class SyncItem(BaseModel):
    """One marker as the NLE holds it now, on the asset's frame grid."""

    model_config = ConfigDict(extra="forbid")
    nle_key: Key
    use_key: Annotated[str, Field(strict=True, max_length=255)] = ""
    asset_id: Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
    frame: Frame
    frames: Frame = 0
    name: Annotated[str, Field(strict=True, min_length=1, max_length=500), AfterValidator(refuse_controls)]
    note: Annotated[str, Field(strict=True, max_length=10_000), AfterValidator(refuse_controls)] = ""
    colour: Annotated[str, Field(strict=True, max_length=16)] | None = None


class SyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nle: Nle
    container: Key
    items: Annotated[list[SyncItem], Field(max_length=5000)]
    present: Annotated[list[Key], Field(max_length=20000)] | None = Field(
        None, description="Every key of ours still in the container. Given, a linked marker whose key is "
        "missing was deleted in the NLE: it is deleted here too (kept as history). Omitted: no deletions.")


def _seconds(asset: m.Asset, frame: int) -> float:
    return float(Fraction(frame) * Fraction(asset.fps_den, asset.fps_num))


@router.post("/sync", summary="Store markers changed or added in the NLE as editor-verified (originals kept as "
             "history) and move or create their links")
def sync(body: SyncIn, background: BackgroundTasks, ctx: Context = Depends(context)) -> dict[str, Any]:
    _nle(body.nle)
    results, touched = [], set()
    with write_session(ctx.engine) as session:
        for item in body.items:
            name, colour = checked_name(item.name), checked_colour(item.colour)
            asset = get_asset(session, item.asset_id)
            if item.frame >= max(asset.frame_count, 1) or item.frame + item.frames > asset.frame_count:
                raise ApiError(422, "out_of_range", f"{item.nle_key}: frames {item.frame}+{item.frames} are outside "
                               f"the media ({asset.frame_count} frames)")
            link = session.scalars(select(NleLink).where(NleLink.nle == body.nle, NleLink.container == body.container,
                                                         NleLink.nle_key == item.nle_key)).first()
            time, duration = _seconds(asset, item.frame), _seconds(asset, item.frames)
            if link is not None:
                old = _live(session, link.marker_id)
                if old is None:
                    results.append({"nle_key": item.nle_key, "status": "deleted_on_server", "marker_id": None,
                                    "replaced_id": None})
                    continue
                rate = Fraction(asset.fps_num, asset.fps_den)
                old_frame = int(round(Fraction(old.time).limit_denominator(10**9) * rate))
                old_frames = int(round(Fraction(old.duration or 0).limit_denominator(10**9) * rate))
                same = (name == old.name and item.note == (old.note or "") and item.frame == old_frame
                        and item.frames == old_frames and (colour is None or colour == old.colour.upper()))
                if same:
                    link.marker_id, link.use_key = old.id, item.use_key or link.use_key
                    results.append({"nle_key": item.nle_key, "status": "unchanged", "marker_id": old.id,
                                    "replaced_id": None})
                    continue
                new = replace_marker(session, old, time=time, duration=duration, name=name, note=item.note,
                                     colour=colour)
                session.flush()
                link.marker_id, link.use_key = new.id, item.use_key or link.use_key
                results.append({"nle_key": item.nle_key, "status": "changed", "marker_id": new.id,
                                "replaced_id": old.id})
            else:
                new = add_marker(session, asset, time=time, duration=duration, name=name, note=item.note,
                                 kind="editor", colour=colour or ctx.settings.export.colours.get("editor", "RED"))
                session.flush()
                session.add(NleLink(nle=body.nle, container=body.container, nle_key=item.nle_key,
                                    use_key=item.use_key, asset_id=asset.id, marker_id=new.id))
                results.append({"nle_key": item.nle_key, "status": "added", "marker_id": new.id, "replaced_id": None})
            touched.add(asset.id)
        if body.present is not None:
            results += _deleted_in_nle(session, body, touched)
    if any(r["status"] in ("changed", "added", "deleted") for r in results):
        for asset_id in sorted(touched):
            announce_change(ctx, background, asset_id)
    counts = {s: sum(1 for r in results if r["status"] == s)
              for s in ("changed", "added", "unchanged", "deleted", "deleted_on_server")}
    return {"results": results, "counts": counts}


def _deleted_in_nle(session, body: SyncIn, touched: set[int]) -> list[dict[str, Any]]:
    """Links of the container whose NLE marker is gone: the editor deleted it there, so the marker is
    deleted here (superseded without a successor, kept as history) and the link dropped. A marker still
    shown on another use of the same clip in the container stays, and so does the gone link (the next
    pull reads it as "deleted on the timeline; not added again")."""
    keep = set(body.present) | {item.nle_key for item in body.items}
    out = []
    rows = session.scalars(select(NleLink).where(NleLink.nle == body.nle, NleLink.container == body.container)).all()
    lives = {link.id: _live(session, link.marker_id) for link in rows}
    shown = {lives[link.id].id for link in rows if link.nle_key in keep and lives[link.id] is not None}
    for link in rows:
        if link.nle_key in keep:
            continue
        live = lives[link.id]
        if live is not None and live.id in shown:
            continue
        if live is not None and not live.superseded:
            delete_marker(live)
            touched.add(live.asset_id)
            out.append({"nle_key": link.nle_key, "status": "deleted", "marker_id": None, "replaced_id": live.id})
        session.delete(link)
    return out


# --- cross-origin access for the panel -------------------------------------------------------------------

def _allowed_origins() -> set[str]:
    extra = {o.strip().lower() for o in os.environ.get(PANEL_ORIGINS_ENV, "").split(",") if o.strip()}
    return {o.lower() for o in DEFAULT_PANEL_ORIGINS} | extra


def origin_allowed(origin: str) -> bool:
    from urllib.parse import urlsplit

    from cogvlm_media.server.guard import is_loopback

    origin = origin.strip().lower()
    if not origin or origin == "null":
        return False
    if origin in _allowed_origins():
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and is_loopback(parts.hostname) \
        and not parts.path.strip("/")


class PanelCors:
    """CORS for ``{prefix}/nle/`` only: preflights from an allowed origin are answered here; actual requests
    from an allowed origin pass to the guard without their Origin header (the guard refuses any foreign
    origin on state-changing requests) and get ``Access-Control-Allow-Origin`` back. Requests from any
    other origin are passed on untouched, so the guard refuses them as before."""

    def __init__(self, app, prefix: str = "/api/v1"):
        self.app, self.prefix = app, f"{prefix}/nle/"

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers") or [])
        origin = next((v.decode("latin-1") for k, v in headers if k == b"origin"), "")
        if not origin or not origin_allowed(origin):
            await self.app(scope, receive, send)
            return
        allow = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
        if scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": allow + [
                (b"access-control-allow-methods", b"GET, POST, PUT, OPTIONS"),
                (b"access-control-allow-headers", b"authorization, content-type"),
                (b"access-control-max-age", b"600"), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        inner = {**scope, "headers": [(k, v) for k, v in headers if k != b"origin"]}

        async def with_allow(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *allow]}
            await send(message)

        await self.app(inner, receive, with_allow)


def install(app: FastAPI, prefix: str = "/api/v1") -> None:
    """Add the routes and the panel's CORS layer. Call after the guard is added (so this layer is outside it)."""
    app.include_router(router, prefix=prefix)
    app.add_middleware(PanelCors, prefix=prefix)
