"""The search interface the query layer uses, and the local implementation.

``SearchBackend`` is what a PostgreSQL deployment would implement with its own engines: ``lexical``
with a ``tsvector`` column (``to_tsvector('english', text)``, GIN index, ``ts_rank_cd``) over the
same documents, ``semantic`` with pgvector over ``search_embeddings``, and ``catch_up``/``check``
as no-ops or a refresh of a materialised view fed by the same ``search_changes`` log. Keys are the
document keys of :mod:`cogvlm_media.search.documents`, so fusion, collapsing and display do not
change with the backend.

:func:`open_backend` asks the ``open_search_backend`` hook: the first plugin that returns a backend
(for example one for a PostgreSQL engine) wins; the local backend here answers last, for any engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from cogvlm_media.config import Settings
from cogvlm_media.hookspecs import hookimpl
from cogvlm_media.search.documents import KIND_CODES
from cogvlm_media.search.lexical import LexicalIndex
from cogvlm_media.search.sync import Indexer, IndexState, SyncReport
from cogvlm_media.search.vector import VectorIndex
from cogvlm_media.store.models import Asset
from cogvlm_media.store.engine import read_session


@dataclass(frozen=True)
class Filters:
    asset_ids: tuple[int, ...] = ()
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Status:
    indexed: bool  # an index exists
    assets: int  # in the database
    documents: int  # in the index
    pending: int  # assets changed since the index's high-water mark
    vector_mode: str = ""  # exact | hnsw


class SearchBackend(Protocol):
    name: str

    def status(self) -> Status: ...

    def lexical(self, text: str, limit: int, filters: Filters) -> list[tuple[int, float]]: ...

    def semantic(self, vector: np.ndarray, limit: int, filters: Filters) -> list[tuple[int, float]]: ...

    def catch_up(self, wait: bool = True) -> SyncReport: ...

    def rebuild(self) -> SyncReport: ...


class LocalBackend:
    """tantivy + numpy/usearch files under ``settings.home / "index"``, derived from the database."""

    name = "local"

    def __init__(self, settings: Settings, engine: Engine, indexer: Indexer | None = None) -> None:
        self.settings, self.engine = settings, engine
        self.indexer = indexer if indexer is not None else Indexer(settings, engine)
        self._opened: tuple[IndexState, LexicalIndex, VectorIndex] | None = None

    def _readers(self) -> tuple[LexicalIndex, VectorIndex]:
        state = self.indexer.state()
        if state is None:
            raise LookupError("no search index")
        if self._opened is None or self._opened[0] != state:
            root = self.indexer.root
            self._opened = (state, LexicalIndex(root / state.lexical), VectorIndex(root / state.vectors))
        return self._opened[1], self._opened[2]

    def status(self) -> Status:
        state = self.indexer.state()
        with read_session(self.engine) as session:
            assets = int(session.scalar(select(func.count(Asset.id))) or 0)
            pending = len(self.indexer.pending(session, state)) if state else 0
        mode = ""
        if state is not None:
            mode = self._readers()[1].mode
        return Status(state is not None, assets, state.documents if state else 0, pending, mode)

    def lexical(self, text: str, limit: int, filters: Filters = Filters()) -> list[tuple[int, float]]:
        return self._readers()[0].search(text, limit, filters.asset_ids or None, filters.kinds or None)

    def semantic(self, vector: np.ndarray, limit: int, filters: Filters = Filters()) -> list[tuple[int, float]]:
        codes: Sequence[int] | None = [KIND_CODES[k] for k in filters.kinds] if filters.kinds else None
        return self._readers()[1].search(vector, limit, filters.asset_ids or None, codes)

    def catch_up(self, wait: bool = True) -> SyncReport:
        return self.indexer.catch_up(timeout=120.0 if wait else 0.0)

    def rebuild(self) -> SyncReport:
        return self.indexer.rebuild()


@hookimpl(trylast=True)
def open_search_backend(settings: Settings, engine: Engine) -> SearchBackend:
    return LocalBackend(settings, engine)


def open_backend(settings: Settings, engine: Engine) -> SearchBackend:
    from cogvlm_media.plugin_manager import get_plugin_manager

    return get_plugin_manager().hook.open_search_backend(settings=settings, engine=engine)


def indexer_for(settings: Settings, engine: Engine) -> Indexer:
    """The index writer of this database's backend (the local one for a backend that has none)."""
    indexer = getattr(open_backend(settings, engine), "indexer", None)
    return indexer if isinstance(indexer, Indexer) else Indexer(settings, engine)
