"""One search, end to end: embed the query, ask the backend for lexical and semantic candidates,
fuse, place each in its file (asset, time, timecode) from the database, collapse, and shape the
result as the versioned JSON document `search --json` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload

from cogvlm_media.search.documents import MARKER, SEGMENT, WINDOW, make_key, marker_text, segment_text, split_key
from cogvlm_media.search.backend import Filters, SearchBackend
from cogvlm_media.search.sentence_vectors import Embedder, get_embedder
from cogvlm_media.search.hybrid import Fused, Ranked, fuse, rank
from cogvlm_media.search.lexical import query_terms, terms
from cogvlm_media.store.models import Asset, Marker, TranscriptSegment, Window
from cogvlm_media.store.engine import read_session
from cogvlm_media.store.queries import clock_for

SCHEMA_VERSION = 1
MODES = ("hybrid", "lexical", "semantic")


@dataclass
class Hit:
    asset_id: int
    file: str | None
    time: float
    timecode: str
    end: float
    end_timecode: str
    kind: str
    source: str  # marker | window | segment
    id: int
    text: str
    matched: list[str]
    score: float
    verified: bool
    lexical_score: float | None = None
    semantic_score: float | None = None
    collapsed: list[dict[str, Any]] = field(default_factory=list)
    refined: dict[str, Any] | None = None

    def as_dict(self, rank_: int) -> dict[str, Any]:
        return {"rank": rank_, "asset_id": self.asset_id, "file": self.file, "time": round(self.time, 3),
                "timecode": self.timecode, "end": round(self.end, 3), "end_timecode": self.end_timecode,
                "kind": self.kind, "source": self.source, "id": self.id, "text": self.text,
                "matched": self.matched, "score": round(self.score, 6), "lexical_score": self.lexical_score,
                "semantic_score": self.semantic_score, "verified": self.verified, "collapsed": self.collapsed,
                "refined": self.refined}


@dataclass
class SearchResult:
    query: str
    mode: str
    hits: list[Hit]
    filters: Filters
    more: bool = False  # more hits above the relevance floor than the limit let through

    def as_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "query": self.query, "mode": self.mode,
                "filters": {"asset_ids": list(self.filters.asset_ids), "kinds": list(self.filters.kinds)},
                "count": len(self.hits), "more": self.more,
                "hits": [h.as_dict(i) for i, h in enumerate(self.hits, 1)]}


@dataclass
class _Row:
    asset_id: int
    kind: str
    start: float
    end: float
    text: str
    verified: bool
    words: list | None = None


def _rows(session: Session, keys: list[int]) -> dict[int, _Row]:
    """The current database rows behind index keys; keys whose rows are gone (or superseded) drop out."""
    ids: dict[str, list[int]] = {"marker": [], "window": [], "segment": []}
    for key in keys:
        source, rid = split_key(key)
        ids[source].append(rid)
    out: dict[int, _Row] = {}
    if ids["marker"]:
        for mk in session.scalars(select(Marker).where(Marker.id.in_(ids["marker"]), Marker.superseded.is_(False))):
            out[make_key(MARKER, mk.id)] = _Row(mk.asset_id, mk.kind, mk.time, mk.time + (mk.duration or 0),
                                                marker_text(mk.name, mk.note), bool(mk.verified))
    if ids["window"]:
        for w in session.scalars(select(Window).where(Window.id.in_(ids["window"]))):
            if w.caption:
                out[make_key(WINDOW, w.id)] = _Row(w.asset_id, "caption", w.start, w.end, w.caption, False)
    if ids["segment"]:
        for s in session.scalars(select(TranscriptSegment).where(TranscriptSegment.id.in_(ids["segment"]))):
            out[make_key(SEGMENT, s.id)] = _Row(s.asset_id, "transcript", s.start, s.end,
                                                segment_text(s.text, s.speaker, s.speaker_label), False,
                                                list(s.words or []))
    return out


def word_time(words: list, query_terms: set[str]) -> tuple[float, float] | None:
    """Start and end of the first transcript word whose stem is a query term."""
    for w in words:
        stems = terms(str(w[0]))
        if stems and set(stems) & query_terms:
            return float(w[1]), float(w[2])
    return None


def _candidates(backend: SearchBackend, embedder: Embedder | None, text: str, mode: str, depth: int,
                filters: Filters) -> list[Fused]:
    lexical = backend.lexical(text, depth, filters) if mode in ("hybrid", "lexical") else []
    semantic = []
    if mode in ("hybrid", "semantic"):
        vector = (embedder or get_embedder()).encode_query(text)
        semantic = backend.semantic(vector, depth, filters)
    return fuse(lexical, semantic)


SPAN_SLACK = 0.25  # seconds: a hit starting this much before a speaker's turn is still in it


def _inside(spans: list[tuple[float, float]], start: float) -> bool:
    """Whether a hit starting at ``start`` starts inside one of ``spans`` (a speaker's turns)."""
    return any(a - SPAN_SLACK <= start < b for a, b in spans)


def search(backend: SearchBackend, engine: Engine, text: str, limit: int = 10, filters: Filters = Filters(),
           mode: str = "hybrid", embedder: Embedder | None = None,
           within: dict[int, list[tuple[float, float]]] | None = None) -> SearchResult:
    """``within``: only hits that start inside these time spans of these assets (a speaker's turns)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    depth = max(50, limit * 5)
    fused = _candidates(backend, embedder, text, mode, depth, filters)
    wanted = set(query_terms(text))
    with read_session(engine) as session:
        rows = _rows(session, [f.key for f in fused])
        items: list[Ranked] = []
        placed: dict[int, tuple[_Row, float, float]] = {}
        for f in fused:
            row = rows.get(f.key)
            if row is None:
                continue
            start, end = row.start, row.end
            if row.words and f.lexical_rank is not None:
                found = word_time(row.words, wanted)
                if found:
                    start, end = found
            if within is not None and not _inside(within.get(row.asset_id, []), start):
                continue
            placed[f.key] = (row, start, end)
            items.append(Ranked(f, row.asset_id, start, row.verified))
        relevant = rank(items)
        ranked = relevant[:limit]
        assets = {a.id: a for a in session.scalars(select(Asset).options(selectinload(Asset.paths)).where(
            Asset.id.in_({r.asset_id for r in ranked})))}  # the paths in one query, not one per hit
        hits = []
        for r in ranked:
            row, start, end = placed[r.fused.key]
            asset = assets[r.asset_id]
            clock = clock_for(asset)
            source, rid = split_key(r.fused.key)
            hits.append(Hit(
                asset_id=asset.id, file=asset.paths[-1].path if asset.paths else None, time=start,
                timecode=clock.timecode(start), end=end, end_timecode=clock.timecode(end), kind=row.kind,
                source=source, id=rid, text=row.text, matched=sorted(r.matched), score=r.score,
                verified=row.verified, lexical_score=r.fused.lexical_score, semantic_score=r.fused.semantic_score,
                collapsed=[{"source": split_key(c.fused.key)[0], "id": split_key(c.fused.key)[1],
                            "kind": placed[c.fused.key][0].kind, "time": round(c.time, 3)} for c in r.collapsed]))
    return SearchResult(text, mode, hits, filters, more=len(relevant) > limit)
