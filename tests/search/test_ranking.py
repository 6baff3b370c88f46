"""The ranking rules on known scores: a relevance floor relative to the most relevant hit (no padding
with unrelated hits), and the verified preference applied within relevance, never over it. The
similarities are MiniLM's for the archive of test_archive.py: related captions ~0.45-0.5, unrelated
ones ~0.35-0.39."""

from __future__ import annotations

from cogvlm_media.search.hybrid import Fused, Ranked, rank


def item(key: int, score: float, sim: float | None = None, lex: float | None = None,
         verified: bool = False) -> Ranked:
    fused = Fused(key, score=score, lexical_score=lex, semantic_score=sim,
                  lexical_rank=1 if lex is not None else None, semantic_rank=1 if sim is not None else None)
    return Ranked(fused, asset_id=key, time=0.0, verified=verified)


def keys(items: list[Ranked]) -> list[int]:
    return [r.fused.key for r in rank(items)]


def test_unrelated_hits_are_cut_not_padded():
    # two hits on the query's words, then a tail of semantic-only hits at 73-81 % of the best similarity
    items = [item(1, 0.030, sim=0.48, lex=1.0), item(2, 0.020, sim=0.45, lex=0.54)]
    items += [item(10 + i, 0.009 - i * 0.0002, sim=0.39 - i * 0.002) for i in range(20)]
    assert keys(items) == [1, 2]


def test_an_unrelated_verified_marker_is_not_lifted_over_better_hits():
    better = [item(1, 0.030, sim=0.48, lex=1.0), item(2, 0.020, sim=0.45, lex=0.5), item(3, 0.016, lex=0.4)]
    # below the floor: gone, however verified
    assert keys(better + [item(4, 0.009, sim=0.35, verified=True)]) == [1, 2, 3]
    # just above the floor but far less relevant than the best: kept, and not boosted over the others
    assert keys(better + [item(4, 0.009, sim=0.40, verified=True)]) == [1, 2, 3, 4]


def test_verified_first_among_relevant_hits():
    items = [item(1, 0.030, sim=0.48, lex=1.0), item(2, 0.025, sim=0.46, lex=0.5, verified=True),
             item(3, 0.020, lex=0.5)]
    assert keys(items) == [2, 1, 3]


def test_nothing_relevant_gives_nothing():
    assert rank([]) == [] and keys([item(1, 0.01), item(2, 0.02)]) == []
