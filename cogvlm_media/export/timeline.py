"""Assets → an export plan (frames on one timeline) → an OpenTimelineIO timeline.

Every exporter starts from :func:`plan`: each asset becomes one clip placed end to end on a timeline
that starts at the record start timecode; each live marker becomes a :class:`Mark` snapped to the
asset's frame grid (frame 0 = the file's first frame). The one colour table maps OpenTimelineIO colour
names to DaVinci Resolve's marker colours and Premiere Pro's colour indices.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
from opentimelineio import opentime
from sqlalchemy.orm import object_session

from cogvlm_media.media.timecode import is_drop_frame_rate, parse_timecode
from cogvlm_media.media.timecode import label as timecode_label
from cogvlm_media.store.models import Asset
from cogvlm_media.store.people_queries import appearance_spans
from cogvlm_media.store.speakers import named_turns
from cogvlm_media.store.queries import KINDS, Mark, marks_for  # noqa: F401 (exporters read them from here)
from cogvlm_media.store.fspath import shown
from cogvlm_media.plain_text import one_line

NAMESPACE = "cogvlm_media"

# OTIO colour -> (DaVinci Resolve marker colour, Premiere Pro marker colour index for setColorByIndex)
COLOURS: dict[str, tuple[str, int]] = {
    "RED": ("Red", 1), "PINK": ("Pink", 1), "ORANGE": ("Sand", 3), "YELLOW": ("Yellow", 4),
    "GREEN": ("Green", 0), "CYAN": ("Cyan", 7), "BLUE": ("Blue", 6), "PURPLE": ("Purple", 2),
    "MAGENTA": ("Fuchsia", 2), "BLACK": ("Cocoa", 5), "WHITE": ("Cream", 5),
}
# Resolve colours without an OTIO twin, read back to their nearest OTIO colour.
RESOLVE_EXTRA = {"Rose": "PINK", "Lavender": "PURPLE", "Sky": "CYAN", "Mint": "GREEN", "Lemon": "YELLOW"}

TAG_RE = re.compile(r"\s*\[cm:(\d+(?:,\d+)*)\]")


class ExportError(ValueError):
    """The export cannot be made; the message is one line for the user."""


def resolve_colour(colour: str) -> str:
    return COLOURS.get((colour or "").upper(), COLOURS["YELLOW"])[0]


def premiere_colour_index(colour: str) -> int:
    return COLOURS.get((colour or "").upper(), COLOURS["YELLOW"])[1]


def otio_colour_from_resolve(name: str) -> str | None:
    name = name.strip().removeprefix("ResolveColor")
    for key, (resolve, _) in COLOURS.items():
        if resolve.lower() == name.lower():
            return key
    return RESOLVE_EXTRA.get(name.capitalize())


def id_tag(ids: tuple[int, ...]) -> str:
    """The short id tag appended to notes and comments that NLEs keep, e.g. ``[cm:12]``."""
    return f"[cm:{','.join(str(i) for i in ids)}]" if ids else ""


def split_tag(text: str) -> tuple[str, tuple[int, ...]]:
    """(text without the id tag, ids in the tag)."""
    found = TAG_RE.search(text or "")
    if not found:
        return text or "", ()
    ids = tuple(int(v) for v in found.group(1).split(","))
    return (text[:found.start()] + text[found.end():]).strip(), ids


def tagged(note: str, ids: tuple[int, ...]) -> str:
    tag = id_tag(ids)
    return f"{note} {tag}".strip() if note else tag


@dataclass(frozen=True)
class Cue:
    """One transcript segment, for subtitles: seconds from the file's first frame."""

    start: float
    end: float
    text: str
    speaker: str | None = None  # a speaker label, when diarization gave one
    words: tuple[tuple, ...] = ()  # (text, start, end, probability) per word


def cues_of(asset: Asset) -> list[Cue]:
    return [Cue(seg.start, seg.end, seg.text, getattr(seg, "speaker", None) or None,
                tuple(tuple(w) for w in (seg.words or ()))) for seg in asset.segments]


@dataclass
class Placement:
    """One asset as a clip: where its media starts (source timecode) and where it sits on the timeline."""

    asset_id: int
    path: str
    name: str
    rate: Fraction
    frame_count: int
    source_start: int  # frame number of the file's start timecode (0 without one)
    source_drop: bool
    record_offset: int  # frames from the timeline's start to the clip's first frame
    marks: list[Mark]
    width: int = 0
    height: int = 0
    has_audio: bool = False
    # as stored (None in rows from before migration 0011; see media_details.py for what stands in)
    audio_channels: int | None = None
    audio_sample_rate: int | None = None
    audio_bits: int | None = None
    pixel_aspect: Fraction | None = None
    cues: list[Cue] = field(default_factory=list)  # the transcript, for subtitle formats
    # who is seen and who speaks (seconds from the file's first frame), carried as metadata:
    # {person_id, name (null until named), start, end} and {label, name (null until named), start, end}
    appearances: list[dict] = field(default_factory=list)
    speaker_turns: list[dict] = field(default_factory=list)


@dataclass
class Plan:
    name: str
    rate: Fraction
    record_start: int  # frame number of the timeline's start timecode
    record_drop: bool
    clips: list[Placement]
    kinds: tuple[str, ...]
    notes: list[str] = field(default_factory=list)  # what collision handling changed, for the user

    def label(self, frame: int, drop: bool | None = None) -> str:
        return timecode_label(frame, self.rate, self.record_drop if drop is None else drop)


def check_timecode(text: str, rate: Fraction) -> int:
    """The frame number of a strictly written timecode label, or ExportError."""
    if not re.fullmatch(r"\d{2}:[0-5]\d:[0-5]\d[:;.]\d{2,3}", text.strip()):
        raise ExportError(f"not a timecode: {text!r} (expected HH:MM:SS:FF, or HH:MM:SS;FF for drop-frame)")
    nominal = round(float(rate))
    if int(text.strip()[9:]) >= nominal:
        raise ExportError(f"not a timecode at {float(rate):.3f} fps: {text!r} (frames must be below {nominal})")
    try:
        return parse_timecode(text, rate)
    except ValueError as exc:
        raise ExportError(str(exc)) from None


def _drop(text: str | None, rate: Fraction) -> bool:
    return bool(text and ";" in text) and is_drop_frame_rate(rate)


def people_and_speakers(asset: Asset) -> tuple[list[dict], list[dict]]:
    """The asset's appearances and speaker turns, read through the session that holds it (none without one)."""
    session = object_session(asset)
    if session is None or asset.id is None:
        return [], []
    return appearance_spans(session, asset.id), named_turns(session, asset.id)


def placement(asset: Asset, kinds: tuple[str, ...], record_offset: int = 0) -> Placement:
    rate = Fraction(asset.fps_num, asset.fps_den)
    source_start = 0
    if asset.start_timecode:
        try:
            source_start = parse_timecode(asset.start_timecode, rate)
        except ValueError:
            source_start = 0
    path = asset.paths[-1].path if asset.paths else f"asset-{asset.id}"
    appearances, turns = people_and_speakers(asset)
    return Placement(asset_id=asset.id, path=path, name=one_line(shown(Path(path).name)), rate=rate,
                     frame_count=asset.frame_count, source_start=source_start,
                     source_drop=_drop(asset.start_timecode, rate), record_offset=record_offset,
                     marks=marks_for(asset, kinds), width=asset.width or 0, height=asset.height or 0,
                     has_audio=bool(asset.has_audio), audio_channels=asset.audio_channels,
                     audio_sample_rate=asset.audio_sample_rate, audio_bits=asset.audio_bits,
                     pixel_aspect=Fraction(asset.pixel_aspect_num, asset.pixel_aspect_den)
                     if asset.pixel_aspect_num and asset.pixel_aspect_den else None,
                     cues=cues_of(asset), appearances=appearances, speaker_turns=turns)


def plan(assets: list[Asset], *, kinds: tuple[str, ...] = KINDS, start_tc: str | None = None,
         default_start_tc: str = "01:00:00:00", name: str | None = None) -> Plan:
    """One timeline for ``assets`` placed end to end. The timeline starts at ``start_tc`` when given,
    else at the first file's own start timecode, else at ``default_start_tc``."""
    if not assets:
        raise ExportError("no assets to export")
    rate = Fraction(assets[0].fps_num, assets[0].fps_den)
    if any(Fraction(a.fps_num, a.fps_den) != rate for a in assets):
        raise ExportError("the assets have different frame rates; export them one file each (--split)")
    label = start_tc or assets[0].start_timecode or default_start_tc
    record_start = check_timecode(label, rate)
    clips, offset = [], 0
    for asset in assets:
        clips.append(placement(asset, kinds, offset))
        offset += asset.frame_count
    title = name or (clips[0].name if len(clips) == 1 else f"cogvlm-media {len(clips)} assets")
    return Plan(name=title, rate=rate, record_start=record_start, record_drop=_drop(label, rate),
                clips=clips, kinds=tuple(kinds))


def with_marks(p: Plan, marks: list[list[Mark]], notes: list[str]) -> Plan:
    return replace(p, clips=[replace(c, marks=mk) for c, mk in zip(p.clips, marks)], notes=p.notes + notes)


def file_url(path: str) -> str:
    return Path(os.path.abspath(path)).as_uri()


def to_otio(p: Plan, *, relative_clip_markers: bool = False, sequence_markers: bool = False,
            comments_in: str | None = None, audio: bool = True) -> otio.schema.Timeline:
    """The plan as an OTIO timeline: one video track, one clip per asset, markers on the clips (in the
    clip's media time, i.e. from its source start timecode) with a ``cogvlm_media`` metadata namespace.
    The video clip's own ``cogvlm_media`` metadata holds its asset id, appearances and speaker turns.
    With ``audio`` and any asset with sound, an ``A1`` audio track holds the same clips (no markers),
    with a gap where a file has no audio.

    ``relative_clip_markers`` counts clip markers from the media's first frame (FCP 7 XML's convention);
    ``sequence_markers`` repeats every marker on the stack in timeline time; ``comments_in`` names an
    adapter metadata namespace that should carry the note as ``comment`` (with the id tag).
    """
    rate = float(p.rate)
    tl = otio.schema.Timeline(name=p.name, global_start_time=opentime.RationalTime(p.record_start, rate))
    tl.metadata[NAMESPACE] = {"kinds": list(p.kinds), "assets": [c.asset_id for c in p.clips]}
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    tl.tracks.append(track)
    for c in p.clips:
        available = opentime.TimeRange(opentime.RationalTime(c.source_start, rate),
                                       opentime.RationalTime(c.frame_count, rate))
        ref = otio.schema.ExternalReference(target_url=file_url(c.path), available_range=available)
        clip = otio.schema.Clip(name=c.name, media_reference=ref, source_range=available)
        clip.metadata[NAMESPACE] = {"asset_id": c.asset_id, "appearances": [dict(a) for a in c.appearances],
                                    "speaker_turns": [dict(t) for t in c.speaker_turns]}
        base = 0 if relative_clip_markers else c.source_start
        for mk in c.marks:
            clip.markers.append(_marker(mk, base + mk.frame, rate, comments_in))
            if sequence_markers:
                tl.tracks.markers.append(_marker(mk, c.record_offset + mk.frame, rate, comments_in))
        track.append(clip)
    if audio and any(c.has_audio for c in p.clips):
        sound = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
        for c, video in zip(p.clips, track):
            if not c.has_audio:
                sound.append(otio.schema.Gap(duration=opentime.RationalTime(c.frame_count, rate)))
                continue
            ref = otio.schema.ExternalReference(target_url=video.media_reference.target_url,
                                                available_range=video.media_reference.available_range)
            clip = otio.schema.Clip(name=c.name, media_reference=ref, source_range=video.source_range)
            clip.metadata[NAMESPACE] = {"asset_id": c.asset_id}
            sound.append(clip)
        tl.tracks.append(sound)
    return tl


def _marker(mk: Mark, frame: int, rate: float, comments_in: str | None) -> otio.schema.Marker:
    meta = {NAMESPACE: {"id": mk.id, "ids": list(mk.ids), "kind": mk.kind, "source": mk.source,
                        "verified": mk.verified, "scene_id": mk.scene_id,
                        "resolve_color": resolve_colour(mk.colour),
                        "premiere_color_index": premiere_colour_index(mk.colour)}}
    if comments_in:
        meta[comments_in] = {"comment": tagged(mk.note, mk.ids)}
    return otio.schema.Marker(
        name=mk.name, color=mk.colour, comment=mk.note, metadata=meta,
        marked_range=opentime.TimeRange(opentime.RationalTime(frame, rate), opentime.RationalTime(mk.frames, rate)))
