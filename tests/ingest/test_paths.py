"""`ingest.ingest_paths`, the loop `ingest` and `demo` run, with no UI: its events and its outcomes."""

from __future__ import annotations

import os

import pytest

from cogvlm_media.config import Settings
from cogvlm_media.ingest import IngestCallbacks, IngestOptions, expand_inputs, ingest_paths
from cogvlm_media.ingest.paths import SKIPPED_BUSY
from cogvlm_media.store import jobs
from cogvlm_media.store.engine import get_engine


@pytest.fixture
def archive(tmp_path):
    settings = Settings(home=tmp_path / "home")
    return settings, get_engine(settings.db_url)


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.started = 0  # where the current file's events begin
        self.callbacks = IngestCallbacks(file_started=self._start,
                                         stage=self._stage,
                                         file_done=lambda o: self.events.append(("done", o.path, o.status)))

    def _start(self, n: int, of: int, path: str) -> None:
        self.started = len(self.events)
        self.events.append(("start", n, of, path))

    def _stage(self, stage: str, done: float, total: float) -> None:
        if ("stage", stage) not in self.events[self.started:]:  # each stage's first report in this file
            self.events.append(("stage", stage))


def test_events_and_outcomes_in_order(archive, silent_clip, bad_inputs):
    settings, engine = archive
    clip, corrupt = str(silent_clip.path), str(bad_inputs["random_bytes"])
    seen = Recorder()
    outcomes = ingest_paths(engine, settings, [clip, corrupt], callbacks=seen.callbacks)
    assert [(o.path, o.status, o.outcome) for o in outcomes] == [(clip, "done", "analysed"),
                                                                 (corrupt, "quarantined", "")]
    assert outcomes[0].counts["shots"] == 1 and outcomes[0].asset_id == 1
    assert "not a readable media file" in outcomes[1].error
    # shots and the other stages (speech) run side by side: their first reports come in either order
    assert seen.events[:2] == [("start", 1, 2, clip), ("stage", "probe")]
    from cogvlm_media.analysis.stage import stages

    names = [st.name for st in stages(settings)]  # shots, speech and the optional [see] stages
    assert {"shots", "speech"} <= set(names)
    n = len(names)
    assert sorted(seen.events[2:2 + n]) == sorted(("stage", name) for name in names)
    assert seen.events[2 + n:] == [("stage", "windows"), ("stage", "analyse"), ("stage", "store"), ("done", clip, "done"),
                               ("start", 2, 2, corrupt), ("done", corrupt, "quarantined")]
    again = Recorder()
    [same] = ingest_paths(engine, settings, [clip], callbacks=again.callbacks)
    assert (same.status, same.outcome, same.asset_id) == ("done", "unchanged", 1)
    assert again.events == [("start", 1, 1, clip), ("done", clip, "done")]  # known footage: no stage runs
    [redone] = ingest_paths(engine, settings, [clip], IngestOptions(reingest=True))
    assert (redone.status, redone.outcome, redone.asset_id) == ("done", "analysed", 1)


def test_a_run_another_process_holds_is_skipped(archive, silent_clip):
    settings, engine = archive
    clip = str(silent_clip.path)
    [first] = ingest_paths(engine, settings, [clip])
    assert first.outcome == "analysed"
    st = os.stat(clip)  # this version of the file, queued and claimed by another worker
    run_id, _ = jobs.enqueue(engine, clip, size=st.st_size, mtime_ns=st.st_mtime_ns, reingest=True, max_attempts=1)
    assert jobs.claim(engine, "elsewhere:1:1", settings.watch.lease_seconds, run_id=run_id) is not None
    [held] = ingest_paths(engine, settings, [clip], IngestOptions(reingest=True))
    assert (held.status, held.error) == ("skipped", SKIPPED_BUSY)


def test_expand_inputs_walks_folders_and_names_what_gives_nothing(tmp_path):
    media = tmp_path / "media"
    (media / "sub").mkdir(parents=True)
    for name in ("b.MP4", "sub/a.mov", ".hidden.mp4", "notes.txt"):
        (media / name).write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    files, problems = expand_inputs([media, tmp_path / "empty", tmp_path / "gone.mp4", media / "b.MP4"],
                                    (".mp4", ".mov"))
    assert files == [str(media / "b.MP4"), str(media / "sub" / "a.mov")]
    assert problems == [(str(tmp_path / "empty"), "directory contains no video files"),
                        (str(tmp_path / "gone.mp4"), "file not found")]
