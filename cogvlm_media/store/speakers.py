"""Speakers in the store: each asset's speakers (label, voice embedding) and turns, and the voices an
editor named, which carry their name to every file whose speaker sounds the same.

A voice is named through one asset's speaker (``name_speaker``): the voice takes that speaker's
embedding, and every speaker in the archive within ``match`` cosine distance of it (and not named
otherwise) takes the name too. A file ingested later is matched the same way (``record_speakers``).
What is shown (``TranscriptSegment.speaker``) is the voice's name, else the file's own label.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from cogvlm_media import records
from cogvlm_media.store.models import Base, TranscriptSegment, utcnow


class Voice(Base):
    """A voice the editor named."""

    __tablename__ = "voices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    embedding: Mapped[list[float]] = mapped_column(JSON)
    model_version: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AssetSpeaker(Base):
    __tablename__ = "asset_speakers"
    __table_args__ = (UniqueConstraint("asset_id", "label"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(32))
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    embedding: Mapped[list[float]] = mapped_column(JSON)
    model_version: Mapped[str] = mapped_column(String(64), default="")
    voice_id: Mapped[int | None] = mapped_column(ForeignKey("voices.id", ondelete="SET NULL"), index=True)


class SpeakerTurnRow(Base):
    __tablename__ = "speaker_turns"
    __table_args__ = (UniqueConstraint("asset_id", "index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(32))


class SpeakerNotFound(LookupError):
    pass


def _distance(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(1.0 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def _closest_voice(voices: list[Voice], embedding, model_version: str, match: float) -> Voice | None:
    scored = [(_distance(v.embedding, embedding), v.id, v) for v in voices
              if not v.model_version or not model_version or v.model_version == model_version]
    best = min(scored, default=None, key=lambda t: t[:2])
    return best[2] if best and best[0] <= match else None


def clear_speakers(session: Session, asset_id: int) -> None:
    from sqlalchemy import delete

    for table in (AssetSpeaker, SpeakerTurnRow):
        session.execute(delete(table).where(table.asset_id == asset_id))


def record_speakers(session: Session, asset_id: int, diarization: records.Diarization | None,
                    match: float) -> dict[str, str]:
    """Store the file's speakers and turns; {label: shown name} (a named voice's name where one matches)."""
    if diarization is None:
        return {}
    voices = list(session.scalars(select(Voice)))
    shown: dict[str, str] = {}
    for spk in diarization.speakers:
        voice = _closest_voice(voices, spk.embedding, diarization.model_version, match)
        session.add(AssetSpeaker(asset_id=asset_id, label=spk.label, seconds=spk.seconds,
                                 embedding=list(spk.embedding), model_version=diarization.model_version,
                                 voice_id=voice.id if voice else None))
        shown[spk.label] = voice.name if voice else spk.label
    session.add_all(SpeakerTurnRow(asset_id=asset_id, index=i, start=t.start, end=t.end, label=t.speaker)
                    for i, t in enumerate(diarization.turns))
    return shown


def _show(session: Session, speaker: AssetSpeaker, name: str | None) -> None:
    session.execute(update(TranscriptSegment)
                    .where(TranscriptSegment.asset_id == speaker.asset_id,
                           TranscriptSegment.speaker_label == speaker.label)
                    .values(speaker=name or speaker.label))


def name_speaker(session: Session, asset_id: int, label: str, name: str, match: float) -> list[int]:
    """Name the voice of ``label`` in ``asset_id``; returns the ids of every asset whose speakers now show it.

    The name's voice (new, or the existing one of that name) takes this speaker's embedding; unnamed
    speakers of other files within ``match`` take the name as well.
    """
    name = name.strip()
    if not name:
        raise ValueError("a speaker's name cannot be empty")
    speaker = session.scalars(select(AssetSpeaker).where(AssetSpeaker.asset_id == asset_id,
                                                         AssetSpeaker.label == label)).first()
    if speaker is None:
        known = ", ".join(session.scalars(select(AssetSpeaker.label).where(AssetSpeaker.asset_id == asset_id)
                                          .order_by(AssetSpeaker.label))) or "none"
        raise SpeakerNotFound(f"asset {asset_id} has no speaker {label!r} (its speakers: {known})")
    voice = session.scalars(select(Voice).where(Voice.name == name)).first()
    if voice is None:
        voice = Voice(name=name, embedding=list(speaker.embedding), model_version=speaker.model_version)
        session.add(voice)
        session.flush()
    else:
        voice.embedding, voice.model_version = list(speaker.embedding), speaker.model_version
    changed = {asset_id}
    speaker.voice_id = voice.id
    _show(session, speaker, name)
    for other in session.scalars(select(AssetSpeaker).where(AssetSpeaker.voice_id.is_(None))):
        if (other.model_version == speaker.model_version
                and _distance(other.embedding, voice.embedding) <= match):
            other.voice_id = voice.id
            _show(session, other, name)
            changed.add(other.asset_id)
    session.flush()
    return sorted(changed)


def rename_voice(session: Session, old: str, new: str) -> list[int]:
    """Rename the voice called ``old`` to ``new`` in every file where it speaks (``name`` instead corrects
    which voice one file's speaker is). Returns the ids of the assets whose speakers show the new name.
    An existing voice called ``new`` is an error: two voices cannot share a name."""
    old, new = old.strip(), new.strip()
    if not new:
        raise ValueError("a speaker's name cannot be empty")
    voice = session.scalars(select(Voice).where(Voice.name == old)).first()
    if voice is None:
        known = ", ".join(repr(n) for n in session.scalars(select(Voice.name).order_by(Voice.name))) or "none"
        raise SpeakerNotFound(f"no voice is named {old!r} (named voices: {known})")
    if new != old and session.scalars(select(Voice.id).where(Voice.name == new)).first() is not None:
        raise ValueError(f"a voice is already named {new!r}; name that file's speaker instead to join it")
    voice.name = new
    changed = set()
    for speaker in session.scalars(select(AssetSpeaker).where(AssetSpeaker.voice_id == voice.id)):
        _show(session, speaker, new)
        changed.add(speaker.asset_id)
    session.flush()
    return sorted(changed)


def asset_speakers(session: Session, asset_id: int) -> list[dict]:
    """The asset's speakers: label, shown name, seconds spoken and number of turns."""
    names = dict(session.execute(select(Voice.id, Voice.name)).all())
    turns: dict[str, int] = {}
    for label in session.scalars(select(SpeakerTurnRow.label).where(SpeakerTurnRow.asset_id == asset_id)):
        turns[label] = turns.get(label, 0) + 1
    rows = session.scalars(select(AssetSpeaker).where(AssetSpeaker.asset_id == asset_id).order_by(AssetSpeaker.id))
    return [{"label": s.label, "name": names.get(s.voice_id) if s.voice_id else None, "seconds": s.seconds,
             "turns": turns.get(s.label, 0), "model_version": s.model_version} for s in rows]


def speaker_turns(session: Session, asset_id: int) -> list[tuple[float, float, str]]:
    """(start, end, shown name: the voice's name, else the file's label) of every turn, in time order."""
    return [(t["start"], t["end"], t["name"] or t["label"]) for t in named_turns(session, asset_id)]


def named_turns(session: Session, asset_id: int) -> list[dict]:
    """Every turn of the asset, in time order: ``label`` (the file's own), ``name`` (the voice's, null
    until an editor names it), ``start``, ``end`` (seconds from the file's first frame)."""
    names = {s["label"]: s["name"] for s in asset_speakers(session, asset_id)}
    rows = session.execute(select(SpeakerTurnRow.start, SpeakerTurnRow.end, SpeakerTurnRow.label)
                           .where(SpeakerTurnRow.asset_id == asset_id).order_by(SpeakerTurnRow.index))
    return [{"label": label, "name": names.get(label), "start": a, "end": b} for a, b, label in rows]


def turns_of(session: Session, speaker: str, asset_ids: list[int] | None = None) -> dict[int, list[tuple[float, float]]]:
    """Where ``speaker`` (a voice's name or a file's label, case-insensitive) speaks: {asset_id: [(start, end)]}."""
    want = speaker.strip().casefold()
    names = {vid: n for vid, n in session.execute(select(Voice.id, Voice.name))}
    query = select(AssetSpeaker.asset_id, AssetSpeaker.label, AssetSpeaker.voice_id)
    if asset_ids:
        query = query.where(AssetSpeaker.asset_id.in_(asset_ids))
    chosen = {(aid, label) for aid, label, vid in session.execute(query)
              if (names.get(vid) if vid else label).casefold() == want}
    out: dict[int, list[tuple[float, float]]] = {}
    if not chosen:
        return out
    rows = session.execute(select(SpeakerTurnRow.asset_id, SpeakerTurnRow.label, SpeakerTurnRow.start,
                                  SpeakerTurnRow.end).where(SpeakerTurnRow.asset_id.in_({a for a, _ in chosen}))
                           .order_by(SpeakerTurnRow.asset_id, SpeakerTurnRow.index))
    for aid, label, start, end in rows:
        if (aid, label) in chosen:
            out.setdefault(aid, []).append((start, end))
    return out
