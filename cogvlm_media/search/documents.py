"""What is searchable, read from the database (the source of truth).

One document per live marker (scenes, speech, key moments, editor notes, on-screen text events,
people's appearances: name and note), per captioned analysis window and per transcript segment (the
name an editor gave its voice, then what is said). A document's key packs the table and the row
id into one integer (``source << 40 | id``) so that every index can name it without a lookup table.
Superseded markers are left out; verified markers carry ``verified`` so ranking can prefer them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cogvlm_media.store.models import Asset, Marker, TranscriptSegment, Window

MARKER, WINDOW, SEGMENT = 1, 2, 3
SOURCES = {MARKER: "marker", WINDOW: "window", SEGMENT: "segment"}
KEY_SHIFT = 40
# Searchable kinds: marker kinds, plus "caption" (window captions) and "transcript" (speech); "person"
# markers are the appearances of a person (named or "Person N"); "text" markers are on-screen text.
KINDS = ("scene", "speech", "moment", "editor", "caption", "transcript", "person", "text")
KIND_CODES = {k: i for i, k in enumerate(KINDS)}


def make_key(source: int, row_id: int) -> int:
    return (source << KEY_SHIFT) | row_id


def split_key(key: int) -> tuple[str, int]:
    return SOURCES[key >> KEY_SHIFT], key & ((1 << KEY_SHIFT) - 1)


def digest(text: str) -> int:
    """A 63-bit fingerprint of a document's text: lets the consistency check compare contents."""
    return int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:8], "little") >> 1


@dataclass(frozen=True)
class Document:
    key: int
    asset_id: int
    kind: str
    start: float
    end: float
    text: str
    verified: bool = False

    @property
    def source(self) -> str:
        return split_key(self.key)[0]

    @property
    def row_id(self) -> int:
        return split_key(self.key)[1]

    @property
    def digest(self) -> int:
        return digest(self.text)


def marker_text(name: str, note: str) -> str:
    """What a marker is found by and shown as: its name and note, once each. A name that is the note's
    opening words (older archives named speech markers by their first words, cut with "…") adds nothing."""
    name, note = (name or "").strip(), (note or "").strip()
    if not note or note == name:
        return name
    if not name or note.startswith(name.removesuffix("…").rstrip()):
        return note
    return f"{name} {note}" if name.endswith((".", "!", "?", "…", ":")) else f"{name}. {note}"


def _markers(session: Session, where) -> Iterator[Document]:
    rows = session.execute(
        select(Marker.id, Marker.asset_id, Marker.kind, Marker.time, Marker.duration, Marker.name,
               Marker.note, Marker.verified).where(Marker.superseded.is_(False), *where))
    for rid, aid, kind, time, duration, name, note, verified in rows:
        text = marker_text(name, note)
        if text:
            yield Document(make_key(MARKER, rid), aid, kind if kind in KIND_CODES else "moment", time,
                           time + (duration or 0.0), text, bool(verified))


def _windows(session: Session, where) -> Iterator[Document]:
    rows = session.execute(select(Window.id, Window.asset_id, Window.start, Window.end, Window.caption)
                           .where(Window.caption.is_not(None), *where))
    for rid, aid, start, end, caption in rows:
        if caption.strip():
            yield Document(make_key(WINDOW, rid), aid, "caption", start, end, caption.strip())


def segment_text(text: str, speaker: str | None, label: str | None = None) -> str:
    """What a transcript segment is found by and shown as: the name an editor gave its voice, then what
    is said ("Maria Keller: Good morning."); the words alone otherwise. ``speaker`` is the segment's shown
    speaker and ``label`` the file's own "Speaker N": a speaker that is only its label adds nothing, since
    "speaker" would then match every diarized line ("when does the speaker stand up"); ``--speaker``
    finds labels. Naming a voice rewrites ``speaker`` (logged by the change triggers): the index follows."""
    text, speaker = (text or "").strip(), (speaker or "").strip()
    named = speaker and speaker != (label or "").strip()
    return f"{speaker}: {text}" if text and named else text


def _segments(session: Session, where) -> Iterator[Document]:
    rows = session.execute(select(TranscriptSegment.id, TranscriptSegment.asset_id, TranscriptSegment.start,
                                  TranscriptSegment.end, TranscriptSegment.text, TranscriptSegment.speaker,
                                  TranscriptSegment.speaker_label).where(*where))
    for rid, aid, start, end, text, speaker, label in rows:
        if text.strip():
            yield Document(make_key(SEGMENT, rid), aid, "transcript", start, end, segment_text(text, speaker, label))


def documents_for(session: Session, asset_ids: Iterable[int]) -> dict[int, list[Document]]:
    """The documents of the given assets (an asset that no longer exists maps to an empty list)."""
    ids = sorted(set(asset_ids))
    out: dict[int, list[Document]] = {a: [] for a in ids}
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for source, model in ((_markers, Marker), (_windows, Window), (_segments, TranscriptSegment)):
            for doc in source(session, [model.asset_id.in_(chunk)]):
                out[doc.asset_id].append(doc)
    return out


def all_documents(session: Session) -> Iterator[Document]:
    for source in (_markers, _windows, _segments):
        yield from source(session, [])


def asset_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Asset.id).order_by(Asset.id)))
