"""The driver of a cluster ingest: queue each file, send it to a node, take a lost node's run back and
send it again, and tell the search index about each stored file (the index lives where the driver is).

Backpressure: at most ``files_in_flight`` file tasks are out at once (``ray.wait`` before sending more);
each file keeps at most ``[cluster] queue_windows`` windows on their way to its model replica.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence

from cogvlm_media import hooks
from cogvlm_media.cluster.connect import alive_nodes, connect, node_of
from cogvlm_media.cluster.node import FileJob, NodeResult, file_task
from cogvlm_media.config import Settings
from cogvlm_media.ingest.claimed_run import Outcome
from cogvlm_media.ingest.paths import IngestCallbacks, IngestOptions, enqueue_path
from cogvlm_media.store import jobs

POLL = 0.25  # seconds between checks while a lost node's run is taken back


class ClusterRunner:
    """Use as a context manager: connects on entry (``RayUnavailable`` when the head is not there)."""

    def __init__(self, settings: Settings, address: str | None = None) -> None:
        self.settings = settings
        self.address = address or settings.cluster.ray_address
        self.replicas: list = []
        self.model_name = ""
        self.file_server = None
        self.files_in_flight = 1
        self.resubmitted = 0  # files sent again after their node was lost
        self.results: list[NodeResult] = []  # what each node reported (node, worker, how it read the file)
        self._task = None
        self._sent: dict[int, int] = {}  # run id -> times sent again
        self._next_replica = 0
        self._lock = threading.Lock()

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> "ClusterRunner":
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from cogvlm_media.analysis.analyser import analyser_name
        from cogvlm_media.cluster.files import FileServer

        connect(self.address)
        c = self.settings.cluster
        here = ray.get_runtime_context().get_node_id()
        self.file_server = ray.remote(FileServer).options(
            num_cpus=0, max_concurrency=8,
            scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False)).remote()
        self.files_in_flight = max(1, c.files_in_flight or int(ray.cluster_resources().get("CPU", 1)))
        if analyser_name(self.settings) == "vision":
            from cogvlm_media.cluster.replicas import start_replicas

            count = c.gpus or int(ray.cluster_resources().get(c.gpu_resource, 0))
            if count:
                self.replicas = start_replicas(self.settings, count)
                self.model_name = self._replica_name()
        self._task = file_task()
        return self

    def _replica_name(self) -> str:
        import ray

        from cogvlm_media.model.loading import ModelLoadError

        try:
            names = ray.get([r.name.remote() for r in self.replicas])
        except ray.exceptions.RayError as exc:
            first = (str(exc).strip().splitlines() or ["error"])[-1]
            raise ModelLoadError(f"a model replica failed to load: {first}"[:300]) from None
        return names[0]

    def close(self) -> None:
        import ray

        for actor in [*self.replicas, self.file_server]:
            if actor is not None:
                ray.kill(actor)
        self.replicas, self.file_server = [], None

    def __enter__(self) -> "ClusterRunner":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def replica_stats(self) -> list[dict]:
        import ray

        return ray.get([r.stats.remote() for r in self.replicas])

    # --- one file ----------------------------------------------------------------------------------

    def _job(self, run_id: int, path: str) -> FileJob:
        try:
            size = os.stat(path).st_size
        except OSError:
            size = None
        replica = None
        if self.replicas:
            with self._lock:
                replica = self.replicas[self._next_replica % len(self.replicas)]
                self._next_replica += 1
        return FileJob(run_id, path, size, replica, self.model_name)

    def _submit(self, job: FileJob):
        import ray

        # waited for: the server is a threaded actor, so a node's first read could overtake a call sent on
        ray.get(self.file_server.allow.remote([job.path]))
        return self._task.remote(job, self.settings, self.file_server)

    def _take_back(self, engine, run_id: int) -> str:
        """After the task of ``run_id`` was lost: wait until its run is no longer running (its node is
        seen dead, or its lease expires), then return the run's status."""
        from cogvlm_media.store.engine import read_session
        from cogvlm_media.store.models import IngestRun

        deadline = time.monotonic() + 2 * self.settings.watch.lease_seconds + 30
        while True:
            alive = alive_nodes()
            jobs.recover(engine, is_dead=lambda w: (n := node_of(w)) is not None and n not in alive)
            with read_session(engine) as session:
                status = session.get(IngestRun, run_id).status
            if status != "running" or time.monotonic() > deadline:
                return status
            time.sleep(POLL)

    def _settle(self, engine, job: FileJob, ref, resend_failed: bool = False) -> tuple[Outcome | None, object]:
        """The file's outcome, or (None, a new task) when it was sent again: after its node was lost, or
        (``resend_failed``) after a retryable failure while the run has attempts left."""
        import ray

        try:
            result: NodeResult = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:  # the task itself raised (a bug, the database): no resend
            cause = exc.cause if getattr(exc, "cause", None) is not None else exc
            first = (str(cause).strip().splitlines() or [""])[0]
            self._take_back(engine, job.run_id)
            return Outcome(job.run_id, job.path, "failed", error=f"{type(cause).__name__}: {first}"[:500]), None
        except ray.exceptions.RayError as exc:  # the node or its worker process was lost
            status = self._take_back(engine, job.run_id)
            with self._lock:
                self._sent[job.run_id] = tries = self._sent.get(job.run_id, 0) + 1
            if status in ("failed", "queued") and tries <= self.settings.watch.max_attempts:
                self.resubmitted += 1
                return None, self._submit(job)
            if status in ("failed", "queued"):
                return Outcome(job.run_id, job.path, "failed", error=f"lost {tries} times: {type(exc).__name__}"), None
            return self._final(engine, job, status), None
        self.results.append(result)
        outcome = result.outcome
        if resend_failed and outcome.status == "failed":  # retryable, attempts left (else quarantined)
            return None, self._submit(job)
        if outcome.status == "done" and outcome.outcome == "analysed":
            hooks.emit("asset_changed", engine, self.settings, asset_id=outcome.asset_id)
        return outcome, None

    def _final(self, engine, job: FileJob, status: str) -> Outcome:
        from cogvlm_media.store.engine import read_session
        from cogvlm_media.store.models import IngestRun

        with read_session(engine) as session:
            run = session.get(IngestRun, job.run_id)
            return Outcome(run.id, run.path, run.status, run.outcome or "", run.asset_id, run.error)

    def process_run(self, engine, settings: Settings, run, worker: str, on_stage=None) -> Outcome:
        """The watch daemon's ``process``: hand the run claimed here to a node (released, then claimed
        there by id) and wait for its outcome."""
        jobs.release(engine, run.id, worker)
        if on_stage:
            on_stage("cluster", 0, 1)
        job = self._job(run.id, run.path)
        ref = self._submit(job)
        while True:
            outcome, ref = self._settle(engine, job, ref)
            if outcome is not None:
                return outcome

    # --- many files --------------------------------------------------------------------------------

    def ingest_paths(self, engine, paths: Sequence[str], options: IngestOptions = IngestOptions(),
                     callbacks: IngestCallbacks = IngestCallbacks()) -> list[Outcome]:
        """``ingest.ingest_paths`` over the cluster: outcomes in the order of ``paths``. A lost node or a
        retryable failure costs an attempt, so a run may take up to ``[watch] max_attempts`` of them here
        (sent again at once; a file that fails every time ends quarantined)."""
        import ray

        attempts = max(options.max_attempts, self.settings.watch.max_attempts)
        outcomes: list[Outcome | None] = [None] * len(paths)
        pending: dict = {}  # task ref -> (index, job)

        def settle_one() -> None:
            ready, _ = ray.wait(list(pending), num_returns=1)
            index, job = pending.pop(ready[0])
            outcome, again = self._settle(engine, job, ready[0], resend_failed=True)
            if again is not None:
                pending[again] = (index, job)
                return
            outcomes[index] = outcome
            if callbacks.file_done:
                callbacks.file_done(outcome)

        for index, path in enumerate(paths):
            while len(pending) >= self.files_in_flight:
                settle_one()
            run_id = enqueue_path(engine, path, options, max_attempts=attempts)
            if callbacks.file_started:
                callbacks.file_started(index + 1, len(paths), path)
            job = self._job(run_id, path)
            pending[self._submit(job)] = (index, job)
        while pending:
            settle_one()
        return [o for o in outcomes if o is not None]


def open_runner(settings: Settings, address: str | None, fallback: str | None) -> tuple[ClusterRunner | None, str]:
    """A started runner for ``address`` (else ``[cluster] ray_address``), or (None, "") when neither is
    set. Head unreachable: ``RayUnavailable``, unless ``fallback`` (else ``[cluster] fallback``) is
    "local": then (None, the reason, to be shown before running here)."""
    from cogvlm_media.cluster.connect import RayUnavailable

    address = address or settings.cluster.ray_address
    fallback = fallback or settings.cluster.fallback
    if fallback not in ("", "local", "none"):
        raise ValueError(f"--ray-fallback must be local or none, not {fallback!r}")
    if not address:
        return None, ""
    try:
        return ClusterRunner(settings, address).start(), ""
    except RayUnavailable as exc:
        if fallback != "local":
            raise
        return None, f"{exc}; running locally (--ray-fallback local)"
