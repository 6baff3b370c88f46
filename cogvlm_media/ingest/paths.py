"""Ingest a list of paths: expand folders into files, then for each file enqueue → claim → process.

UI-free: progress goes to the optional :class:`IngestCallbacks`; the outcomes are returned. One file at a
time is :func:`ingest_file` (enqueue, claim the run, :func:`process_run`), so a worker that takes single
files (a Ray task, a cross-file batcher) can call it, or ``claim_path`` and ``process_run`` apart.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from cogvlm_media.config import Settings
from cogvlm_media.ingest.claimed_run import Outcome, process_run
from cogvlm_media.ingest.stages import StageCallback
from cogvlm_media.store import jobs
from cogvlm_media.store.models import IngestRun

SKIPPED_BUSY = "already being ingested by another process"


@dataclass(frozen=True)
class IngestOptions:
    reingest: bool = False  # analyse again even if the footage is already in the archive
    source: str = "ingest"  # recorded on the run (ingest, watch, ...)
    max_attempts: int = 1  # an explicit ingest does not retry: the user sees the failure at once


@dataclass(frozen=True)
class IngestCallbacks:
    """Progress events, each optional: a file starts (number from 1, of total, path); a stage of the
    current file moves (stage, done, total), and the same with the file's path first (``file_stage``: the
    batched path runs several files at once); a file ends (its outcome)."""

    file_started: Callable[[int, int, str], None] | None = None
    stage: StageCallback | None = None
    file_done: Callable[[Outcome], None] | None = None
    file_stage: Callable[[str, str, float, float], None] | None = None


def expand_inputs(paths: Sequence[str | os.PathLike], extensions: tuple[str, ...]
                  ) -> tuple[list[str], list[tuple[str, str]]]:
    """Files to ingest (absolute, in order, no repeats) and (input, reason) for inputs that give none.

    A folder gives the files below it whose suffix is in ``extensions`` (hidden ones left out)."""
    files: list[str] = []
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(p: str) -> None:
        if p not in seen:
            seen.add(p)
            files.append(p)

    for raw in paths:
        path = os.path.normpath(os.path.abspath(os.path.expanduser(str(raw))))
        if os.path.isdir(path):
            found = sorted(
                os.path.join(root, name)
                for root, dirs, names in os.walk(path)
                for name in names
                if not name.startswith(".") and os.path.splitext(name)[1].lower() in extensions
            )
            if not found:
                problems.append((str(raw), "directory contains no video files"))
            for f in found:
                add(f)
        elif os.path.lexists(path):
            add(path)
        else:
            problems.append((str(raw), "file not found"))
    return files, problems


def enqueue_path(engine: Engine, path: str, options: IngestOptions = IngestOptions(),
                 max_attempts: int | None = None) -> int:
    """Queue ``path`` as the version on disk now (its size and mtime; none when it cannot be read, so the
    run fails with the reason); returns the run id."""
    try:
        st = os.stat(path)
        size, mtime = st.st_size, st.st_mtime_ns
    except OSError:
        size = mtime = None
    run_id, _ = jobs.enqueue(engine, path, size=size, mtime_ns=mtime, source=options.source,
                             reingest=options.reingest,
                             max_attempts=options.max_attempts if max_attempts is None else max_attempts)
    return run_id


def claim_path(engine: Engine, settings: Settings, path: str, worker: str,
               options: IngestOptions = IngestOptions()) -> tuple[int, IngestRun | None]:
    """Queue ``path`` (its current size and mtime) and lease that run to ``worker``.

    Returns (run id, the claimed run), the run None when another process holds it."""
    run_id = enqueue_path(engine, path, options)
    return run_id, jobs.claim(engine, worker, settings.watch.lease_seconds, run_id=run_id)


def ingest_file(engine: Engine, settings: Settings, path: str, worker: str,
                options: IngestOptions = IngestOptions(), on_stage: StageCallback | None = None) -> Outcome:
    """Enqueue, claim and process one file; failures come back as the outcome, never raised."""
    run_id, run = claim_path(engine, settings, path, worker, options)
    if run is None:
        return Outcome(run_id, path, "skipped", error=SKIPPED_BUSY)
    return process_run(engine, settings, run, worker, on_stage=on_stage)


def _file_stage(callbacks: IngestCallbacks, path: str) -> StageCallback | None:
    if callbacks.file_stage is None:
        return callbacks.stage
    stage, file_stage = callbacks.stage, callbacks.file_stage

    def both(name: str, done: float, total: float) -> None:
        if stage:
            stage(name, done, total)
        file_stage(path, name, done, total)
    return both


def ingest_paths(engine: Engine, settings: Settings, paths: Sequence[str],
                 options: IngestOptions = IngestOptions(),
                 callbacks: IngestCallbacks = IngestCallbacks()) -> list[Outcome]:
    """Ingest the files ``paths`` (see :func:`expand_inputs` for folders), in order; with the vision model on
    a GPU (``ingest.batched``: configuration alone), several at once with their windows batched together.

    Returns one :class:`Outcome` per path: done, failed, quarantined, lost or skipped. The model failing to
    load raises ``ModelLoadError``."""
    from cogvlm_media.ingest.batched import pipeline_for

    # runs left "running" by a killed worker of this machine (or with an expired lease) are taken back
    # first, as the watch daemon does: a killed `ingest` is redone at once, by this one or by the daemon
    jobs.recover(engine)
    pipeline = pipeline_for(settings)
    if pipeline is not None:
        with pipeline:
            return pipeline.ingest_paths(engine, paths, options, callbacks)
    worker = jobs.worker_id()
    outcomes: list[Outcome] = []
    for number, path in enumerate(paths, 1):
        if callbacks.file_started:
            callbacks.file_started(number, len(paths), path)
        outcome = ingest_file(engine, settings, path, worker, options, on_stage=_file_stage(callbacks, path))
        if callbacks.file_done:
            callbacks.file_done(outcome)
        outcomes.append(outcome)
    return outcomes
