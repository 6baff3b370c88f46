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

from sqlalchemy import and_, case, or_, select, text, update
from sqlalchemy.engine import Engine

from cogvlm_media.store import crash_notes
from cogvlm_media.store.engine import read_session, write_session
from cogvlm_media.store.models import AssetPath, IngestRun, utcnow

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


QUEUE_LOCK = 0x636F67766C6D  # the PostgreSQL advisory lock that serialises enqueuers ("cogvlm")


def _lock_queue(session) -> None:
    """Serialise enqueuers until the transaction ends. SQLite's writers already are (BEGIN IMMEDIATE);
    on PostgreSQL two daemons reading "not known" at once would each queue the same file version."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": QUEUE_LOCK})


def enqueue(engine: Engine, path: str, *, size: int | None = None, mtime_ns: int | None = None,
            source: str = "ingest", reingest: bool = False, max_attempts: int = 3) -> tuple[int, bool]:
    """Queue ``path`` unless a live run for the same file version exists. Returns (run id, created)."""
    with write_session(engine) as session:
        _lock_queue(session)
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


# a claim clears the last error, except the note of a crash: it holds the file's crashes by stage
_KEEP_CRASH = case((IngestRun.error.like(f"%{crash_notes.MARK}%"), IngestRun.error), else_=None)


def claim(engine: Engine, worker: str, lease_seconds: float, run_id: int | None = None) -> IngestRun | None:
    """Take the next due run (or the given one) and lease it to ``worker``; None when nothing is due."""
    now = _now()
    waiting = IngestRun.status.in_(("queued", "failed"))
    if run_id is None:  # the queue respects retry backoff; a run asked for by id is taken at once
        waiting = and_(waiting, IngestRun.next_attempt_at <= now)
    due = or_(waiting, and_(IngestRun.status == "running", IngestRun.lease_until < now))
    with write_session(engine) as session:
        if run_id is not None:  # `ingest` asks by id: a lease held by a dead process of this machine is free
            _take_back(session, now, run_id)  # at once (the daemon runs recover() for the queue)
            queries = [select(IngestRun.id).where(due, IngestRun.id == run_id)]
        else:  # expired leases first, then waiting runs: each an ordered scan of a partial index (0006)
            expired = and_(IngestRun.status == "running", IngestRun.lease_until < now)
            queries = [select(IngestRun.id).where(branch).order_by(IngestRun.next_attempt_at, IngestRun.id).limit(1)
                       for branch in (expired, waiting)]
        chosen = None
        for query in queries:
            # SQLite serialises writers (BEGIN IMMEDIATE); PostgreSQL skips rows another claimer holds
            chosen = session.scalars(query.with_for_update(skip_locked=True)).first()
            if chosen is not None:
                break
        if chosen is None:
            return None
        claimed = session.execute(
            update(IngestRun).where(IngestRun.id == chosen, due).values(
                status="running", worker=worker, attempts=IngestRun.attempts + 1, started_at=now,
                heartbeat_at=now, lease_until=now + timedelta(seconds=lease_seconds), error=_KEEP_CRASH, stage=None,
            )
        )
        if claimed.rowcount != 1:  # taken by another worker between our read and our write
            return None
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


def still_arriving(engine: Engine, run_id: int, worker: str, reason: str) -> str:
    """Set aside a run whose file changed while it was read (a partial version): not the file's fault,
    so neither a retry nor a quarantine; the finished version is queued as a new run."""
    with write_session(engine) as session:
        run = session.get(IngestRun, run_id)
        if run is None or run.worker != worker:
            return "lost"
        run.status, run.outcome, run.error = "done", "superseded", reason
        run.lease_until, run.finished_at = None, _now()
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


# --- batch queueing and crash recovery, used by the watch daemon ---------------------------------

Version = tuple[str, int | None, int | None]  # (path, size, mtime_ns)
_BATCH = 400  # paths per IN (...) query, under SQLite's default variable limit


def _chunks(items: list, size: int = _BATCH):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _latest_runs(session, paths: list[str]) -> dict[str, IngestRun]:
    latest: dict[str, IngestRun] = {}
    for chunk in _chunks(paths):
        for run in session.scalars(select(IngestRun).where(IngestRun.path.in_(chunk)).order_by(IngestRun.id)):
            latest[run.path] = run  # ordered by id: the last one wins
    return latest


def _ingested_versions(session, paths: list[str]) -> set[tuple[str, int, int]]:
    found: set[tuple[str, int, int]] = set()
    for chunk in _chunks(paths):
        for path, size, mtime in session.execute(select(AssetPath.path, AssetPath.size, AssetPath.mtime_ns)
                                                 .where(AssetPath.path.in_(chunk))):
            found.add((path, size, mtime))
    return found


def _is_known(version: Version, latest: IngestRun | None, ingested: set) -> bool:
    path, size, mtime = version
    if (path, size, mtime) in ingested:
        return True
    if latest is None or (latest.size, latest.mtime_ns) != (size, mtime):
        return False
    return latest.outcome != "superseded"  # queued, running, retrying, done or quarantined: already known


def known_versions(engine: Engine, versions: list[Version]) -> set[str]:
    """Paths whose current (size, mtime) already has a run or an ingested record: nothing to queue."""
    paths = [v[0] for v in versions]
    with read_session(engine) as session:
        latest = _latest_runs(session, paths)
        ingested = _ingested_versions(session, paths)
    return {v[0] for v in versions if _is_known(v, latest.get(v[0]), ingested)}


def enqueue_many(engine: Engine, versions: list[Version], *, source: str = "watch",
                 max_attempts: int = 3) -> list[tuple[str, int]]:
    """Queue each file version not already known, in one transaction per batch; a queued or retrying run
    of an older version of the same path is superseded. Returns (path, run id) of the runs created."""
    created: list[tuple[str, int]] = []
    unique = list({v[0]: v for v in versions}.values())
    for chunk in _chunks(unique):
        with write_session(engine) as session:
            _lock_queue(session)
            paths = [v[0] for v in chunk]
            latest = _latest_runs(session, paths)
            ingested = _ingested_versions(session, paths)
            now = _now()
            new: list[IngestRun] = []
            for version in chunk:
                path, size, mtime = version
                old = latest.get(path)
                if _is_known(version, old, ingested):
                    continue
                if old is not None and old.status in ("queued", "failed", "quarantined"):
                    # a quarantined older version was a partial one (or was replaced): no longer the file's state
                    was = f" (was: {old.error})" if old.status == "quarantined" and old.error else ""
                    old.status, old.outcome, old.finished_at = "done", "superseded", now
                    old.error = "superseded by a newer version" + was
                new.append(IngestRun(path=path, size=size, mtime_ns=mtime, source=source, reingest=False,
                                     max_attempts=max_attempts, status="queued", next_attempt_at=now))
            session.add_all(new)
            session.flush()
            created.extend((run.path, run.id) for run in new)
    return created


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child not yet reaped by its parent is a zombie: dead for our purposes
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _worker_dead(worker: str | None, host: str) -> bool:
    if not worker:
        return True
    parts = worker.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
        return False  # another machine's worker: only its lease tells
    return int(parts[1]) != os.getpid() and not _pid_alive(int(parts[1]))


def recover(engine: Engine, is_dead=None) -> list[tuple[int, str]]:
    """Take back runs whose worker died: those leased to a process of this host that no longer exists
    (at once), those whose worker ``is_dead(worker)`` says is gone (a cluster's lost node) and those whose
    lease expired (any host). Returns (run id, new status).

    A crash counts against the file only when the same file crashed its worker in the same stage
    before, whatever came between: then both crashes count (a file that kills its worker again and
    again ends quarantined). Otherwise (a kill, an unrelated crash) the attempt is given back by raising
    ``max_attempts`` (store/crash_notes.py)."""
    with write_session(engine) as session:
        return _take_back(session, _now(), is_dead=is_dead)


def _take_back(session, now: datetime, run_id: int | None = None, is_dead=None) -> list[tuple[int, str]]:
    host = socket.gethostname()
    changed: list[tuple[int, str]] = []
    query = select(IngestRun).where(IngestRun.status == "running")
    if run_id is not None:
        query = query.where(IngestRun.id == run_id)
    for run in session.scalars(query):
        expired = run.lease_until is None or _aware(run.lease_until) < now
        if not (expired or _worker_dead(run.worker, host) or (is_dead is not None and is_dead(run.worker))):
            continue
        change, run.error = crash_notes.count_crash(run.error, run.worker, run.stage or "start")
        run.max_attempts += change
        run.lease_until, run.worker, run.finished_at = None, None, now
        if run.attempts >= run.max_attempts:
            run.status = "quarantined"
        else:
            run.status, run.next_attempt_at = "failed", now
        changed.append((run.id, run.status))
    return changed


def counts(engine: Engine) -> dict[str, int]:
    """Runs per status ("failed" = waiting for a retry); superseded runs are not counted."""
    from sqlalchemy import func

    result = {s: 0 for s in ("queued", "running", "failed", "done", "quarantined")}
    with read_session(engine) as session:
        rows = session.execute(select(IngestRun.status, func.count()).where(
            or_(IngestRun.outcome.is_(None), IngestRun.outcome != "superseded")).group_by(IngestRun.status))
        for status, n in rows:
            result[status] = n
    return result


__all__ = ["enqueue", "enqueue_many", "known_versions", "recover", "counts", "claim", "heartbeat", "complete", "fail", "release", "retry", "running_elsewhere",
           "worker_id", "utcnow", "_aware"]
