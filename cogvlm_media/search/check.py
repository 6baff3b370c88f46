"""The consistency check: compare what the indexes hold with what the database says they should,
document by document (key and a digest of the text), and repair the assets that differ."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from cogvlm_media.search.documents import all_documents
from cogvlm_media.search.lexical import LexicalIndex
from cogvlm_media.search.sync import Indexer, write_lock
from cogvlm_media.search.vector import VectorIndex
from cogvlm_media.store.engine import read_session


@dataclass
class CheckReport:
    indexed: bool
    documents: int = 0  # in the database
    lexical: int = 0
    vectors: int = 0
    pending: list[int] = field(default_factory=list)  # assets changed since the high-water mark
    missing: int = 0  # documents the database has and an index lacks
    stale: int = 0  # documents whose indexed text differs from the database's
    extra: int = 0  # documents an index has that the database does not
    inconsistent: list[int] = field(default_factory=list)  # assets to re-index
    repaired: bool = False

    @property
    def ok(self) -> bool:
        return self.indexed and not self.inconsistent and not self.pending

    def as_dict(self) -> dict:
        return asdict(self) | {"ok": self.ok}


def _compare(expected: dict[int, tuple[int, int]], actual: dict[int, tuple[int, int]], report: CheckReport,
             bad: set[int], pending: set[int]) -> None:
    for key, (asset, digest) in expected.items():
        if asset in pending:
            continue
        got = actual.get(key)
        if got is None:
            report.missing += 1
            bad.add(asset)
        elif got[1] != digest:
            report.stale += 1
            bad.add(asset)
    for key, (asset, _digest) in actual.items():
        if key not in expected and asset not in pending:
            report.extra += 1
            bad.add(asset)


def check(indexer: Indexer, repair: bool = True) -> CheckReport:
    """Compare under the writer lock (so no update runs meanwhile); with ``repair``, pending changes
    are caught up and inconsistent assets re-indexed, then the comparison is repeated."""
    with write_lock(indexer.root):
        report = _check(indexer)
    if repair and report.indexed and (report.inconsistent or report.pending):
        indexer.reindex_assets(report.inconsistent)
        with write_lock(indexer.root):
            after = _check(indexer)
        report.repaired = after.ok
    return report


def _check(indexer: Indexer) -> CheckReport:
    state = indexer.state()
    if state is None:
        return CheckReport(indexed=False)
    with read_session(indexer.engine) as session:
        pending = set(indexer.pending(session, state))
        expected = {doc.key: (doc.asset_id, doc.digest) for doc in all_documents(session)}
    lexical = LexicalIndex(indexer.root / state.lexical).contents()
    vectors = VectorIndex(indexer.root / state.vectors).contents()
    report = CheckReport(indexed=True, documents=len(expected), lexical=len(lexical), vectors=len(vectors),
                         pending=sorted(pending))
    bad: set[int] = set()
    _compare(expected, lexical, report, bad, pending)
    _compare(expected, vectors, report, bad, pending)
    report.inconsistent = sorted(bad)
    return report
