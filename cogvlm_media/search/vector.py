"""Vector search over stored MiniLM embeddings.

A generation of the vector index is a folder of numpy arrays sorted by document key (``keys``,
``assets``, ``kinds``, ``vectors`` in float16) and, for large archives, a usearch HNSW graph
(``hnsw.usearch``). Generations are written whole and never modified, so a reader keeps using the
one it opened while a writer prepares the next.

Engine choice (see the README's Search section and bench/results/): up to ``EXACT_LIMIT`` vectors an exact
float32 matrix product is fast and perfectly accurate; above it the HNSW graph answers in about a
millisecond where brute force over 1.5 M vectors takes ~100 ms.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cogvlm_media.search import durable

DIM = 384
EXACT_LIMIT = 100_000  # above this many vectors, searches use the HNSW graph
HNSW = dict(connectivity=16, expansion_add=128, expansion_search=320)
ARRAYS = ("keys", "assets", "kinds", "digests", "vectors")


@dataclass
class VectorSet:
    keys: np.ndarray  # int64, sorted
    assets: np.ndarray  # int64
    kinds: np.ndarray  # uint8 (documents.KIND_CODES)
    digests: np.ndarray  # uint64 (documents.digest of the embedded text)
    vectors: np.ndarray  # float16 [n, DIM], L2-normalised

    @classmethod
    def empty(cls) -> "VectorSet":
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros(0, np.uint64),
                   np.zeros((0, DIM), np.float16))

    @classmethod
    def of(cls, keys, assets, kinds, digests, vectors) -> "VectorSet":
        keys = np.asarray(keys, np.int64)
        order = np.argsort(keys, kind="stable")
        return cls(keys[order], np.asarray(assets, np.int64)[order], np.asarray(kinds, np.uint8)[order],
                   np.asarray(digests, np.uint64)[order], np.asarray(vectors, np.float16).reshape(-1, DIM)[order])

    def __len__(self) -> int:
        return len(self.keys)

    def without_assets(self, asset_ids: Sequence[int]) -> tuple["VectorSet", np.ndarray]:
        drop = np.isin(self.assets, np.asarray(list(asset_ids), np.int64))
        keep = ~drop
        return (VectorSet(self.keys[keep], self.assets[keep], self.kinds[keep], self.digests[keep], self.vectors[keep]),
                self.keys[drop])

    def merged(self, other: "VectorSet") -> "VectorSet":
        return VectorSet.of(np.concatenate([self.keys, other.keys]), np.concatenate([self.assets, other.assets]),
                            np.concatenate([self.kinds, other.kinds]), np.concatenate([self.digests, other.digests]),
                            np.concatenate([self.vectors, other.vectors]))


def _new_hnsw(ndim: int = DIM):
    from usearch.index import Index

    return Index(ndim=ndim, metric="ip", dtype="f16", **HNSW)


def build_hnsw(keys: np.ndarray, vectors: np.ndarray, threads: int = 0, batch: int = 100_000):
    """A fresh graph over ``vectors`` (added in batches to bound the float32 copy's memory)."""
    index = _new_hnsw(vectors.shape[1])
    for i in range(0, len(keys), batch):
        index.add(np.asarray(keys[i:i + batch], np.uint64), np.asarray(vectors[i:i + batch], np.float32),
                  threads=threads)
    return index


def write_generation(folder: Path, data: VectorSet, previous: "VectorIndex | None" = None,
                     removed: np.ndarray | None = None, added: VectorSet | None = None) -> None:
    """Write ``data`` as a new generation. A graph is kept when the set is large, updated from the
    previous generation's graph (``removed``/``added``) when there is one, else built afresh."""
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in ARRAYS:
        np.save(tmp / f"{name}.npy", getattr(data, name))
    durable.crash_point("vectors-arrays-written")
    graph = None
    if len(data) > EXACT_LIMIT:
        if previous is not None and previous.has_graph and added is not None:
            from usearch.index import Index

            graph = Index.restore(str(previous.folder / "hnsw.usearch"), view=False)
            if removed is not None and len(removed):
                graph.remove(np.asarray(removed, np.uint64))
            if len(added):
                graph.add(np.asarray(added.keys, np.uint64), added.vectors.astype(np.float32))
        else:
            graph = build_hnsw(data.keys, data.vectors)
        graph.save(str(tmp / "hnsw.usearch"))
    (tmp / "info.json").write_text(json.dumps({"count": len(data), "dim": DIM, "graph": graph is not None,
                                               "hnsw": HNSW if graph is not None else None}))
    durable.fsync_tree(tmp)
    durable.crash_point("vectors-complete")
    durable.swap_in(tmp, folder)
    durable.crash_point("vectors-renamed")


class VectorIndex:
    """One generation, opened read-only (arrays memory-mapped, the graph viewed in place)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.keys = np.load(self.folder / "keys.npy", mmap_mode="r")
        self.assets = np.load(self.folder / "assets.npy", mmap_mode="r")
        self.kinds = np.load(self.folder / "kinds.npy", mmap_mode="r")
        self.digests = np.load(self.folder / "digests.npy", mmap_mode="r")
        self.vectors16 = np.load(self.folder / "vectors.npy", mmap_mode="r")
        self.has_graph = (self.folder / "hnsw.usearch").exists()
        self._matrix: np.ndarray | None = None
        self._graph = None

    def __len__(self) -> int:
        return len(self.keys)

    def load(self) -> VectorSet:
        return VectorSet(np.array(self.keys), np.array(self.assets), np.array(self.kinds), np.array(self.digests),
                         np.array(self.vectors16))

    @property
    def mode(self) -> str:
        return "hnsw" if self.has_graph else "exact"

    def _full_matrix(self) -> np.ndarray:
        if self._matrix is None:
            self._matrix = np.asarray(self.vectors16, dtype=np.float32)
        return self._matrix

    def graph(self):
        if self._graph is None:
            from usearch.index import Index

            self._graph = Index.restore(str(self.folder / "hnsw.usearch"), view=True)
            self._graph.expansion_search = HNSW["expansion_search"]
        return self._graph

    def _mask(self, asset_ids: Sequence[int] | None, kind_codes: Sequence[int] | None) -> np.ndarray | None:
        if not asset_ids and not kind_codes:
            return None
        mask = np.ones(len(self.keys), bool)
        if asset_ids:
            mask &= np.isin(self.assets, np.asarray(list(asset_ids), np.int64))
        if kind_codes:
            mask &= np.isin(self.kinds, np.asarray(list(kind_codes), np.uint8))
        return mask

    @staticmethod
    def _top(scores: np.ndarray, limit: int) -> np.ndarray:
        if len(scores) <= limit:
            return np.argsort(-scores, kind="stable")
        part = np.argpartition(-scores, limit)[:limit]
        return part[np.argsort(-scores[part], kind="stable")]

    def exact(self, query: np.ndarray, limit: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        if rows is None:
            scores = self._full_matrix() @ query
            top = self._top(scores, limit)
            return [(int(self.keys[i]), float(scores[i])) for i in top]
        if self._matrix is not None:
            sub = self._matrix[rows]
        else:
            sub = np.asarray(self.vectors16[rows], dtype=np.float32)
        scores = sub @ query
        top = self._top(scores, limit)
        return [(int(self.keys[rows[i]]), float(scores[i])) for i in top]

    def search(self, query: np.ndarray, limit: int, asset_ids: Sequence[int] | None = None,
               kind_codes: Sequence[int] | None = None) -> list[tuple[int, float]]:
        """(key, cosine similarity) best first."""
        if len(self.keys) == 0 or limit <= 0:
            return []
        query = np.asarray(query, np.float32)
        mask = self._mask(asset_ids, kind_codes)
        if not self.has_graph:
            return self.exact(query, limit, None if mask is None else np.flatnonzero(mask))
        if mask is not None:
            rows = np.flatnonzero(mask)
            if len(rows) <= EXACT_LIMIT:
                return self.exact(query, limit, rows)
        fetch = limit if mask is None else limit * 10
        found = self.graph().search(query, fetch)
        hits = []
        for key, distance in zip(found.keys, found.distances):
            if mask is not None:
                row = int(np.searchsorted(self.keys, key))
                if row >= len(self.keys) or self.keys[row] != key or not mask[row]:
                    continue
            hits.append((int(key), float(1.0 - distance)))
        return hits[:limit]

    def contents(self) -> dict[int, tuple[int, int]]:
        """key -> (asset id, text digest)."""
        return {k: (a, d) for k, a, d in zip(self.keys.tolist(), self.assets.tolist(), self.digests.tolist())}
