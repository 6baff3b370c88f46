"""Model replicas: one Ray actor per GPU holds a ``VideoChat`` and the same ``WindowBatcher`` as the
single-GPU path (``ingest/batched.py``), taking the windows of every file sent to it.

A file's task on a CPU node talks to its replica through a :class:`RemoteTicket` (the answerer interface
of a batcher ticket: ``answer_stream`` and ``finish``). The ticket keeps at most ``in_flight`` windows
on their way to the replica (``ray.wait`` before sending more), and the replica's batcher queue is
bounded too (``queue_items``), so the object store holds a bounded number of decoded windows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable


class ModelReplica:
    """The actor body (made a Ray actor by :func:`start_replicas`; threaded: one call per window)."""

    def __init__(self, model_settings, linger: float, queue_items: int | None) -> None:
        from cogvlm_media.model.engine import VideoChat
        from cogvlm_media.model.window_batcher import WindowBatcher

        self.chat = VideoChat.from_settings(model_settings)
        self.batcher = WindowBatcher(self.chat, queue_items=queue_items, linger=linger).start()
        self._tickets: dict[str, object] = {}
        self._lock = threading.Lock()
        self.windows: dict[str, int] = {}  # items answered per file (for reports and tests)

    def name(self) -> str:
        return self.chat.name

    def _ticket(self, key: str):
        with self._lock:
            if key not in self._tickets:
                self._tickets[key] = self.batcher.ticket(key)
            return self._tickets[key]

    def answer(self, key: str, item) -> list[str]:
        """Queue ``item`` (a ``Questions``) under the file ``key`` and wait for its answers."""
        answers = self._ticket(key).submit(item).result()
        with self._lock:
            self.windows[key] = self.windows.get(key, 0) + 1
        return answers

    def finish(self, key: str, failed: bool = False) -> None:
        with self._lock:
            ticket = self._tickets.pop(key, None)
        if ticket is not None:
            if failed:
                ticket.cancel()
            ticket.close()

    def stats(self) -> dict:
        with self._lock:
            return {"windows": dict(self.windows), "batches": len(self.batcher.batches),
                    "peak_queued": self.batcher.peak_queued}


def start_replicas(settings, count: int) -> list:
    """``count`` replica actors, each taking one ``[cluster] gpu_resource`` (num_gpus=1 for "GPU")."""
    import ray

    c, m = settings.cluster, settings.model
    resource = {"num_gpus": 1} if c.gpu_resource == "GPU" else {"resources": {c.gpu_resource: 1}}
    # each call waits on the batcher: enough threads for every file's windows in flight, and then some
    concurrency = max(16, 4 * c.queue_windows * max(1, c.files_in_flight or 8))
    actor = ray.remote(ModelReplica).options(num_cpus=0, max_concurrency=concurrency, max_restarts=0, **resource)
    return [actor.remote(m, m.linger_seconds, m.queue_windows or None) for _ in range(count)]


class RemoteTicket:
    """One file's windows to one replica, at most ``in_flight`` at a time."""

    def __init__(self, replica, key: str, in_flight: int) -> None:
        self.replica, self.key, self.in_flight = replica, key, max(1, in_flight)
        self.failed = False

    def answer_stream(self, items: Iterable, max_new_tokens: int | None = None,
                      progress: Callable[[int, int], None] | None = None) -> list[list[str]]:
        import ray

        from cogvlm_media.model.engine import Questions

        refs: list = []
        done = 0
        try:
            for item in items:
                if max_new_tokens and not item.max_new_tokens:
                    item = Questions(item.queries, item.frames, max_new_tokens)
                while len(refs) - done >= self.in_flight:  # backpressure: wait for the oldest answer
                    ray.wait([refs[done]], num_returns=1)
                    done += 1
                    if progress:
                        progress(done, done + self.in_flight)
                refs.append(self.replica.answer.remote(self.key, item))
            answers = [list(a) for a in ray.get(refs)]
        except BaseException:
            self.failed = True
            raise
        if progress:
            progress(len(answers), len(answers))
        return answers

    def finish(self) -> None:
        self.replica.finish.remote(self.key, self.failed)


class ReplicaName:
    """Stands in for the ``VideoChat`` on a CPU node: the analyser only needs the model's name."""

    def __init__(self, name: str) -> None:
        self.name = name
