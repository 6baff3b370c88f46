"""The search service that `cogvlm-media search` and ``GET /api/v1/search`` share: checking a request,
knowing whether the index can answer it (built, caught up), and running it.

The edges only parse, call this and print or serialise; each words a refused request in its own terms
(``--mode`` on the command line, ``mode`` in the API) from the :class:`InvalidSearch` it gets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from cogvlm_media.config import Settings
from cogvlm_media.search.backend import Filters, SearchBackend, open_backend
from cogvlm_media.search.documents import KINDS
from cogvlm_media.search.query import MODES, SearchResult, search
from cogvlm_media.search.sync import IndexBusy

EMPTY_ARCHIVE = "the archive is empty: ingest footage first with `cogvlm-media ingest PATH`"


def not_indexed_message(assets: int) -> str:
    return f"the archive ({assets} assets) is not indexed yet: run `cogvlm-media reindex`"


class InvalidSearch(ValueError):
    """A request the search cannot take. ``field`` is query, mode or kind; ``unknown`` the values not
    accepted and ``choices`` those that are (empty for an empty query)."""

    def __init__(self, field: str, unknown: tuple[str, ...] = (), choices: tuple[str, ...] = ()) -> None:
        self.field, self.unknown, self.choices = field, unknown, choices
        super().__init__(f"{field}: " + (f"unknown {', '.join(unknown)} (one of {', '.join(choices)})"
                                         if unknown else "empty query"))


@dataclass(frozen=True)
class SearchRequest:
    query: str
    limit: int = 10
    mode: str = "hybrid"
    kinds: tuple[str, ...] = ()
    asset_ids: tuple[int, ...] = ()
    speaker: str = ""  # only where this speaker (a voice's name or a file's label) is speaking


def check_request(query: str, mode: str = "hybrid", kinds: Iterable[str] = (), limit: int = 10,
                  asset_ids: Iterable[int] = ()) -> SearchRequest:
    """The request with repeated kinds and assets dropped; :class:`InvalidSearch` for an empty query,
    an unknown mode or an unknown kind (checked in that order)."""
    if not query.strip():
        raise InvalidSearch("query")
    if mode not in MODES:
        raise InvalidSearch("mode", (mode,), MODES)
    wanted = tuple(dict.fromkeys(kinds))
    unknown = tuple(k for k in wanted if k not in KINDS)
    if unknown:
        raise InvalidSearch("kind", unknown, KINDS)
    return SearchRequest(query, limit, mode, wanted, tuple(dict.fromkeys(asset_ids)))


@dataclass(frozen=True)
class Readiness:
    state: str  # ready | empty (nothing ingested) | not_indexed (footage but no index yet)
    message: str = ""  # why it cannot answer, worded for the user (the same on every edge)
    lagging: bool = False  # ready, but another process is updating the index: results may lag

    @property
    def ready(self) -> bool:
        return self.state == "ready"


def readiness(backend: SearchBackend) -> Readiness:
    """Whether ``backend`` can answer; an index behind the database catches up first (without waiting
    for another process that holds the index: then ``lagging``)."""
    status = backend.status()
    if status.assets == 0 and status.documents == 0:
        return Readiness("empty", EMPTY_ARCHIVE)
    if not status.indexed:
        return Readiness("not_indexed", not_indexed_message(status.assets))
    if status.pending:
        try:
            backend.catch_up(wait=False)
        except IndexBusy:
            return Readiness("ready", lagging=True)
    return Readiness("ready")


class SearchService:
    """One archive's search: its backend (opened once), readiness and queries."""

    def __init__(self, settings: Settings, engine: Engine, backend: SearchBackend | None = None) -> None:
        self.engine = engine
        self.backend = backend if backend is not None else open_backend(settings, engine)

    def readiness(self) -> Readiness:
        return readiness(self.backend)

    def search(self, request: SearchRequest) -> SearchResult:
        within = None
        asset_ids = request.asset_ids
        if request.speaker.strip():
            from cogvlm_media.store.engine import read_session
            from cogvlm_media.store.speakers import turns_of

            with read_session(self.engine) as session:
                within = turns_of(session, request.speaker, list(asset_ids) or None)
            if not within:  # no file has this speaker
                return SearchResult(request.query, request.mode, [], Filters(asset_ids, request.kinds))
            asset_ids = tuple(within)
        filters = Filters(asset_ids, request.kinds)
        return search(self.backend, self.engine, request.query, request.limit, filters, request.mode,
                      within=within)
