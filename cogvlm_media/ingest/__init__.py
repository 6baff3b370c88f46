"""Ingest: the orchestration of media → analysis → store, one file at a time.

:func:`ingest_paths` is what `cogvlm-media ingest` and `demo` run (enqueue → claim → process each file);
the watch daemon claims runs from the same queue and calls :func:`process_run`.
"""

from cogvlm_media.ingest.claimed_run import Outcome, process_run
from cogvlm_media.ingest.paths import (IngestCallbacks, IngestOptions, claim_path, expand_inputs, ingest_file,
                                       ingest_paths)
from cogvlm_media.ingest.stages import IngestError, analyse_file

__all__ = ["Outcome", "process_run", "IngestCallbacks", "IngestOptions", "claim_path", "expand_inputs",
           "ingest_file", "ingest_paths", "IngestError", "analyse_file"]
