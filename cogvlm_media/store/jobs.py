"""The durable job queue: ingest runs, shared by `cogvlm-media ingest` and the watch daemon.

A run is claimed with a lease inside one ``BEGIN IMMEDIATE`` transaction, so two processes can never
claim the same run; a worker heartbeats while it works and a run whose lease expired (its worker
died) is claimable again. Failures retry with exponential backoff, then the run is quarantined.
"""

from __future__ import annotations

import os
import socket
import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine

from cogvlm_media.store.engine import read_session, write_session
from cogvlm_media.store.models import IngestRun, utcnow

ACTIVE = ("queued", "running", "failed")  # failed = waiting for a retry
FINAL = ("done", "quarantined")


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes for timezone-aware columns; they were stored in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def enqueue(engine: Engine, path: str, *, size: int | None = None, mtime_ns: int | None = None,
            source: str = "ingest", reingest: bool = False, max_attempts: int = 3) -> tuple[int, bool]:
    """Queue ``path`` unless a live run for the same file version exists. Returns (run id, created)."""
    with write_session(engine) as session:
        existing = session.scalars(
            select(IngestRun).where(IngestRun.path == path, IngestRun.status.in_(ACTIVE))
            .order_by(IngestRun.id.desc()).limit(1)
        ).first()
        if existing is not None and (existing.size, existing.mtime_ns) == (size, mtime_ns):
            if reingest and not existing.reingest:
                existing.reingest = True
            return existing.id, False
        if existing is not None and existing.status != "running":
            # the file changed while waiting: the old entry is superseded by the new version
            existing.status, existing.error, existing.finished_at = "done", "superseded by a newer version", _now()
            existing.outcome = "superseded"
        run = IngestRun(path=path, size=size, mtime_ns=mtime_ns, source=source, reingest=reingest,
                        max_attempts=max_attempts, status="queued", next_attempt_at=_now())
        session.add(run)
        session.flush()
        return run.id, True


def claim(engine: Engine, worker: str, lease_seconds: float, run_id: int | None = None) -> IngestRun | None:
    """Take the next due run (or the given one) and lease it to ``worker``; None when nothing is due."""
    now = _now()
    waiting = IngestRun.status.in_(("queued", "failed"))
    if run_id is None:  # the queue respects retry backoff; a run asked for by id is taken at once
        waiting = and_(waiting, IngestRun.next_attempt_at <= now)
    due = or_(waiting, and_(IngestRun.status == "running", IngestRun.lease_until < now))
    with write_session(engine) as session:
        query = select(IngestRun.id).where(due)
        query = query.where(IngestRun.id == run_id) if run_id is not None else query.order_by(
            IngestRun.next_attempt_at, IngestRun.id).limit(1)
        chosen = session.scalars(query).first()
        if chosen is None:
            return None
        session.execute(
            update(IngestRun).where(IngestRun.id == chosen, due).values(
                status="running", worker=worker, attempts=IngestRun.attempts + 1, started_at=now,
                heartbeat_at=now, lease_until=now + timedelta(seconds=lease_seconds), error=None, stage=None,
            )
        )
        run = session.get(IngestRun, chosen, populate_existing=True)
        session.expunge(run)
        return run


def heartbeat(engine: Engine, run_id: int, worker: str, lease_seconds: float, stage: str | None = None) -> bool:
    """Extend the lease. False when the run is no longer ours (reclaimed after a stall)."""
    now = _now()
    values: dict = {"heartbeat_at": now, "lease_until": now + timedelta(seconds=lease_seconds)}
    if stage:
        values["stage"] = stage
    with write_session(engine) as session:
        result = session.execute(update(IngestRun).where(
            IngestRun.id == run_id, IngestRun.worker == worker, IngestRun.status == "running").values(**values))
        return result.rowcount == 1


def complete(session, run_id: int, worker: str, *, outcome: str, asset_id: int | None, fingerprint: str | None,
             analyser: str = "", analyser_version: str = "", model_version: str = "") -> bool:
    """Mark the run done inside the caller's transaction (the one that stored its results)."""
    result = session.execute(update(IngestRun).where(
        IngestRun.id == run_id, IngestRun.worker == worker, IngestRun.status == "running").values(
        status="done", outcome=outcome, asset_id=asset_id, fingerprint=fingerprint, finished_at=_now(),
        lease_until=None, error=None, analyser=analyser, analyser_version=analyser_version,
        model_version=model_version))
    return result.rowcount == 1


def fail(engine: Engine, run_id: int, worker: str, error: str, *, retryable: bool = True,
         backoff_seconds: float = 15.0) -> str:
    """Record a failure: retry later with exponential backoff, or quarantine. Returns the new status."""
    now = _now()
    with write_session(engine) as session:
        run = session.get(IngestRun, run_id)
        if run is None or run.worker != worker:
            return "lost"
        run.error = error
        run.lease_until = None
        run.finished_at = now
        if retryable and run.attempts < run.max_attempts:
            run.status = "failed"
            run.next_attempt_at = now + timedelta(seconds=backoff_seconds * 2 ** (run.attempts - 1))
        else:
            run.status = "quarantined"
        return run.status


def release(engine: Engine, run_id: int, worker: str) -> None:
    """Give a claimed run back untouched (graceful shutdown before it finished)."""
    with write_session(engine) as session:
        session.execute(update(IngestRun).where(IngestRun.id == run_id, IngestRun.worker == worker,
                                                IngestRun.status == "running").values(
            status="queued", lease_until=None, worker=None, attempts=IngestRun.attempts - 1,
            next_attempt_at=_now()))


def running_elsewhere(engine: Engine, path: str, worker: str) -> IngestRun | None:
    """A live run for ``path`` leased to another worker, if any."""
    now = _now()
    with read_session(engine) as session:
        run = session.scalars(select(IngestRun).where(
            IngestRun.path == path, IngestRun.status == "running", IngestRun.worker != worker,
            IngestRun.lease_until >= now)).first()
        return run


def retry(engine: Engine, run_id: int | None = None, quarantined: bool = False) -> int:
    """Queue quarantined or failed runs again (one by id, or all quarantined). Returns how many."""
    with write_session(engine) as session:
        query = update(IngestRun).values(status="queued", attempts=0, next_attempt_at=_now(), error=None)
        if run_id is not None:
            query = query.where(IngestRun.id == run_id, IngestRun.status.in_(("failed", "quarantined")))
        elif quarantined:
            query = query.where(IngestRun.status == "quarantined")
        else:
            return 0
        return session.execute(query).rowcount


__all__ = ["enqueue", "claim", "heartbeat", "complete", "fail", "release", "retry", "running_elsewhere",
           "worker_id", "utcnow", "_aware"]
