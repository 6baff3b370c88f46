"""Ingest: the orchestration of media → analysis → store for one file at a time.

``ingest_paths`` is what `cogvlm-media ingest` runs; the watch daemon claims runs from the same queue
and calls :func:`process_run`.
"""

from cogvlm_media.ingest.session import Outcome, process_run
from cogvlm_media.ingest.stages import IngestError, analyse_file

__all__ = ["Outcome", "process_run", "IngestError", "analyse_file"]
