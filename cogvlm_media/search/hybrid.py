"""Hybrid ranking: reciprocal rank fusion of the lexical and semantic lists, a relevance floor, a
preference for editor-verified markers within relevance, and collapsing near-identical hits (same
file, a few seconds apart).

A hit's relevance is its own evidence: the lexical coverage of the query, or its semantic similarity
relative to the best one raised to ``FLOOR_SHARPNESS`` (MiniLM gives unrelated captions 70-80 % of the
best similarity, so the ratio alone separates nothing). A hit less relevant than ``RELEVANCE_FLOOR``
times the most relevant one is cut: the list is not padded to the limit with unrelated hits.
A verified marker gets ``VERIFIED_BOOST`` only while its fused score is at least ``VERIFIED_RELEVANT``
times the best one: among relevant hits the editor's marker comes first, an unrelated one is not lifted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RRF_K = 60  # the constant of Cormack et al.'s reciprocal rank fusion
VERIFIED_BOOST = 2.5  # a relevant verified marker's fused score is multiplied by this
VERIFIED_RELEVANT = 0.4  # ... when its fused score is at least this fraction of the best hit's
RELEVANCE_FLOOR = 0.2  # hits below this fraction of the most relevant hit's relevance are left out
FLOOR_SHARPNESS = 8.0  # relevance from similarity = (similarity / best similarity) ** this
COLLAPSE_SECONDS = 5.0
SEMANTIC_SHARPNESS = 2.0  # semantic weight = (similarity / best similarity) ** this


@dataclass
class Fused:
    key: int
    score: float = 0.0
    lexical_rank: int | None = None
    lexical_score: float | None = None
    semantic_rank: int | None = None
    semantic_score: float | None = None

    @property
    def matched(self) -> list[str]:
        return [name for name, rank in (("lexical", self.lexical_rank), ("semantic", self.semantic_rank))
                if rank is not None]


def fuse(lexical: list[tuple[int, float]], semantic: list[tuple[int, float]], k: int = RRF_K) -> list[Fused]:
    """Reciprocal rank fusion, each list's 1/(k + rank) weighted by how good the hit is on its own
    terms: the lexical coverage of the query (0..1, see LexicalIndex.search), the semantic
    similarity relative to the best one. Plain RRF lets a hit on one common word that is also a
    middling semantic match outrank the best semantic match; the weights stop that."""
    out: dict[int, Fused] = {}
    for rank, (key, score) in enumerate(lexical, 1):
        f = out.setdefault(key, Fused(key))
        f.lexical_rank, f.lexical_score = rank, score
        f.score += min(max(score, 0.0), 1.0) / (k + rank)
    top = max((s for _k, s in semantic), default=0.0)
    for rank, (key, score) in enumerate(semantic, 1):
        f = out.setdefault(key, Fused(key))
        f.semantic_rank, f.semantic_score = rank, score
        weight = min(max(score / top, 0.0), 1.0) ** SEMANTIC_SHARPNESS if top > 0 else 0.0
        f.score += weight / (k + rank)
    return sorted(out.values(), key=lambda f: (-f.score, f.key))


@dataclass
class Ranked:
    """A candidate placed in a file: what collapsing and display need."""

    fused: Fused
    asset_id: int
    time: float
    verified: bool
    score: float = 0.0
    collapsed: list["Ranked"] = field(default_factory=list)
    matched: set[str] = field(default_factory=set)


def rank(items: list[Ranked], collapse_seconds: float = COLLAPSE_SECONDS) -> list[Ranked]:
    """Cut at the relevance floor, apply the verified boost within relevance, sort, then fold each hit
    into a better one in the same file within ``collapse_seconds``; a verified hit takes the group's
    place (and its best score)."""
    top_similarity = max((i.fused.semantic_score or 0.0 for i in items), default=0.0)

    def relevance(f: Fused) -> float:
        lexical = min(max(f.lexical_score or 0.0, 0.0), 1.0)
        ratio = (f.semantic_score or 0.0) / top_similarity if top_similarity > 0 else 0.0
        return max(lexical, min(max(ratio, 0.0), 1.0) ** FLOOR_SHARPNESS)

    most = max((relevance(i.fused) for i in items), default=0.0)
    items = [i for i in items if most > 0 and relevance(i.fused) >= RELEVANCE_FLOOR * most]
    best = max((item.fused.score for item in items), default=0.0)
    for item in items:
        relevant = item.fused.score >= VERIFIED_RELEVANT * best
        item.score = item.fused.score * (VERIFIED_BOOST if item.verified and relevant else 1.0)
        item.matched = set(item.fused.matched)
    items = sorted(items, key=lambda r: (-r.score, not r.verified, r.fused.key))
    kept: list[Ranked] = []
    for item in items:
        group = next((k for k in kept if k.asset_id == item.asset_id
                      and abs(k.time - item.time) <= collapse_seconds), None)
        if group is None:
            kept.append(item)
            continue
        if item.verified and not group.verified:  # the editor's marker speaks for the group
            kept[kept.index(group)] = item
            item.collapsed = [group, *group.collapsed]
            group.collapsed = []
            item.matched |= group.matched
            item.score = max(item.score, group.score)
            continue
        group.collapsed.append(item)
        group.matched |= item.matched
    return kept
