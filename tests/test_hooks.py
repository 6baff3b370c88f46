"""hooks: listeners (asset_changed hookimpls) run inline by default, on one background thread inside
`background()`, never raise. The drain budget runs on a fake clock; listeners are held on events, not sleeps."""

from __future__ import annotations

import threading
import time

import pytest
from fakeclock import Clock

from cogvlm_media import hooks
from cogvlm_media.hookspecs import hookimpl


def wait_until(predicate, timeout: float = 10.0) -> None:
    """A condition wait (real time, generous): the listener thread waits for the owner to start closing."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {predicate}"
        time.sleep(0.001)


class Listener:
    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.entered = threading.Event()
        self.hold = None  # called inside each call before it is recorded: a test holds the listener there

    @hookimpl
    def asset_changed(self, engine, settings, asset_id):
        if asset_id == 99:
            raise RuntimeError("listener bug")
        self.entered.set()
        if self.hold is not None:
            self.hold(asset_id)
        self.calls.append((threading.current_thread().name, asset_id))


@pytest.fixture
def listener(register_plugin):
    return register_plugin(Listener())


def test_inline_by_default_and_failures_are_contained(register_plugin, listener):
    after = register_plugin(Listener())  # registered last: called first, and its failure stops no other
    hooks.emit("asset_changed", None, None, asset_id=1)
    hooks.emit("asset_changed", None, None, asset_id=99)  # raises inside: logged, not raised
    hooks.emit("asset_changed", None, None)  # the daemon's "anything may have changed": asset_id None
    here = threading.current_thread().name
    assert listener.calls == after.calls == [(here, 1), (here, None)]


def test_background_coalesces_and_drains(listener):
    release = threading.Event()
    listener.hold = lambda _asset: release.wait(10)
    with hooks.background(drain_seconds=10, clock=Clock()):  # time stands still: everything drains
        try:
            hooks.emit("asset_changed", None, None, asset_id=7)
            assert listener.entered.wait(10)  # the background thread is held inside the first call
            for _ in range(4):
                hooks.emit("asset_changed", None, None, asset_id=7)
            hooks.emit("asset_changed", None, None, asset_id=8)
            assert listener.calls == []  # emit does not wait for the listener: every emit returned while it is held
        finally:
            release.set()
    ids = [asset for _name, asset in listener.calls]
    assert {"hooks"} == {name for name, _ in listener.calls}
    assert ids.count(8) == 1 and 1 <= ids.count(7) <= 2  # repeats of a pending event are coalesced
    assert ids == [7, 7, 8]  # the held 7, one 7 for the four repeats that came while it was pending, then 8


def test_closing_drops_events_left_after_the_deadline(listener):
    clock = Clock(step=1.0)  # once closing starts, every reading is a second later: the 0.02 s budget passes
    with hooks.background(drain_seconds=10.0, clock=clock) as worker:
        listener.hold = lambda _asset: wait_until(lambda: worker.deadline is not None)  # busy until the owner closes
        for asset in (1, 2, 3):
            hooks.emit("asset_changed", None, None, asset_id=asset)
        assert listener.entered.wait(10)  # the first listener call is under way
        worker.drain_seconds = 0.02  # the owner may set the budget as it leaves
    # the call in flight completed (it is never interrupted); the queued ones came after the deadline: dropped
    worker.thread.join(10)
    assert [asset for _name, asset in listener.calls] == [1]
    assert not worker.busy


class SlowListener:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()

    @hookimpl
    def asset_changed(self, asset_id):  # a listener may take only the arguments it needs
        self.entered.set()
        self.release.wait(10)


def test_closing_leaves_a_slow_listener_behind_and_says_so(register_plugin):
    slow = register_plugin(SlowListener())
    release = slow.release
    clock = Clock(step=0.1)  # each reading 0.1 s later: the 0.3 s budget is spent after a few readings
    started = clock()
    with hooks.background(drain_seconds=0.3, clock=clock) as worker:
        hooks.emit("asset_changed", None, None, asset_id=1)
        assert slow.entered.wait(10)  # the listener is under way (held until released)
        with hooks.background(drain_seconds=0.0) as inner:  # nested: the outer block owns the thread
            assert inner is worker
        assert not worker.busy  # leaving the inner block closed nothing
    assert 0.25 < clock() - started < 2  # bounded: the budget, not the listener, decides
    assert worker.busy  # the owner must leave without interpreter teardown
    release.set()
    worker.thread.join(5)
    assert not worker.busy
