"""Read-side queries, live markers on an asset's frame grid (:func:`marks_for`, what exports, imports and the
NLE routes compare) and the `show --json` document (a versioned contract, see README)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cogvlm_media.media.timecode import Clock, is_drop_frame_rate
from cogvlm_media.store.models import Asset, AssetPath, Marker, Scene
from cogvlm_media.plain_text import one_line, strip_controls

SCHEMA_VERSION = 1
KINDS = ("scene", "speech", "moment", "editor", "person", "text")  # marker kinds


class AssetNotFound(LookupError):
    pass


def asset_by_fingerprint(session: Session, key: str) -> Asset | None:
    return session.scalars(select(Asset).where(Asset.fingerprint == key)).first()


def path_row(session: Session, path: str) -> AssetPath | None:
    """The record of a normalised absolute path seen at ingest, if any."""
    return session.scalars(select(AssetPath).where(AssetPath.path == path)).first()


def find_asset(session: Session, ref: str | int) -> Asset:
    """An asset by integer id, by a path it was ingested from, or by the content of a file on disk."""
    text = str(ref).strip()
    if text.isdigit():
        asset = session.get(Asset, int(text))
        if asset is not None:
            return asset
    path = os.path.normpath(os.path.abspath(os.path.expanduser(text)))
    row = path_row(session, path)
    if row is not None:
        return row.asset
    if os.path.isfile(path):
        from cogvlm_media.media.fingerprint import fingerprint

        asset = asset_by_fingerprint(session, fingerprint(path))
        if asset is not None:
            return asset
    raise AssetNotFound(f"no ingested asset matches {text!r} (use an id from `cogvlm-media list` or an ingested path)")


def list_assets(session: Session) -> list[tuple[Asset, int, int]]:
    """Every asset with its live marker and scene counts, newest first."""
    markers = (select(Marker.asset_id, func.count().label("n")).where(Marker.superseded.is_(False))
               .group_by(Marker.asset_id).subquery())
    scenes = select(Scene.asset_id, func.count().label("n")).group_by(Scene.asset_id).subquery()
    rows = session.execute(
        select(Asset, func.coalesce(markers.c.n, 0), func.coalesce(scenes.c.n, 0))
        .outerjoin(markers, markers.c.asset_id == Asset.id).outerjoin(scenes, scenes.c.asset_id == Asset.id)
        .order_by(Asset.id.desc()))
    return [(a, int(nm), int(ns)) for a, nm, ns in rows]


def clock_for(asset: Asset) -> Clock:
    return Clock.for_media(asset.fps_num, asset.fps_den, asset.start_timecode)


def live_successor(session: Session, marker: Marker | None, rows: Iterable[Marker] | None = None) -> Marker | None:
    """The live marker that ``marker`` became: itself if live, else the end of its ``replaces_id`` chain
    (None when an editor deleted it along the way). With ``rows`` (markers already loaded, e.g. one
    asset's), the chain is followed through those only, without a query."""
    loaded = None if rows is None else list(rows)
    current, seen = marker, set()
    while current is not None and current.superseded and current.id not in seen:
        seen.add(current.id)
        if loaded is None:
            current = session.scalars(select(Marker).where(Marker.replaces_id == current.id)).first()
        else:
            current = next((r for r in loaded if r.replaces_id == current.id), None)
    return current if current is not None and not current.superseded else None


def live_markers(asset: Asset) -> list[Marker]:
    return [mk for mk in asset.markers if not mk.superseded]


@dataclass(frozen=True)
class Mark:
    """One marker on an asset's frame grid."""

    ids: tuple[int, ...]
    frame: int  # from the file's first frame
    frames: int  # duration in frames, 0 for a point marker
    name: str
    note: str
    kind: str
    colour: str
    source: str = ""
    verified: bool = False
    scene_id: int | None = None

    @property
    def id(self) -> int | None:
        return self.ids[0] if self.ids else None


def marks_for(asset: Asset, kinds: tuple[str, ...] = KINDS) -> list[Mark]:
    """Live markers of the given kinds, snapped to frames, verified ones first at equal times."""
    rate = Fraction(asset.fps_num, asset.fps_den)
    last = max(asset.frame_count - 1, 0)
    out = []
    for mk in live_markers(asset):
        if mk.kind not in kinds:
            continue
        start = min(max(int(round(Fraction(mk.time).limit_denominator(10**9) * rate)), 0), last)
        end = int(round(Fraction(mk.time + (mk.duration or 0)).limit_denominator(10**9) * rate))
        frames = max(0, min(end, asset.frame_count) - start) if mk.duration else 0
        out.append(Mark(ids=(mk.id,), frame=start, frames=frames, name=one_line(mk.name or ""),
                        note=strip_controls(mk.note or ""),
                        kind=mk.kind, colour=(mk.colour or "YELLOW").upper(), source=mk.source,
                        verified=bool(mk.verified), scene_id=mk.scene_id))
    out.sort(key=lambda k: (k.frame, not k.verified, k.kind != "scene", k.id or 0))
    return out


def _marker(mk: Marker, clock: Clock) -> dict[str, Any]:
    return {"id": mk.id, "time": mk.time, "duration": mk.duration, "frame": clock.frame(mk.time),
            "timecode": clock.timecode(mk.time), "name": mk.name, "note": mk.note, "kind": mk.kind,
            "colour": mk.colour, "source": mk.source, "verified": mk.verified, "scene_id": mk.scene_id,
            "replaces_id": mk.replaces_id, "revision": mk.revision}


def asset_document(asset: Asset) -> dict[str, Any]:
    """Everything stored about one asset. Times are seconds from the first frame; timecodes start
    at the file's start timecode (00:00:00:00 when it has none)."""
    clock = clock_for(asset)

    def span(start: float, end: float) -> dict[str, Any]:
        return {"start": start, "end": end, "start_tc": clock.timecode(start), "end_tc": clock.timecode(end)}

    scene_markers = {mk.scene_id: mk.id for mk in asset.markers if mk.scene_id is not None}
    return {
        "schema_version": SCHEMA_VERSION,
        "asset": {
            "id": asset.id, "fingerprint": asset.fingerprint, "paths": [p.path for p in asset.paths],
            "size": asset.size, "duration": asset.duration,
            "fps": {"num": asset.fps_num, "den": asset.fps_den, "value": asset.fps_num / asset.fps_den},
            "frame_count": asset.frame_count, "width": asset.width, "height": asset.height,
            "rotation": asset.rotation, "start_timecode": asset.start_timecode,
            "drop_frame": clock.drop_frame, "drop_frame_rate": is_drop_frame_rate(clock.rate),
            "has_audio": asset.has_audio,
            "variable_frame_rate": asset.variable_frame_rate, "video_codec": asset.video_codec,
            "analyser": asset.analyser, "analyser_version": asset.analyser_version,
            "model_version": asset.model_version,
            "analysed_at": asset.analysed_at.isoformat() if asset.analysed_at else None,
        },
        "shots": [{"id": s.id, "index": s.index, **span(s.start, s.end), "start_frame": s.start_frame,
                   "end_frame": s.end_frame, "transition": s.transition, "confidence": s.confidence}
                  for s in asset.shots],
        "windows": [{"id": w.id, "index": w.index, **span(w.start, w.end), "first_frame": w.first_frame,
                     "last_frame": w.last_frame, "frame_indices": list(w.frame_indices),
                     "frame_times": list(w.frame_times), "caption": w.caption, "caption_source": w.caption_source}
                    for w in asset.windows],
        "scenes": [{"id": sc.id, "index": sc.index, **span(sc.start, sc.end), "title": sc.title,
                    "summary": sc.summary, "source": sc.source, "marker_id": scene_markers.get(sc.id)}
                   for sc in asset.scenes],
        "markers": [_marker(mk, clock) for mk in live_markers(asset)],
        "history": [_marker(mk, clock) for mk in asset.markers if mk.superseded],
        "text_events": [{"id": t.id, "index": t.index, **span(t.start, t.end), "text": t.text,
                         "category": t.category, "box": [t.x, t.y, t.width, t.height],
                         "confidence": t.confidence, "model_version": t.model_version}
                        for t in asset.text_events],
        "transcript": {
            "language": asset.transcript_language,
            "segments": [{"id": seg.id, "index": seg.index, **span(seg.start, seg.end), "text": seg.text,
                          "speaker": seg.speaker, "words": [{"text": w[0], "start": w[1], "end": w[2], "probability": w[3]}
                                    for w in seg.words]}
                         for seg in asset.segments],
        },
        **_speakers(asset, span),
    }


def _speakers(asset: Asset, span) -> dict[str, Any]:
    """The asset's speakers (label, editor's name, seconds, turns) and speaker turns (shown name)."""
    from sqlalchemy.orm import object_session

    from cogvlm_media.store.speakers import asset_speakers, speaker_turns

    session = object_session(asset)
    if session is None or asset.id is None:
        return {"speakers": [], "speaker_turns": []}
    return {"speakers": asset_speakers(session, asset.id),
            "speaker_turns": [{**span(a, b), "speaker": who} for a, b, who in speaker_turns(session, asset.id)]}
