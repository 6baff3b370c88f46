"""The vector index: exact and HNSW answer alike, filters hold, generations update incrementally."""

from __future__ import annotations

import numpy as np
import pytest

from cogvlm_media.search import vector as vec


def clustered(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, vec.DIM)).astype(np.float32)
    x = centres[rng.integers(0, 40, n)] + rng.normal(0, 0.35, (n, vec.DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def vset(x: np.ndarray, offset: int = 0) -> vec.VectorSet:
    n = len(x)
    return vec.VectorSet.of(np.arange(n) + 1 + offset, (np.arange(n) + offset) % 10 + 1,
                            (np.arange(n) + offset) % 6, np.zeros(n, np.uint64), x)


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(vec, "EXACT_LIMIT", 500)


def test_hnsw_recall_against_exact(tmp_path, small_limit):
    x = clustered(4000)
    vec.write_generation(tmp_path / "g", vset(x))
    index = vec.VectorIndex(tmp_path / "g")
    assert index.mode == "hnsw"
    queries = clustered(50, seed=1)
    found = 0
    for q in queries:
        truth = {k for k, _ in index.exact(q, 10)}
        found += len(truth & {k for k, _ in index.search(q, 10)})
    assert found / 500 >= 0.95


def test_filters_and_incremental_generation(tmp_path, small_limit):
    x = clustered(2000)
    vec.write_generation(tmp_path / "g1", vset(x))
    first = vec.VectorIndex(tmp_path / "g1")
    hits = first.search(x[7], 20, asset_ids=[3, 4], kind_codes=[1, 2, 3])
    assert hits and all(first.assets[np.searchsorted(first.keys, k)] in (3, 4) for k, _ in hits)
    assert all(first.kinds[np.searchsorted(first.keys, k)] in (1, 2, 3) for k, _ in hits)
    kept, removed = first.load().without_assets([8])  # key 8 belongs to asset 8
    added = vset(clustered(10, seed=9), offset=10_000)
    vec.write_generation(tmp_path / "g2", kept.merged(added), first, removed, added)
    second = vec.VectorIndex(tmp_path / "g2")
    assert second.mode == "hnsw" and len(second) == len(kept) + 10 == second.graph().size
    assert 8 not in {k for k, _ in second.search(x[7], 50)}
    assert second.search(added.vectors[0].astype(np.float32), 1)[0][0] == int(added.keys[0])
    # the first generation is untouched: a reader that opened it still sees key 8
    assert first.search(x[7], 1)[0][0] == 8


def test_exact_mode_below_the_limit(tmp_path):
    x = clustered(300)
    vec.write_generation(tmp_path / "g", vset(x))
    index = vec.VectorIndex(tmp_path / "g")
    assert index.mode == "exact" and index.search(x[41], 1)[0][0] == 42
