"""Stage 7: record one file's results. Everything for a file is written in the caller's single
transaction, so a file is either fully recorded or not at all.

Re-analysing an asset replaces the model's shots, windows, scenes, transcript and markers; markers
an editor verified (and their history) are kept.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cogvlm_media import records
from cogvlm_media.config import DEFAULT_COLOURS
from cogvlm_media.media.probe import MediaInfo
from cogvlm_media.store import models
from cogvlm_media.store.queries import asset_by_fingerprint, path_row
from cogvlm_media.store.speakers import clear_speakers, record_speakers


@dataclass(frozen=True)
class FileState:
    path: str
    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: str) -> "FileState":
        st = os.stat(path)
        return cls(path=path, size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino)


def attach_path(session: Session, asset: models.Asset, state: FileState) -> models.AssetPath:
    """Record that ``asset``'s content is at ``state.path`` (moving the path from another asset)."""
    row = path_row(session, state.path)
    now = models.utcnow()
    if row is None:
        row = models.AssetPath(path=state.path, size=state.size, mtime_ns=state.mtime_ns, inode=state.inode,
                          first_seen=now, last_seen=now)
        asset.paths.append(row)
    else:
        row.asset_id, row.size, row.mtime_ns, row.inode, row.last_seen = (
            asset.id, state.size, state.mtime_ns, state.inode, now)
    session.flush()
    return row


def _media_columns(media: MediaInfo) -> dict:
    return dict(size=media.size, duration=media.duration, fps_num=media.fps_num, fps_den=media.fps_den,
                frame_count=media.frame_count, width=media.width, height=media.height, rotation=media.rotation,
                start_timecode=media.start_timecode, has_audio=media.has_audio,
                variable_frame_rate=media.variable_frame_rate, video_codec=media.video_codec[:32],
                container=media.container[:64], audio_channels=media.audio_channels,
                audio_sample_rate=media.audio_sample_rate, audio_bits=media.audio_bits,
                pixel_aspect_num=media.pixel_aspect_num, pixel_aspect_den=media.pixel_aspect_den)


def _clear_analysis(session: Session, asset_id: int) -> None:
    kept = select(models.Marker.id).where(models.Marker.asset_id == asset_id,
                                     (models.Marker.verified.is_(True)) | (models.Marker.source == "editor"))
    # history rows that verified markers point at are kept too
    history = select(models.Marker.replaces_id).where(models.Marker.asset_id == asset_id, models.Marker.replaces_id.is_not(None),
                                                 models.Marker.id.in_(kept))
    session.execute(update(models.Marker).where(models.Marker.asset_id == asset_id).values(scene_id=None))
    session.execute(delete(models.Marker).where(models.Marker.asset_id == asset_id, models.Marker.id.not_in(kept),
                                           models.Marker.id.not_in(history)))
    for table in (models.Scene, models.Window, models.Shot, models.TranscriptSegment, models.TextEvent):
        session.execute(delete(table).where(table.asset_id == asset_id))
    clear_speakers(session, asset_id)


def record_analysis(session: Session, *, state: FileState, fingerprint: str, media: MediaInfo,
                    shots: list[records.Shot], transcript: records.Transcript | None, windows: list[records.Window],
                    analysis: records.Analysis, colours: dict[str, str] | None = None,
                    speakers: records.Diarization | None = None, speaker_match: float = 0.25,
                    text: records.TextResult | None = None) -> models.Asset:
    colours = {**DEFAULT_COLOURS, **(colours or {})}
    asset = asset_by_fingerprint(session, fingerprint)
    columns = _media_columns(media) | dict(
        analyser=analysis.analyser, analyser_version=analysis.analyser_version,
        model_version=analysis.model_version, transcript_language=transcript.language if transcript else None,
        analysed_at=models.utcnow())
    if asset is None:
        asset = models.Asset(fingerprint=fingerprint, **columns)
        session.add(asset)
        session.flush()
    else:
        for key, value in columns.items():
            setattr(asset, key, value)
        _clear_analysis(session, asset.id)
        session.flush()
    attach_path(session, asset, state)

    session.add_all(models.Shot(asset_id=asset.id, index=s.index, start_frame=s.start_frame, end_frame=s.end_frame,
                           start=s.start, end=s.end, transition=s.transition, confidence=s.confidence)
                    for s in shots)
    captions = {c.window_index: c for c in analysis.captions}
    session.add_all(models.Window(asset_id=asset.id, index=w.index, start=w.start, end=w.end,
                             first_frame=w.first_frame, last_frame=w.last_frame,
                             frame_indices=list(w.frame_indices), frame_times=list(w.frame_times),
                             caption=captions[w.index].text if w.index in captions else None,
                             caption_source=captions[w.index].source if w.index in captions else None)
                    for w in windows)
    shown = record_speakers(session, asset.id, speakers, speaker_match)
    if transcript:
        session.add_all(models.TranscriptSegment(
            asset_id=asset.id, index=seg.index, start=seg.start, end=seg.end, text=seg.text.strip(),
            words=[[w.text, w.start, w.end, w.probability] for w in seg.words],
            speaker=shown.get(seg.speaker, seg.speaker) if seg.speaker else None, speaker_label=seg.speaker)
            for seg in transcript.segments)
    for scene in analysis.scenes:
        row = models.Scene(asset_id=asset.id, index=scene.index, start=scene.start, end=scene.end, title=scene.title,
                      summary=scene.summary, source=analysis.analyser)
        session.add(row)
        session.flush()
        session.add(models.Marker(asset_id=asset.id, scene_id=row.id, time=scene.start,
                             duration=scene.end - scene.start, name=scene.title, note=scene.summary,
                             kind="scene", colour=colours.get("scene", "BLUE"), source=analysis.analyser))
    session.add_all(models.Marker(asset_id=asset.id, time=k.time, duration=k.duration, name=k.name, note=k.note,
                             kind=k.kind, colour=colours.get(k.kind, "YELLOW"), source=analysis.analyser)
                    for k in analysis.moments)
    if text is not None:
        _record_text(session, asset.id, text, colours.get("text", "CYAN"))
    session.flush()
    return asset


def _record_text(session: Session, asset_id: int, text: records.TextResult, colour: str) -> None:
    """Text events; slates, lower thirds and title cards are also markers of kind ``text`` (named by the
    text, noted with the class). Unclassified text (a running clock, a sign) stays in ``text_events``."""
    for ev in text.events:
        x, y, w, h = ev.box
        session.add(models.TextEvent(asset_id=asset_id, index=ev.index, start=ev.start, end=ev.end, text=ev.text,
                                     category=ev.category, x=x, y=y, width=w, height=h, confidence=ev.confidence,
                                     model_version=text.model_version[:128]))
        if ev.category != "text":
            session.add(models.Marker(asset_id=asset_id, time=ev.start, duration=max(0.0, ev.end - ev.start),
                                      name=ev.text,
                                      note=f"{records.TEXT_LABELS.get(ev.category, ev.category)} (on-screen text)",
                                      kind="text", colour=colour, source="text"))
