"""Speakers: an asset's speakers, and naming a voice (the name follows the voice into every file)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from cogvlm_media.plain_text import refuse_controls
from cogvlm_media.server.common import ApiError, AssetId, Context, announce_change, context, get_asset
from cogvlm_media.store.engine import read_session, write_session
from cogvlm_media.store.speakers import SpeakerNotFound, asset_speakers, name_speaker

router = APIRouter(tags=["speakers"])


class SpeakerName(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(strict=True, min_length=1, max_length=200), AfterValidator(refuse_controls)]


@router.get("/assets/{asset_id}/speakers", summary="The asset's speakers: label, voice name, seconds, turns")
def list_speakers(asset_id: int = AssetId, ctx: Context = Depends(context)) -> dict[str, Any]:
    with read_session(ctx.engine) as session:
        get_asset(session, asset_id)
        return {"schema_version": 1, "asset_id": asset_id, "speakers": asset_speakers(session, asset_id)}


@router.put("/assets/{asset_id}/speakers/{label}", summary="Name this speaker's voice, in every file it speaks")
def put_speaker_name(label: str, body: SpeakerName, background: BackgroundTasks, asset_id: int = AssetId,
                     ctx: Context = Depends(context)) -> dict[str, Any]:
    if not body.name.strip():
        raise ApiError(422, "invalid", "name: must not be blank")
    with write_session(ctx.engine) as session:
        get_asset(session, asset_id)
        try:
            changed = name_speaker(session, asset_id, label, body.name, ctx.settings.analysis.speaker_match)
        except SpeakerNotFound as exc:
            raise ApiError(404, "not_found", str(exc)) from None
    for changed_id in changed:
        announce_change(ctx, background, changed_id)
    with read_session(ctx.engine) as session:
        return {"schema_version": 1, "asset_id": asset_id, "assets_changed": changed,
                "speakers": asset_speakers(session, asset_id)}
