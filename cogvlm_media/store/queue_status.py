"""The queue's state as one document: what `cogvlm-media status --json` prints and the server serves."""

from __future__ import annotations

from sqlalchemy import select

from cogvlm_media.store import jobs
from cogvlm_media.store.fspath import shown
from cogvlm_media.store.engine import read_session
from cogvlm_media.store.models import IngestRun


def _iso(value) -> str | None:
    value = jobs._aware(value)
    return value.isoformat(timespec="seconds") if value else None


def run_row(run: IngestRun) -> dict:
    return {"id": run.id, "path": shown(run.path), "status": run.status, "attempts": run.attempts,
            "max_attempts": run.max_attempts, "stage": run.stage, "worker": run.worker, "error": run.error,
            "outcome": run.outcome, "asset_id": run.asset_id, "source": run.source,
            "created_at": _iso(run.created_at), "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at), "next_attempt_at": _iso(run.next_attempt_at),
            "heartbeat_at": _iso(run.heartbeat_at)}


def status_document(engine, limit: int = 50) -> dict:
    doc: dict = {"counts": jobs.counts(engine)}
    with read_session(engine) as session:
        for key, status in (("running", "running"), ("retrying", "failed"), ("quarantined", "quarantined"),
                            ("queued", "queued")):
            runs = session.scalars(select(IngestRun).where(IngestRun.status == status)
                                   .order_by(IngestRun.id.desc()).limit(limit)).all()
            doc[key] = [run_row(r) for r in runs]
        recent = session.scalars(select(IngestRun).where(IngestRun.status == "done", IngestRun.outcome != "superseded")
                                 .order_by(IngestRun.id.desc()).limit(min(limit, 10))).all()
        doc["recent_done"] = [run_row(r) for r in recent]
    return doc
