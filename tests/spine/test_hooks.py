"""hooks: listeners (asset_changed hookimpls) run inline by default, on one background thread inside
`background()`, never raise."""

from __future__ import annotations

import threading
import time

import pytest

from cogvlm_media import hooks
from cogvlm_media.hookspecs import hookimpl


class Listener:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    @hookimpl
    def asset_changed(self, engine, settings, asset_id):
        if asset_id == 99:
            raise RuntimeError("listener bug")
        time.sleep(0.05)
        self.calls.append((threading.current_thread().name, asset_id))


@pytest.fixture
def listener(register_plugin):
    return register_plugin(Listener()).calls


def test_inline_by_default_and_failures_are_contained(register_plugin, listener):
    after = register_plugin(Listener())  # registered last: called first, and its failure stops no other
    hooks.emit("asset_changed", None, None, asset_id=1)
    hooks.emit("asset_changed", None, None, asset_id=99)  # raises inside: logged, not raised
    hooks.emit("asset_changed", None, None)  # the daemon's "anything may have changed": asset_id None
    here = threading.current_thread().name
    assert listener == after.calls == [(here, 1), (here, None)]


def test_background_coalesces_and_drains(listener):
    with hooks.background(drain_seconds=10):
        started = time.monotonic()
        for _ in range(5):
            hooks.emit("asset_changed", None, None, asset_id=7)
        hooks.emit("asset_changed", None, None, asset_id=8)
        assert time.monotonic() - started < 0.2  # emit does not wait for the listener (6 calls: 0.3 s)
    ids = [asset for _name, asset in listener]
    assert {"hooks"} == {name for name, _ in listener}
    assert ids.count(8) == 1 and 1 <= ids.count(7) <= 2  # repeats of a pending event are coalesced


def test_closing_drops_events_left_after_the_deadline(listener):
    with hooks.background(drain_seconds=10.0) as worker:
        for asset in (1, 2, 3):
            hooks.emit("asset_changed", None, None, asset_id=asset)
        time.sleep(0.01)  # the first listener call is under way
        worker.drain_seconds = 0.02  # the owner may set the budget as it leaves
    # the call in flight completed within the budget; the queued ones were dropped
    time.sleep(0.1)
    assert [asset for _name, asset in listener] == [1]
    assert not worker.busy


class SlowListener:
    def __init__(self) -> None:
        self.release = threading.Event()

    @hookimpl
    def asset_changed(self, asset_id):  # a listener may take only the arguments it needs
        self.release.wait(10)


def test_closing_leaves_a_slow_listener_behind_and_says_so(register_plugin):
    release = register_plugin(SlowListener()).release
    started = time.monotonic()
    with hooks.background(drain_seconds=0.3) as worker:
        hooks.emit("asset_changed", None, None, asset_id=1)
        time.sleep(0.05)
        with hooks.background(drain_seconds=0.0) as inner:  # nested: the outer block owns the thread
            assert inner is worker
        assert not worker.busy  # leaving the inner block closed nothing
    assert 0.25 < time.monotonic() - started < 2  # bounded: the budget, not the listener, decides
    assert worker.busy  # the owner must leave without interpreter teardown
    release.set()
    worker.thread.join(5)
    assert not worker.busy
