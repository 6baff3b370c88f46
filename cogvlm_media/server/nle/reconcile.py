"""The NLE sync's reconciliation: markers as an NLE holds them now, against the stored ones and their
links. A change is stored as a new editor-verified marker replacing ours (kept as history), a new
marker is added, a marker whose NLE marker is gone is deleted: the marker edits of
:mod:`cogvlm_media.store.marker_edits`, as the review page and ``import-markers`` store them."""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import select

from cogvlm_media.server.common import MAX_ID, ApiError, checked_colour, checked_name, get_asset
from cogvlm_media.store.marker_edits import add_marker, delete_marker, replace_marker
from cogvlm_media.store.models import Asset, Marker
from cogvlm_media.store.nle_links import NleLink
from cogvlm_media.store.queries import live_successor
from cogvlm_media.plain_text import refuse_controls

Key = Annotated[str, Field(strict=True, min_length=1, max_length=255)]
Nle = Annotated[str, Field(strict=True, description="resolve or premiere")]
Frame = Annotated[int, Field(strict=True, ge=0, le=2**31)]


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


def _seconds(asset: Asset, frame: int) -> float:
    return float(Fraction(frame) * Fraction(asset.fps_den, asset.fps_num))


def live_marker(session, marker_id: int) -> Marker | None:
    return live_successor(session, session.get(Marker, marker_id))


def link_row(session, link: NleLink) -> dict[str, Any]:
    live = live_marker(session, link.marker_id)
    return {"nle_key": link.nle_key, "use_key": link.use_key, "asset_id": link.asset_id, "marker_id": link.marker_id,
            "live_marker_id": live.id if live is not None else None}


def sync_markers(session, body: SyncIn, editor_colour: str) -> tuple[list[dict[str, Any]], set[int]]:
    """Store what ``body`` says the NLE holds: one result per item (and per deletion), and the assets touched."""
    results: list[dict[str, Any]] = []
    touched: set[int] = set()
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
            old = live_marker(session, link.marker_id)
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
                             kind="editor", colour=colour or editor_colour)
            session.flush()
            session.add(NleLink(nle=body.nle, container=body.container, nle_key=item.nle_key,
                                use_key=item.use_key, asset_id=asset.id, marker_id=new.id))
            results.append({"nle_key": item.nle_key, "status": "added", "marker_id": new.id, "replaced_id": None})
        touched.add(asset.id)
    if body.present is not None:
        results += _deleted_in_nle(session, body, touched)
    return results, touched


def _deleted_in_nle(session, body: SyncIn, touched: set[int]) -> list[dict[str, Any]]:
    """Links of the container whose NLE marker is gone: the editor deleted it there, so the marker is
    deleted here (superseded without a successor, kept as history) and the link dropped. A marker still
    shown on another use of the same clip in the container stays, and so does the gone link (the next
    pull reads it as "deleted on the timeline; not added again")."""
    keep = set(body.present) | {item.nle_key for item in body.items}
    out = []
    rows = session.scalars(select(NleLink).where(NleLink.nle == body.nle, NleLink.container == body.container)).all()
    lives = {link.id: live_marker(session, link.marker_id) for link in rows}
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
