"""The watched folder removed and re-created keeps being watched (polling daemon and native supervisor)."""

from __future__ import annotations

import queue
import shutil
import threading
import time

import watch_support as ws

from cogvlm_media.watch.observers import Supervisor


def test_polling_daemon_keeps_watching_a_recreated_folder(tmp_path, base_clip, daemons):
    watched = tmp_path / "share"
    watched.mkdir()
    config = ws.write_config(tmp_path)
    d = daemons(config, [str(watched), "--poll"], tmp_path / "d.log")
    d.wait_for("ready", 30)
    assert "(polling)" in d.text()
    ws.variant(base_clip, watched / "one.mp4", 1)
    ws.wait_until(lambda: any(r["outcome"] == "analysed" for r in ws.runs(tmp_path)), 60, what="one.mp4 done")
    shutil.rmtree(watched)
    d.wait_for("observer for", 20)  # noticed it is gone
    watched.mkdir()
    ws.variant(base_clip, watched / "two.mp4", 2)
    ws.wait_until(lambda: sum(r["outcome"] == "analysed" for r in ws.runs(tmp_path)) == 2, 60, what="two.mp4 done")
    # and events (not only the rebuild scan) keep coming from the new observer
    ws.variant(base_clip, watched / "three.mp4", 3)
    ws.wait_until(lambda: sum(r["outcome"] == "analysed" for r in ws.runs(tmp_path)) == 3, 60,
                  what="three.mp4 done")
    assert d.terminate() == 0


def _drain(events: queue.Queue) -> list:
    out = []
    while True:
        try:
            out.append(events.get_nowait())
        except queue.Empty:
            return out


def test_native_supervisor_rebuilds_after_the_folder_is_recreated(tmp_path):
    watched = tmp_path / "local"
    watched.mkdir()
    events: queue.Queue = queue.Queue()
    sup = Supervisor([str(watched)], events)
    try:
        assert [r.path for r in sup.check()] == [str(watched)]
        assert sup.roots[0].mode == "native"
        (watched / "a.mp4").write_bytes(b"x")
        ws.wait_until(lambda: any(p.endswith("a.mp4") for _, p, _ in _drain(events)), 10, what="event for a.mp4")
        shutil.rmtree(watched)
        ws.wait_until(lambda: not sup.healthy(sup.roots[0]), 10, what="observer seen unhealthy")
        assert sup.check() == [] and sup.roots[0].missing
        watched.mkdir()
        assert [r.path for r in sup.check()] == [str(watched)]
        assert sup.roots[0].rebuilds == 1
        _drain(events)
        (watched / "b.mp4").write_bytes(b"x")
        ws.wait_until(lambda: any(p.endswith("b.mp4") for _, p, _ in _drain(events)), 10, what="event for b.mp4")
    finally:
        sup.stop()


def test_handler_never_raises():
    from watchdog.events import FileClosedEvent, FileCreatedEvent, FileMovedEvent

    from cogvlm_media.watch.observers import QueueHandler

    class Broken(queue.Queue):
        def put(self, item, block=True, timeout=None):
            raise RuntimeError("queue broken")

    handler = QueueHandler(Broken())
    for event in (FileCreatedEvent("/x/a.mp4"), FileMovedEvent("/x/.a.tmp", "/x/a.mp4"),
                  FileClosedEvent(b"/x/\xff.mp4")):
        handler.dispatch(event)  # must not raise: a raising handler kills the observer thread
    events: queue.Queue = queue.Queue()
    QueueHandler(events).dispatch(FileMovedEvent("/x/.a.tmp", "/x/a.mp4"))
    assert _drain(events) == [("deleted", "/x/.a.tmp", False), ("moved", "/x/a.mp4", False)]


def test_an_observer_that_hangs_in_stop_holds_up_nothing():
    """watchdog's stop() joins emitters with no time limit; a rebuild or a shutdown must not wait on it."""
    release = threading.Event()

    class Stuck:
        stopped = False

        def stop(self):
            release.wait(30)
            self.stopped = True

    stuck = Stuck()
    started = time.monotonic()
    Supervisor._stop(stuck, wait=0.3)
    assert 0.25 < time.monotonic() - started < 2 and not stuck.stopped
    release.set()
    ws.wait_until(lambda: stuck.stopped, 5, what="the stop to finish in the background")
