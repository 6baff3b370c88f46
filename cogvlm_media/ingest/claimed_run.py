"""Process one claimed ingest run (heartbeat, analyse, store, record the outcome): the UI-free core
that `ingest_paths` and the watch daemon's workers both call."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from cogvlm_media import hooks
from cogvlm_media.config import DEFAULT_COLOURS, Settings
from cogvlm_media.ingest.access import require_readable
from cogvlm_media.ingest.arrival import StillArriving, probe_version
from cogvlm_media.ingest.stages import IngestError, StageCallback, analyse_file
from cogvlm_media.media.fingerprint import fingerprint
from cogvlm_media.store import jobs
from cogvlm_media.store.models import IngestRun
from cogvlm_media.store.engine import write_session
from cogvlm_media.store.queries import asset_by_fingerprint, path_row
from cogvlm_media.store.people_writer import record_faces
from cogvlm_media.store.writer import FileState, attach_path, record_analysis


class LeaseLost(Exception):
    """Another worker reclaimed this run (ours stalled past its lease): our results are discarded."""


@dataclass
class Outcome:
    run_id: int
    path: str
    status: str  # done | failed | quarantined | lost
    outcome: str = ""  # analysed | duplicate | unchanged
    asset_id: int | None = None
    error: str | None = None
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


class Heartbeat:
    """Extends the run's lease every lease/3 seconds in a background thread while work goes on, and
    records each new stage at once (a crash is judged by the stage it happened in: store/jobs.py)."""

    def __init__(self, engine: Engine, run_id: int, worker: str, lease: float) -> None:
        self.engine, self.run_id, self.worker, self.lease = engine, run_id, worker, lease
        self.stage: str | None = None
        self.lost = False
        self._stopped = False
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def enter_stage(self, name: str) -> None:
        if name != self.stage:
            self.stage = name
            self._wake.set()

    def _beat(self) -> None:
        while True:
            self._wake.wait(self.lease / 3)
            self._wake.clear()
            if self._stopped:
                return
            try:
                if not jobs.heartbeat(self.engine, self.run_id, self.worker, self.lease, self.stage):
                    self.lost = True
                    return
            except Exception:  # a busy database must not kill the worker; the next beat retries
                continue

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopped = True
        self._wake.set()
        self._thread.join(timeout=5)


def _file_state(path: str) -> FileState:
    try:
        state = FileState.of(path)
    except FileNotFoundError:
        raise IngestError("file not found (deleted or moved?)") from None
    except PermissionError:
        raise IngestError("permission denied") from None
    except OSError as exc:
        raise IngestError(f"cannot read file ({exc.strerror or exc})") from None
    if state.size == 0:
        raise IngestError("empty file (0 bytes)")
    require_readable(path)
    return state


def _known(engine: Engine, run: IngestRun, worker: str, state: FileState, key: str) -> Outcome | None:
    """Footage already analysed under this or another name: record the path, skip analysis."""
    with write_session(engine) as session:
        asset = asset_by_fingerprint(session, key)
        if asset is None:
            return None
        old = path_row(session, state.path)
        same = old is not None and old.asset_id == asset.id
        attach_path(session, asset, state)
        kind = "unchanged" if same else "duplicate"
        if not jobs.complete(session, run.id, worker, outcome=kind, asset_id=asset.id, fingerprint=key,
                             analyser=asset.analyser, analyser_version=asset.analyser_version,
                             model_version=asset.model_version):
            raise LeaseLost()
        return Outcome(run.id, state.path, "done", kind, asset.id)


def process_run(engine: Engine, settings: Settings, run: IngestRun, worker: str,
                on_stage: StageCallback | None = None, analyser=None, source_path: str | None = None,
                notify: bool = True) -> Outcome:
    """Analyse and store the claimed ``run``; failures are recorded on the run, never raised.
    ``analyser``: see ``stages.analyse_file``. ``source_path``: where this process reads the file (a
    cluster node's own mount of it, or a local copy of its bytes); the archive records ``run.path``.
    ``notify``: emit ``asset_changed`` after storing (a cluster node leaves that to the driver)."""
    started = time.monotonic()
    lease = settings.watch.lease_seconds
    with Heartbeat(engine, run.id, worker, lease) as beat:
        def stage(name: str, done: float, total: float) -> None:
            beat.enter_stage(name)
            if on_stage:
                on_stage(name, done, total)

        try:
            outcome = _process(engine, settings, run, worker, stage, analyser, source_path, notify)
        except LeaseLost:
            outcome = Outcome(run.id, run.path, "lost", error="lease lost to another worker")
        except StillArriving as exc:
            status = jobs.still_arriving(engine, run.id, worker, str(exc))
            outcome = Outcome(run.id, run.path, status, "superseded", error=str(exc))
        except IngestError as exc:
            status = jobs.fail(engine, run.id, worker, str(exc), retryable=exc.retryable,
                               backoff_seconds=settings.watch.backoff_seconds)
            outcome = Outcome(run.id, run.path, status, error=str(exc))
        except Exception as exc:  # an unexpected bug in one file's analysis must not stop the others
            message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'error'}"[:500]
            status = jobs.fail(engine, run.id, worker, message, retryable=True,
                               backoff_seconds=settings.watch.backoff_seconds)
            outcome = Outcome(run.id, run.path, status, error=message)
    outcome.seconds = time.monotonic() - started
    return outcome


def _process(engine: Engine, settings: Settings, run: IngestRun, worker: str,
             stage: StageCallback, analyser=None, source_path: str | None = None, notify: bool = True) -> Outcome:
    path = run.path
    local = source_path or path
    state = _file_state(local)
    key = fingerprint(local)
    # the archive names the file as it was queued (a node's copy or mount may differ in mtime or inode)
    recorded = replace(state, path=path) if source_path is None else replace(
        state, path=path, size=run.size if run.size is not None else state.size,
        mtime_ns=run.mtime_ns if run.mtime_ns is not None else state.mtime_ns)
    if not run.reingest:
        known = _known(engine, run, worker, recorded, key)
        if known:
            return known
    media = probe_version(local, state)
    result = analyse_file(local, settings, media, on_stage=stage, analyser=analyser)
    if _file_state(local) != state:
        raise IngestError("file changed while it was analysed", retryable=True)
    try:
        with write_session(engine) as session:
            asset = record_analysis(session, state=recorded, fingerprint=key, media=media, shots=result.shots,
                                    transcript=result.transcript, windows=result.windows,
                                    analysis=result.analysis, colours=settings.export.colours,
                                    speakers=result.stage_results.get("speakers"),
                                    speaker_match=settings.analysis.speaker_match,
                                    text=result.stage_results.get("text"))
            if "faces" in result.stage_results:
                record_faces(session, asset.id, result.stage_results["faces"], duration=media.duration,
                             threshold=settings.analysis.face_threshold,
                             colour={**DEFAULT_COLOURS, **settings.export.colours}["person"])
            a = result.analysis
            if not jobs.complete(session, run.id, worker, outcome="analysed", asset_id=asset.id, fingerprint=key,
                                 analyser=a.analyser, analyser_version=a.analyser_version,
                                 model_version=a.model_version):
                raise LeaseLost()
            asset_id = asset.id
    except IntegrityError:
        # the same footage was stored by another worker a moment ago: the retry records it as a duplicate
        raise IngestError("the same footage was being ingested concurrently", retryable=True) from None
    counts = {"shots": len(result.shots), "windows": len(result.windows), "scenes": len(result.analysis.scenes),
              "markers": len(result.analysis.scenes) + len(result.analysis.moments)
              + len(getattr(result.stage_results.get("text"), "events", ())),
              "segments": len(result.transcript.segments) if result.transcript else 0,
              "text_events": len(getattr(result.stage_results.get("text"), "events", ()))}
    stage("store", 1, 1)
    if notify:
        hooks.emit("asset_changed", engine, settings, asset_id=asset_id)
    return Outcome(run.id, path, "done", "analysed", asset_id, counts=counts)
