"""Markers: list, add, edit, delete. Every change is stored the way the exports round trip stores an
editor's change (:mod:`cogvlm_media.store.marker_edits`): a new editor-verified marker that replaces
the model's, which is kept as superseded history; a deletion supersedes without a replacement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from cogvlm_media.plain_text import refuse_controls
from cogvlm_media.export.timeline import COLOURS, KINDS
from cogvlm_media.server.common import ApiError, AssetId, Context, MarkerId, announce_change, checked_colour, \
    checked_name, context, get_asset, get_marker
from cogvlm_media.store.models import Asset, Marker
from cogvlm_media.store.engine import read_session, write_session
from cogvlm_media.store.marker_edits import CONFLICTS, EditConflict, add_marker, check_revision, conflict_message, \
    delete_marker, replace_marker
from cogvlm_media.store.queries import asset_document, clock_for, live_successor

router = APIRouter(tags=["markers"])

Seconds = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
Name = Annotated[str, Field(strict=True, min_length=1, max_length=500), AfterValidator(refuse_controls)]
Note = Annotated[str, Field(strict=True, max_length=10_000), AfterValidator(refuse_controls)]
Colour = Annotated[str, Field(strict=True, max_length=16, description=f"One of {', '.join(COLOURS)}")]


class MarkerEdit(BaseModel):
    """Fields to change; those left out keep their value. ``time`` and ``duration`` are seconds from
    the file's first frame, snapped to the asset's frames."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    note: Note | None = None
    time: Seconds | None = None
    duration: Seconds | None = None
    colour: Colour | None = None
    revision: Annotated[int, Field(strict=True, ge=1, description="The revision the editor saw: a marker "
                                   "changed since gives 409 conflict")] | None = None


class MarkerNew(BaseModel):
    model_config = ConfigDict(extra="forbid")
    time: Seconds
    name: Name
    note: Note = ""
    duration: Seconds = 0.0
    kind: Annotated[str, Field(strict=True, description=f"One of {', '.join(KINDS)}")] = "editor"
    colour: Colour | None = None


def _timing(asset: Asset, time: float | None, duration: float | None, old: Marker | None = None
            ) -> tuple[float | None, float | None]:
    """Snap to the asset's frames and check the marker stays inside the media."""
    clock = clock_for(asset)
    one_frame = 1.0 / float(clock.rate)
    t = clock.snap(time) if time is not None else None
    d = clock.snap(duration) if duration is not None else None
    start = t if t is not None else (old.time if old else 0.0)
    length = d if d is not None else (old.duration if old else 0.0)
    if t is not None and t > asset.duration + 1e-9:
        raise ApiError(422, "out_of_range", f"time: {time} s is past the end of the media ({asset.duration:.3f} s)")
    if start + length > asset.duration + one_frame:
        raise ApiError(422, "out_of_range", f"time + duration ends past the media ({asset.duration:.3f} s)")
    return t, d


def _live_id(session, marker: Marker) -> int | None:
    live = live_successor(session, marker)
    return live.id if live is not None else None


@contextmanager
def _conflicts_as_409(marker_id: int) -> Iterator[None]:
    """A concurrent edit of the same marker (a stale revision, or a row changed under this transaction)."""
    try:
        yield
    except CONFLICTS as exc:
        message = str(exc) if isinstance(exc, EditConflict) else conflict_message(marker_id)
        raise ApiError(409, "conflict", message) from None


def _document_marker(session, asset_id: int, marker_id: int) -> dict[str, Any]:
    doc = asset_document(get_asset(session, asset_id))
    return next(mk for mk in doc["markers"] + doc["history"] if mk["id"] == marker_id)


@router.get("/assets/{asset_id}/markers", summary="Live markers of an asset (and, with history=true, the replaced ones)")
def list_markers(asset_id: int = AssetId, history: bool = Query(False), ctx: Context = Depends(context)) -> dict:
    with read_session(ctx.engine) as session:
        doc = asset_document(get_asset(session, asset_id))
    out = {"asset_id": asset_id, "markers": doc["markers"]}
    if history:
        out["history"] = doc["history"]
    return out


@router.get("/markers/{marker_id}", summary="One marker (live or history)")
def one_marker(marker_id: int = MarkerId, ctx: Context = Depends(context)) -> dict:
    with read_session(ctx.engine) as session:
        mk = get_marker(session, marker_id)
        out = _document_marker(session, mk.asset_id, mk.id)
        out["superseded"] = mk.superseded
        out["asset_id"] = mk.asset_id
        return out


@router.post("/assets/{asset_id}/markers", status_code=201, summary="Add an editor-verified marker")
def create_marker(body: MarkerNew, background: BackgroundTasks, asset_id: int = AssetId,
                  ctx: Context = Depends(context)) -> dict:
    if body.kind not in KINDS:
        raise ApiError(422, "invalid", f"kind: unknown kind {body.kind!r} (one of {', '.join(KINDS)})")
    name, colour = checked_name(body.name), checked_colour(body.colour)
    with write_session(ctx.engine) as session:
        asset = get_asset(session, asset_id)
        t, d = _timing(asset, body.time, body.duration)
        new = add_marker(session, asset, time=t, duration=d, name=name, note=body.note, kind=body.kind,
                         colour=colour or ctx.settings.export.colours.get(body.kind, "RED"))
        session.flush()
        new_id = new.id
    announce_change(ctx, background, asset_id)
    with read_session(ctx.engine) as session:
        return {"marker": _document_marker(session, asset_id, new_id)}


@router.patch("/markers/{marker_id}", summary="Edit a marker: stored as a new editor-verified marker that "
              "replaces it (the original is kept as history)")
def edit_marker(body: MarkerEdit, background: BackgroundTasks, marker_id: int = MarkerId,
                ctx: Context = Depends(context)) -> dict:
    fields = body.model_dump(exclude_unset=True, exclude={"revision"})
    if not fields:
        raise ApiError(422, "invalid", "nothing to change: give name, note, time, duration or colour")
    if any(v is None for v in fields.values()):
        raise ApiError(422, "invalid", "fields cannot be set to null")
    name, colour = checked_name(body.name), checked_colour(body.colour)
    with _conflicts_as_409(marker_id), write_session(ctx.engine) as session:
        old = get_marker(session, marker_id)
        if old.superseded:
            raise ApiError(409, "superseded", f"marker {marker_id} was already replaced or deleted",
                           current_id=_live_id(session, old))
        check_revision(old, body.revision)
        asset = get_asset(session, old.asset_id)
        t, d = _timing(asset, body.time, body.duration, old)
        clock = clock_for(asset)
        same = ((name is None or name == old.name) and (body.note is None or body.note == old.note)
                and (t is None or clock.frame(t) == clock.frame(old.time))
                and (d is None or clock.frame(d) == clock.frame(old.duration))
                and (colour is None or colour == old.colour.upper()))
        if same:
            new_id, changed = old.id, False
        else:
            new = replace_marker(session, old, time=t, duration=d, name=name, note=body.note, colour=colour)
            session.flush()
            new_id, changed = new.id, True
        asset_id = asset.id
    if changed:
        announce_change(ctx, background, asset_id)
    with read_session(ctx.engine) as session:
        return {"marker": _document_marker(session, asset_id, new_id), "replaced_id": marker_id if changed else None,
                "changed": changed}


@router.delete("/markers/{marker_id}", summary="Delete a marker (kept as superseded history)")
def remove_marker(background: BackgroundTasks, marker_id: int = MarkerId, ctx: Context = Depends(context),
                  revision: int | None = Query(None, ge=1, description="The revision the editor saw")) -> dict:
    with _conflicts_as_409(marker_id), write_session(ctx.engine) as session:
        old = get_marker(session, marker_id)
        if old.superseded:
            raise ApiError(409, "superseded", f"marker {marker_id} was already replaced or deleted",
                           current_id=_live_id(session, old))
        check_revision(old, revision)
        delete_marker(old)
        asset_id = old.asset_id
    announce_change(ctx, background, asset_id)
    return {"deleted_id": marker_id, "asset_id": asset_id}
