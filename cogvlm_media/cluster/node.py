"""The work a node does for one file (a Ray task): claim the queued run under this node's worker id,
find the file (mapping or streamed copy), analyse it (windows to a model replica when there is one) and
store the result in one transaction through ``claimed_run.process_run``."""

from __future__ import annotations

import os
from dataclasses import dataclass

from cogvlm_media.ingest.claimed_run import Outcome


@dataclass
class NodeResult:
    outcome: Outcome
    node: str  # the Ray node id
    worker: str  # the worker id the run was claimed under
    access: str  # direct | mapped | streamed ("" when the run was not ours)


@dataclass(frozen=True)
class FileJob:
    run_id: int
    path: str
    size: int | None
    replica: object = None  # a ModelReplica actor handle, or None (embedded analyser)
    model_name: str = ""


def run_file(job: FileJob, settings, file_server) -> NodeResult:
    """The body of the per-file Ray task (see :func:`file_task`)."""
    import ray

    from cogvlm_media.cluster.connect import node_worker_id
    from cogvlm_media.cluster.files import open_for_node
    from cogvlm_media.ingest.claimed_run import process_run
    from cogvlm_media.ingest.paths import SKIPPED_BUSY
    from cogvlm_media.store import jobs
    from cogvlm_media.store.engine import get_engine

    node = ray.get_runtime_context().get_node_id()
    worker = node_worker_id(node)
    engine = get_engine(settings.db_url, migrate=False)
    run = jobs.claim(engine, worker, settings.watch.lease_seconds, run_id=job.run_id)
    if run is None:
        return NodeResult(Outcome(job.run_id, job.path, "skipped", error=SKIPPED_BUSY), node, worker, "")
    try:
        access = open_for_node(run.path, job.size, file_server, settings.cluster.stream_chunk_bytes)
    except Exception as exc:  # unreadable from here and not streamable: a retryable failure of this run
        message = f"cannot read the file on node {node[:12]}: {exc}"[:500]
        status = jobs.fail(engine, run.id, worker, message, retryable=True,
                           backoff_seconds=settings.watch.backoff_seconds)
        return NodeResult(Outcome(run.id, run.path, status, error=message), node, worker, "")
    analyser = ticket = None
    if job.replica is not None:
        from cogvlm_media.analysis.vision_analyser import VisionAnalyser
        from cogvlm_media.cluster.replicas import RemoteTicket, ReplicaName
        from cogvlm_media.model.inputs import preprocess_on_host

        ticket = RemoteTicket(job.replica, f"{run.id}:{run.path}", settings.cluster.queue_windows)
        analyser = VisionAnalyser(settings, chat=ReplicaName(job.model_name), answerer=ticket,
                                  prepare=preprocess_on_host)
    try:
        outcome = process_run(engine, settings, run, worker, analyser=analyser, source_path=access.path,
                              notify=False)
    finally:
        if ticket is not None:
            ticket.finish()  # also when the analysis failed: the replica stops waiting for this file
        if access.how == "streamed":
            os.unlink(access.path)
    return NodeResult(outcome, node, worker, access.how)


def file_task():
    """The Ray remote function for :func:`run_file`: one CPU, spread over the nodes, never retried by
    Ray itself (the driver takes a lost node's run back through the queue and sends it again)."""
    import ray

    return ray.remote(num_cpus=1, max_retries=0, scheduling_strategy="SPREAD")(run_file)
