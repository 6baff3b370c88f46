"""The GPU ingest path: several files in flight, the windows of all of them batched through one model.

Chosen by configuration alone (``batched_enabled``): the vision analyser is in use (``[model] path``
set) and a CUDA device is present; ``[model] batched = "on"`` forces it (tests run it on the CPU),
``"off"`` keeps one file at a time. ``ingest`` and ``watch`` both take it.

Each file runs ``claimed_run.process_run`` in its own thread (probe, shots, speech, windows on the CPU;
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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from cogvlm_media.config import Settings
from cogvlm_media.ingest.claimed_run import Outcome, process_run
from cogvlm_media.ingest.paths import SKIPPED_BUSY, IngestCallbacks, IngestOptions, claim_path


def default_files_in_flight() -> int:
    """Enough files in their CPU stages to keep a large batch fed: one per CPU core, 4 to 16."""
    return min(16, max(4, os.cpu_count() or 4))


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
        self.files_in_flight = max(1, ms.files_in_flight or default_files_in_flight())
        self.linger = ms.linger_seconds if linger is None else linger
        self.batcher = None
        self._lock = threading.Lock()
        # host frames are preprocessed (224 px, float) in the file threads, not in the batcher's
        from cogvlm_media.model.inputs import preprocess_on_host

        self.prepare = preprocess_on_host

    def start(self) -> "BatchedPipeline":
        """Load the model (once, whichever thread asks first) and start the batcher."""
        from cogvlm_media.model.engine import VideoChat
        from cogvlm_media.model.window_batcher import WindowBatcher

        with self._lock:
            if self.batcher is None:
                if self.chat is None:
                    self._share_gpu_with_decoders()
                    self.chat = VideoChat.from_settings(self.settings.model)
                self.batcher = WindowBatcher(self.chat, queue_items=self.settings.model.queue_windows or None,
                                             linger=self.linger).start()
        return self

    def _share_gpu_with_decoders(self) -> None:
        """Before the model loads on CUDA: expandable segments, and room kept for the NVDEC decoders of the
        files in flight (the automatic batch size is then taken from what is left)."""
        from cogvlm_media.model.engine import resolve_device
        from cogvlm_media.model.gpu_memory import (decoder_headroom_bytes, keep_free_for_decoders,
                                                   prefer_expandable_segments)

        device = resolve_device(self.settings.model.device)
        if device.type != "cuda":
            return
        prefer_expandable_segments()
        headroom = decoder_headroom_bytes(self.frame_source.name, self.files_in_flight,
                                          self.settings.model.decoder_reserve_gib)
        keep_free_for_decoders(device, headroom)

    def close(self) -> None:
        if self.batcher is not None:
            self.batcher.close()

    def __enter__(self) -> "BatchedPipeline":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def process_run(self, engine, settings: Settings, run, worker: str, on_stage=None) -> Outcome:
        """``claimed_run.process_run`` with the file's windows sent to the shared batcher (same signature:
        the watch daemon's worker threads call it)."""
        from cogvlm_media.analysis.vision_analyser import VisionAnalyser

        self.start()
        with self.batcher.ticket(run.path) as ticket:
            analyser = VisionAnalyser(settings, chat=self.chat, answerer=ticket, frame_source=self.frame_source,
                                      prepare=self.prepare)
            return process_run(engine, settings, run, worker, on_stage=on_stage, analyser=analyser)

    def ingest_paths(self, engine, paths: Sequence[str], options: IngestOptions = IngestOptions(),
                     callbacks: IngestCallbacks = IngestCallbacks()) -> list[Outcome]:
        """``ingest.ingest_paths`` with ``files_in_flight`` files claimed and processed at once; outcomes in
        the order of ``paths``. Stage events name their file (``callbacks.file_stage``)."""
        from cogvlm_media.store import jobs

        counter = iter(range(1, len(paths) + 1))
        lock = threading.Lock()

        def one(path: str) -> Outcome:
            worker = jobs.worker_id()
            run_id, run = claim_path(engine, self.settings, path, worker, options)
            if run is None:
                outcome = Outcome(run_id, path, "skipped", error=SKIPPED_BUSY)
            else:
                with lock:
                    number = next(counter)
                if callbacks.file_started:
                    callbacks.file_started(number, len(paths), path)
                stage = (lambda s, d, t: callbacks.file_stage(path, s, d, t)) if callbacks.file_stage else None
                outcome = self.process_run(engine, self.settings, run, worker, on_stage=stage)
            if callbacks.file_done:
                callbacks.file_done(outcome)
            return outcome

        self.start()
        with ThreadPoolExecutor(self.files_in_flight, thread_name_prefix="ingest-file") as pool:
            return list(pool.map(one, paths))


def pipeline_for(settings: Settings) -> BatchedPipeline | None:
    """The batched pipeline when the configuration chooses it, else None (the one-file-at-a-time path)."""
    return BatchedPipeline(settings) if batched_enabled(settings) else None
