"""hooks: listeners run inline by default, on one background thread inside `background()`, never raise."""

from __future__ import annotations

import sys
import threading
import time
import types

import pytest

from cogvlm_media import hooks


@pytest.fixture
def listener(monkeypatch):
    calls: list[tuple] = []
    module = types.ModuleType("hooktest_listener")

    def on_event(engine, settings, **payload):
        if payload.get("asset_id") == 99:
            raise RuntimeError("listener bug")
        time.sleep(0.05)
        calls.append((threading.current_thread().name, payload["asset_id"]))

    module.on_event = on_event
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(hooks.LISTENERS, "test_event", ["hooktest_listener:on_event", "missing_module_x:f"])
    return calls


def test_inline_by_default_and_failures_are_contained(listener):
    hooks.emit("test_event", None, None, asset_id=1)
    hooks.emit("test_event", None, None, asset_id=99)  # raises inside: logged, not raised
    assert listener == [(threading.current_thread().name, 1)]


def test_background_coalesces_and_drains(listener):
    with hooks.background(drain_seconds=10):
        started = time.monotonic()
        for _ in range(5):
            hooks.emit("test_event", None, None, asset_id=7)
        hooks.emit("test_event", None, None, asset_id=8)
        assert time.monotonic() - started < 0.2  # emit does not wait for the listener (6 calls: 0.3 s)
    ids = [asset for _name, asset in listener]
    assert {"hooks"} == {name for name, _ in listener}
    assert ids.count(8) == 1 and 1 <= ids.count(7) <= 2  # repeats of a pending event are coalesced


def test_closing_drops_events_left_after_the_deadline(listener):
    with hooks.background(drain_seconds=10.0) as worker:
        for asset in (1, 2, 3):
            hooks.emit("test_event", None, None, asset_id=asset)
        time.sleep(0.01)  # the first listener call is under way
        worker.drain_seconds = 0.02  # the owner may set the budget as it leaves
    # the call in flight completed within the budget; the queued ones were dropped
    time.sleep(0.1)
    assert [asset for _name, asset in listener] == [1]
    assert not worker.busy


def test_closing_leaves_a_slow_listener_behind_and_says_so(monkeypatch):
    release = threading.Event()
    module = types.ModuleType("hooktest_slow")
    module.on_event = lambda engine, settings, **payload: release.wait(10)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(hooks.LISTENERS, "test_event", ["hooktest_slow:on_event"])
    started = time.monotonic()
    with hooks.background(drain_seconds=0.3) as worker:
        hooks.emit("test_event", None, None, asset_id=1)
        time.sleep(0.05)
        with hooks.background(drain_seconds=0.0) as inner:  # nested: the outer block owns the thread
            assert inner is worker
        assert not worker.busy  # leaving the inner block closed nothing
    assert 0.25 < time.monotonic() - started < 2  # bounded: the budget, not the listener, decides
    assert worker.busy  # the owner must leave without interpreter teardown
    release.set()
    worker.thread.join(5)
    assert not worker.busy
