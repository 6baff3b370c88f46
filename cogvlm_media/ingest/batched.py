"""The GPU ingest path: several files in flight, the windows of all of them batched through one model.

Chosen by configuration alone (``batched_enabled``): the vision analyser is in use (``[model] path``
set) and a CUDA device is present; ``[model] batched = "on"`` forces it (tests run it on the CPU),
``"off"`` keeps one file at a time. ``ingest`` and ``watch`` both take it.

Each file runs ``session.process_run`` in its own thread (probe, shots, speech, windows on the CPU;
then its windows go to the shared ``WindowBatcher`` through the file's ticket, decoded one window at a
time by the ``FrameSource``; then the store write and the search-index update, in the file's thread,
never in the batcher's). ``files_in_flight`` files at once keep the batches full; one long file fills
them too, since its windows are queued without waiting for each other's answers. A file that fails
(decode, model or store) fails alone: its queued windows are dropped, the rest of its batch is
answered and stored.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from cogvlm_media.config import Settings
from cogvlm_media.ingest.session import Outcome, process_run

DEFAULT_FILES_IN_FLIGHT = 4
FileStage = Callable[[str, str, float, float], None]  # (path, stage, done, total)


def cuda_present() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def batched_enabled(settings: Settings) -> bool:
    from cogvlm_media.analysis.analyser import analyser_name

    mode = settings.model.batched
    if mode == "off" or not settings.model.path or analyser_name(settings) != "vision":
        return False
    if mode == "on":
        return True
    if mode != "auto":
        raise ValueError(f"[model] batched must be auto, on or off, not {mode!r}")
    return cuda_present()


class BatchedPipeline:
    """The shared model and batcher for as long as the context is open.

    ``chat``: an already loaded ``VideoChat`` (default: loaded from ``[model]`` on entry);
    ``frame_source``: the window frames' decoder (default: ``[model] frame_source``)."""

    def __init__(self, settings: Settings, chat=None, frame_source=None, linger: float | None = None) -> None:
        from cogvlm_media.media.frame_source import get_frame_source

        self.settings = settings
        ms = settings.model
        self.chat = chat
        self.frame_source = frame_source or get_frame_source(ms.frame_source)
        self.files_in_flight = max(1, ms.files_in_flight or DEFAULT_FILES_IN_FLIGHT)
        self.linger = ms.linger_seconds if linger is None else linger
        self.batcher = None
        self._lock = threading.Lock()

    def start(self) -> "BatchedPipeline":
        """Load the model (once, whichever thread asks first) and start the batcher."""
        from cogvlm_media.model.engine import VideoChat
        from cogvlm_media.model.window_batcher import WindowBatcher

        with self._lock:
            if self.batcher is None:
                if self.chat is None:
                    self.chat = VideoChat.from_settings(self.settings.model)
                self.batcher = WindowBatcher(self.chat, queue_items=self.settings.model.queue_windows or None,
                                             linger=self.linger).start()
        return self

    def close(self) -> None:
        if self.batcher is not None:
            self.batcher.close()

    def __enter__(self) -> "BatchedPipeline":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def process_run(self, engine, settings: Settings, run, worker: str, on_stage=None) -> Outcome:
        """``session.process_run`` with the file's windows sent to the shared batcher (same signature:
        the watch daemon's worker threads call it)."""
        from cogvlm_media.analysis.vision_analyser import VisionAnalyser

        self.start()
        with self.batcher.ticket(run.path) as ticket:
            analyser = VisionAnalyser(settings, chat=self.chat, answerer=ticket, frame_source=self.frame_source)
            return process_run(engine, settings, run, worker, on_stage=on_stage, analyser=analyser)

    def ingest_paths(self, engine, paths: Sequence[str], reingest: bool = False,
                     on_stage: FileStage | None = None,
                     on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
        """Enqueue ``paths``, then claim and process them ``files_in_flight`` at a time; outcomes in the
        order of ``paths``."""
        from cogvlm_media.store import jobs

        runs = []
        for path in paths:
            try:
                st = os.stat(path)
                size, mtime = st.st_size, st.st_mtime_ns
            except OSError:
                size = mtime = None
            run_id, _ = jobs.enqueue(engine, path, size=size, mtime_ns=mtime, source="ingest", reingest=reingest,
                                     max_attempts=1)
            runs.append((run_id, path))

        def one(run_id: int, path: str) -> Outcome:
            worker = jobs.worker_id()
            run = jobs.claim(engine, worker, self.settings.watch.lease_seconds, run_id=run_id)
            if run is None:
                outcome = Outcome(run_id, path, "skipped", error="already being ingested by another process")
            else:
                stage = (lambda s, d, t: on_stage(path, s, d, t)) if on_stage else None
                outcome = self.process_run(engine, self.settings, run, worker, on_stage=stage)
            if on_outcome:
                on_outcome(outcome)
            return outcome

        self.start()
        with ThreadPoolExecutor(self.files_in_flight, thread_name_prefix="ingest-file") as pool:
            futures = [pool.submit(one, run_id, path) for run_id, path in runs]
            return [f.result() for f in futures]


def pipeline_for(settings: Settings) -> BatchedPipeline | None:
    """The batched pipeline when the configuration chooses it, else None (the one-file-at-a-time path)."""
    return BatchedPipeline(settings) if batched_enabled(settings) else None
