"""People over HTTP: the list, one person's appearances, naming, merging, splitting, and an asset's faces."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from cogvlm_media.config import DEFAULT_COLOURS
from cogvlm_media.plain_text import refuse_controls
from cogvlm_media.server.common import ApiError, AssetId, Context, context, get_asset
from cogvlm_media.store.engine import read_session, write_session
from cogvlm_media.store.people_queries import appearances, best_faces, face_strip, list_people
from cogvlm_media.store.people_writer import PersonNotFound, get_person, merge_people, name_person, split_person

router = APIRouter(tags=["people"])
PersonId = Path(..., ge=1, le=2**62, description="Person id")


class PersonName(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(strict=True, max_length=500), AfterValidator(refuse_controls)]


class PersonMerge(BaseModel):
    model_config = ConfigDict(extra="forbid")
    others: Annotated[list[Annotated[int, Field(ge=1, le=2**62)]], Field(min_length=1, max_length=1000)]


class PersonSplit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    asset_ids: Annotated[list[Annotated[int, Field(ge=1, le=2**62)]], Field(min_length=1, max_length=1000)]


def _colour(ctx: Context) -> str:
    return {**DEFAULT_COLOURS, **ctx.settings.export.colours}["person"]


def _person(session, person_id: int) -> dict[str, Any]:
    try:
        person = get_person(session, person_id)
    except PersonNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    apps = appearances(session, person_id=person_id)
    first = next(iter(apps), None)
    return {"id": person.id, "name": person.name, "label": person.label, "faces": person.faces,
            "model_version": person.model_version, "appearances": [a.as_dict() for a in apps],
            "first": first.as_dict() if first else None}


def _announce(ctx: Context, background: BackgroundTasks, assets) -> None:
    from cogvlm_media import hooks

    for asset_id in sorted(assets):
        background.add_task(hooks.emit, "asset_changed", ctx.engine, ctx.settings, asset_id=asset_id)


@router.get("/people", summary="Every person found in the footage, with their best face")
def people(ctx: Context = Depends(context)) -> dict[str, Any]:
    with read_session(ctx.engine) as session:
        rows = list_people(session)
        faces = best_faces(session, [r.id for r in rows])
    return {"count": len(rows), "people": [r.as_dict() | {"face": faces.get(r.id)} for r in rows]}


@router.get("/people/{person_id}", summary="One person and every appearance (file and time range)")
def person(person_id: int = PersonId, ctx: Context = Depends(context)) -> dict[str, Any]:
    with read_session(ctx.engine) as session:
        return _person(session, person_id)


@router.patch("/people/{person_id}", summary="Name a person: every appearance in every file takes the name")
def rename(body: PersonName, background: BackgroundTasks, person_id: int = PersonId,
           ctx: Context = Depends(context)) -> dict[str, Any]:
    with write_session(ctx.engine) as session:
        try:
            assets = name_person(session, person_id, " ".join(body.name.split()))
        except PersonNotFound as exc:
            raise ApiError(404, "not_found", str(exc)) from None
        out = _person(session, person_id)
    _announce(ctx, background, assets)
    return out


@router.post("/people/{person_id}/merge", summary="Merge other people into this one")
def merge(body: PersonMerge, background: BackgroundTasks, person_id: int = PersonId,
          ctx: Context = Depends(context)) -> dict[str, Any]:
    with write_session(ctx.engine) as session:
        try:
            assets = merge_people(session, person_id, body.others, colour=_colour(ctx))
        except PersonNotFound as exc:
            raise ApiError(404, "not_found", str(exc)) from None
        out = _person(session, person_id)
    _announce(ctx, background, assets)
    return out


@router.post("/people/{person_id}/split", status_code=201,
             summary="Split this person's faces in the given assets off into a new person")
def split(body: PersonSplit, background: BackgroundTasks, person_id: int = PersonId,
          ctx: Context = Depends(context)) -> dict[str, Any]:
    with write_session(ctx.engine) as session:
        try:
            new_id, assets = split_person(session, person_id, body.asset_ids, colour=_colour(ctx))
        except PersonNotFound as exc:
            raise ApiError(404, "not_found", str(exc)) from None
        except ValueError as exc:
            raise ApiError(409, "conflict", str(exc)) from None
        out = _person(session, new_id)
    _announce(ctx, background, assets)
    return out


@router.get("/assets/{asset_id}/faces", summary="The face strip: each person seen in the asset, with a face box")
def asset_faces(asset_id: int = AssetId, ctx: Context = Depends(context)) -> dict[str, Any]:
    with read_session(ctx.engine) as session:
        get_asset(session, asset_id)
        return {"asset_id": asset_id, "faces": face_strip(session, asset_id),
                "appearances": [a.as_dict() for a in appearances(session, asset_id=asset_id)]}
