"""Keeping the derived indexes in step with the database.

The index folder (``settings.home / "index"``) holds a tantivy index, generations of the vector
index and ``state.json``, written last and atomically: which lexical folder and vector generation
are current and the high-water mark, the largest ``search_changes`` id whose change they reflect.
Triggers (migration 0002) log every change to a searchable table, so catching up re-indexes exactly
the assets logged above the mark, however the change was made; a crash anywhere before
``state.json`` is replaced leaves the old mark, and the next catch-up redoes the work.

One process writes at a time (``write.lock``, an OS file lock); readers never take it: they open
the generation ``state.json`` names, and every generation stays complete and unchanged.

Every write is crash-safe (search/durable.py): a new generation is written in a temp folder, fsynced
and renamed into place, ``state.json`` is replaced atomically last, and each writer first removes
what a killed writer left (temp files, generations newer than the current). An index whose state
file or current generation is unreadable is rebuilt, so ``reindex`` always repairs.
"""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine

from cogvlm_media.config import Settings
from cogvlm_media.hookspecs import hookimpl
from cogvlm_media.search import documents
from cogvlm_media.search.sentence_vectors import MODEL_NAME, stored_vectors
from cogvlm_media.search import durable
from cogvlm_media.search.lexical import LexicalIndex
from cogvlm_media.search.models import SearchChange
from cogvlm_media.search.vector import VectorIndex, VectorSet, write_generation
from cogvlm_media.store.engine import read_session, write_session

log = logging.getLogger(__name__)

STATE_VERSION = 1
LOCK_TIMEOUT = 120.0


class IndexBusy(RuntimeError):
    """Another process is writing the index."""


def index_root(settings: Settings) -> Path:
    return settings.home / "index"


@dataclass
class IndexState:
    lexical: str
    vectors: str
    hwm: int
    generation: int
    model: str = MODEL_NAME
    documents: int = 0
    version: int = STATE_VERSION
    snapshot: str = ""  # PostgreSQL: the pg_snapshot the index reflects (search/postgres.py), else empty
    updated_at: float = field(default_factory=time.time)

    @classmethod
    def read(cls, root: Path) -> "IndexState | None":
        try:
            data = json.loads((root / "state.json").read_text())
            if data.get("version") != STATE_VERSION:
                return None
            return cls(**data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError, AttributeError):  # damaged by hand: treated as no index (a rebuild)
            log.warning("%s is unreadable; the search index will be rebuilt", root / "state.json")
            return None

    def usable(self, root: Path) -> bool:
        return (root / self.lexical / "meta.json").is_file() and (root / self.vectors / "info.json").is_file()

    def write(self, root: Path) -> None:
        durable.write_file(root / "state.json", json.dumps(self.__dict__, indent=1))
        durable.crash_point("state-replaced")


@contextmanager
def write_lock(root: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the index's writer lock; ``timeout=0`` tries once and raises IndexBusy."""
    root.mkdir(parents=True, exist_ok=True)
    fh = open(root / "write.lock", "a+")
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexBusy(f"another process is updating the search index ({root})") from None
                time.sleep(0.1)
        yield
    finally:
        fh.close()  # closing releases the lock


def db_high_water(session) -> int:
    return int(session.scalar(select(func.max(SearchChange.id))) or 0)


def pending_assets(session, hwm: int) -> list[int]:
    return sorted(session.scalars(select(SearchChange.asset_id).where(SearchChange.id > hwm).distinct()))


@dataclass
class SyncReport:
    action: str  # up-to-date | caught-up | rebuilt
    assets: int = 0
    documents: int = 0
    seconds: float = 0.0
    hwm: int = 0


class Indexer:
    """The writer side. Every public method takes the writer lock itself.

    Which changes are new is decided by three methods a database-specific indexer overrides
    (:class:`cogvlm_media.search.postgres.SnapshotIndexer`): ``mark`` (what the index will reflect),
    ``changed_since`` (assets changed since the state's mark, up to the new one) and ``prune``."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings, self.engine = settings, engine
        self.root = index_root(settings)

    def state(self) -> IndexState | None:
        return IndexState.read(self.root)

    # -- the change log: a high-water mark over search_changes ids (one writer process: SQLite) --

    def mark(self, session, state: IndexState | None) -> tuple[int, str]:
        """(high-water mark, snapshot) to record with the next state."""
        return max(db_high_water(session), state.hwm if state else 0), ""

    def changed_since(self, session, state: IndexState, mark: tuple[int, str]) -> list[int]:
        return pending_assets(session, state.hwm)

    def pending(self, session, state: IndexState) -> list[int]:
        """Assets changed since ``state`` (for status and the check)."""
        return pending_assets(session, state.hwm)

    def prune(self, state: IndexState) -> None:
        self._prune_log(state.hwm)

    def _start(self) -> IndexState | None:
        """Lock held: the current state (None when there is no usable index), leftovers removed."""
        state = self.state()
        if state is not None and not state.usable(self.root):
            log.warning("the search index's current generation is incomplete; rebuilding")
            state = None
        current = {state.lexical, state.vectors} if state else set()
        removed = durable.remove_leftovers(self.root, current)
        if removed:
            log.info("removed what an interrupted index update left: %s", ", ".join(sorted(removed)))
        return state

    # -- the two ways to bring the index up to date --

    def catch_up(self, timeout: float = LOCK_TIMEOUT) -> SyncReport:
        """Re-index the assets changed since the high-water mark (a rebuild when there is no index)."""
        with write_lock(self.root, timeout):
            state = self._start()
            if state is None:
                return self._rebuild()
            return self._update(state)

    def rebuild(self, timeout: float = LOCK_TIMEOUT) -> SyncReport:
        with write_lock(self.root, timeout):
            self._start()
            return self._rebuild()

    def reindex_assets(self, asset_ids: list[int], timeout: float = LOCK_TIMEOUT) -> SyncReport:
        """Re-index the given assets (and anything pending) from the database."""
        with write_lock(self.root, timeout):
            state = self._start()
            if state is None:
                return self._rebuild()
            return self._update(state, extra=asset_ids)

    # -- internals (lock held) --

    def _vectors_for(self, docs: list[documents.Document]) -> VectorSet:
        if not docs:
            return VectorSet.empty()
        vectors = stored_vectors(self.engine, [doc.text for doc in docs])
        return VectorSet.of([doc.key for doc in docs], [doc.asset_id for doc in docs],
                            [documents.KIND_CODES[doc.kind] for doc in docs], [doc.digest for doc in docs], vectors)

    def _update(self, state: IndexState, extra: list[int] | None = None) -> SyncReport:
        started = time.monotonic()
        with read_session(self.engine) as session:  # the mark first: documents read after it are newer
            hwm, snapshot = self.mark(session, state)
            changed = sorted(set(self.changed_since(session, state, (hwm, snapshot))) | set(extra or []))
            if not changed:
                return SyncReport("up-to-date", hwm=state.hwm)
            docs_by_asset = documents.documents_for(session, changed)
        new_docs = [doc for docs in docs_by_asset.values() for doc in docs]
        added = self._vectors_for(new_docs)
        lexical = LexicalIndex(self.root / state.lexical)
        lexical.replace_assets(docs_by_asset)
        durable.crash_point("lexical-updated")
        previous = VectorIndex(self.root / state.vectors)
        kept, removed = previous.load().without_assets(changed)
        generation = state.generation + 1
        vectors_dir = f"vectors-{generation:06d}"
        write_generation(self.root / vectors_dir, kept.merged(added), previous, removed, added)
        new = IndexState(lexical=state.lexical, vectors=vectors_dir, hwm=hwm, generation=generation,
                         documents=lexical.num_docs(), snapshot=snapshot)
        new.write(self.root)
        self._cleanup(new)
        durable.crash_point("cleaned")
        self.prune(new)
        return SyncReport("caught-up", len(changed), len(new_docs), time.monotonic() - started, hwm)

    def _rebuild(self) -> SyncReport:
        started = time.monotonic()
        old = self.state()
        generation = max(old.generation if old else 0, durable.highest_generation(self.root)) + 1
        with read_session(self.engine) as session:
            hwm, snapshot = self.mark(session, None)
            docs = list(documents.all_documents(session))
            n_assets = len(documents.asset_ids(session))
        lexical_dir, vectors_dir = f"lexical-{generation:06d}", f"vectors-{generation:06d}"
        shutil.rmtree(self.root / lexical_dir, ignore_errors=True)
        lexical = LexicalIndex(self.root / lexical_dir, create=True)
        with lexical.writer() as writer:
            lexical.add(writer, docs)
            writer.commit()
            writer.wait_merging_threads()
        lexical.index.reload()
        durable.fsync_tree(self.root / lexical_dir)
        durable.crash_point("lexical-built")
        write_generation(self.root / vectors_dir, self._vectors_for(docs))
        new = IndexState(lexical=lexical_dir, vectors=vectors_dir, hwm=hwm, generation=generation,
                         documents=len(docs), snapshot=snapshot)
        new.write(self.root)
        self._cleanup(new)
        durable.crash_point("cleaned")
        self.prune(new)
        return SyncReport("rebuilt", n_assets, len(docs), time.monotonic() - started, hwm)

    def _cleanup(self, state: IndexState) -> None:
        """Drop generations older than the previous one (a reader may still hold the previous)."""
        for prefix, current in (("lexical-", state.lexical), ("vectors-", state.vectors)):
            folders = sorted(p for p in self.root.glob(prefix + "*") if p.is_dir())
            keep = {current}
            older = [p.name for p in folders if p.name < current and not p.name.endswith(".tmp")]
            if older:
                keep.add(older[-1])
            for p in folders:
                if p.name not in keep:
                    shutil.rmtree(p, ignore_errors=True)

    def _prune_log(self, hwm: int) -> None:
        try:
            with write_session(self.engine) as session:
                session.execute(delete(SearchChange).where(SearchChange.id <= hwm))
        except Exception:  # pruning is housekeeping: a busy database just keeps the rows longer
            log.debug("could not prune search_changes", exc_info=True)


def on_asset_changed(engine: Engine, settings: Settings, asset_id: int | None = None, **_payload) -> None:
    """Bring the index up to date after a change (the change log names the asset)."""
    from cogvlm_media.search.backend import indexer_for

    indexer_for(settings, engine).catch_up()


@hookimpl
def asset_changed(engine: Engine, settings: Settings, asset_id: int | None) -> None:
    on_asset_changed(engine, settings, asset_id=asset_id)
