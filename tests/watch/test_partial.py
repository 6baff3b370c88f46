"""A partial version that fails the probe is "still arriving", not a quarantine (issue 13, item 9).

Before, a copy in 1 MB chunks with a close after each produced ten quarantined partial versions before
the full file was analysed. The gate part (a close hint no longer shortens the window of a file that
grew after one) is in test_gate.py; here the two queue-side parts, with the real ffprobe."""

from __future__ import annotations

import shutil

from sqlalchemy import select

from cogvlm_media.config import Settings
from cogvlm_media.ingest import arrival, process_run
from cogvlm_media.store import jobs
from cogvlm_media.store.engine import get_engine, read_session
from cogvlm_media.store.models import IngestRun


def runs(engine):
    with read_session(engine) as s:
        return s.scalars(select(IngestRun).order_by(IngestRun.id)).all()


def test_a_version_that_fails_the_probe_while_the_file_grows_is_set_aside(tmp_path, base_clip, monkeypatch):
    settings = Settings(home=tmp_path / "home")
    engine = get_engine(settings.db_url)
    f = tmp_path / "copy.mp4"
    full = base_clip.read_bytes()
    f.write_bytes(full[: len(full) // 3])  # the first chunk: ffprobe cannot read it
    st = f.stat()
    jobs.enqueue_many(engine, [(str(f), st.st_size, st.st_mtime_ns)], max_attempts=3)
    real_probe = arrival.probe_file

    def probe_while_the_copy_goes_on(path):
        with open(path, "ab") as fh:  # the writer sends its next chunk while ffprobe reads
            fh.write(full[len(full) // 3: 2 * len(full) // 3])
        return real_probe(path)

    monkeypatch.setattr(arrival, "probe_file", probe_while_the_copy_goes_on)
    run = jobs.claim(engine, "w", 60)
    outcome = process_run(engine, settings, run, "w")
    (row,) = runs(engine)
    assert (row.status, row.outcome) == ("done", "superseded") and outcome.status == "done"
    assert row.error.startswith("still arriving")
    monkeypatch.undo()
    # the finished file is a new version: queued and analysed
    shutil.copyfile(base_clip, f)
    st = f.stat()
    assert jobs.enqueue_many(engine, [(str(f), st.st_size, st.st_mtime_ns)])
    run = jobs.claim(engine, "w", 60)
    assert process_run(engine, settings, run, "w").outcome == "analysed"
    assert jobs.counts(engine)["quarantined"] == 0


def test_a_quarantined_partial_version_is_superseded_by_the_next_version(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path / 'q.db'}")
    jobs.enqueue_many(engine, [("/w/a.mp4", 100, 1)])
    run = jobs.claim(engine, "w", 60)
    jobs.fail(engine, run.id, "w", "not a readable media file", retryable=False)
    assert jobs.counts(engine)["quarantined"] == 1
    assert jobs.enqueue_many(engine, [("/w/a.mp4", 200, 2)])
    old, new = runs(engine)
    assert (old.status, old.outcome) == ("done", "superseded")
    assert old.error == "superseded by a newer version (was: not a readable media file)"
    assert new.status == "queued" and jobs.counts(engine)["quarantined"] == 0
