"""Search on a PostgreSQL archive: a tantivy + vector index per reader node, kept current by snapshot.

Every review server or node that answers searches keeps its own index under its ``home`` (the local
backend's files: tantivy for words, the exact or usearch HNSW vector index), built from the database's
documents and the stored embeddings (``search_embeddings``). What changed since is read from
``search_changes`` by *transaction visibility*, not by id: ids come from a sequence and transactions
commit out of order, so a change with a lower id can commit after a higher one was indexed. Each row
carries its transaction id (migration 0005) and an index records the ``pg_snapshot`` it reflects; the
assets to re-index are those whose changes are visible now and were not visible in that snapshot.

Each node registers its snapshot in ``search_readers``; pruning deletes only changes every registered
node has seen. A node silent for ``READER_EXPIRY`` loses its registration and rebuilds when it returns.
Lexical search stays tantivy's BM25 (the same coverage score as on SQLite): measured against PostgreSQL
full text search in bench/results/ (``ts_rank_cd`` must rank every match of an OR query).
"""

from __future__ import annotations

import socket
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine

from cogvlm_media.config import Settings
from cogvlm_media.hookspecs import hookimpl
from cogvlm_media.search.backend import LocalBackend
from cogvlm_media.search.sync import Indexer, IndexState, SyncReport, db_high_water
from cogvlm_media.store.engine import read_session, write_session
from cogvlm_media.store.models import utcnow

READER_EXPIRY = timedelta(days=7)

_CHANGED = text("""
SELECT DISTINCT asset_id FROM search_changes
WHERE xid >= pg_snapshot_xmin(CAST(:seen AS pg_snapshot))
  AND NOT pg_visible_in_snapshot(xid, CAST(:seen AS pg_snapshot))
  AND pg_visible_in_snapshot(xid, CAST(:now AS pg_snapshot))""")


class SnapshotIndexer(Indexer):
    """The local indexer with PostgreSQL's change tracking (see the module docstring)."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        super().__init__(settings, engine)
        self.node = f"{socket.gethostname()}:{self.root.resolve()}"[:255]

    def mark(self, session, state: IndexState | None) -> tuple[int, str]:
        # the snapshot first: a change committed while the documents are read is re-read next time
        snapshot = str(session.scalar(text("SELECT CAST(pg_current_snapshot() AS text)")))
        if state is None:  # a rebuild: hold back pruning from now, not only once it is written
            self._register(snapshot)
        return db_high_water(session), snapshot

    def _register(self, snapshot: str) -> None:
        with write_session(self.engine) as session:
            session.execute(text("""
INSERT INTO search_readers (node, snapshot, updated_at) VALUES (:n, :s, :t)
ON CONFLICT (node) DO UPDATE SET snapshot = EXCLUDED.snapshot, updated_at = EXCLUDED.updated_at"""),
                            {"n": self.node, "s": snapshot, "t": utcnow()})

    def _since(self, session, seen: str, now: str) -> list[int]:
        return sorted(session.scalars(_CHANGED, {"seen": seen, "now": now}))

    def changed_since(self, session, state: IndexState, mark: tuple[int, str]) -> list[int]:
        return self._since(session, state.snapshot, mark[1])

    def pending(self, session, state: IndexState) -> list[int]:
        if not state.snapshot:
            return [0]  # an index written without a snapshot: rebuild (catch_up sees the same)
        now = str(session.scalar(text("SELECT CAST(pg_current_snapshot() AS text)")))
        return self._since(session, state.snapshot, now)

    def registered(self) -> bool:
        with read_session(self.engine) as session:
            return session.scalar(text("SELECT 1 FROM search_readers WHERE node = :n"), {"n": self.node}) is not None

    def catch_up(self, timeout: float = 120.0) -> SyncReport:
        state = self.state()
        if state is not None and (not state.snapshot or not self.registered()):
            return self.rebuild(timeout)  # pruned past this node while it was away, or an old index
        return super().catch_up(timeout)

    def prune(self, state: IndexState) -> None:
        """Register this node's snapshot, forget silent nodes, delete changes every node has seen."""
        self._register(state.snapshot)
        with write_session(self.engine) as session:
            session.execute(text("DELETE FROM search_readers WHERE updated_at < :t"), {"t": utcnow() - READER_EXPIRY})
            session.execute(text("""
DELETE FROM search_changes WHERE xid < (
  SELECT min(pg_snapshot_xmin(CAST(snapshot AS pg_snapshot))) FROM search_readers)"""))


class PostgresBackend(LocalBackend):
    name = "postgresql"

    def __init__(self, settings: Settings, engine: Engine) -> None:
        super().__init__(settings, engine, SnapshotIndexer(settings, engine))


@hookimpl
def open_search_backend(settings: Settings, engine: Engine):
    if getattr(getattr(engine, "dialect", None), "name", None) == "postgresql":
        return PostgresBackend(settings, engine)
    return None
