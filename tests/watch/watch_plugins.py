"""Test doubles for watch tests, installed only in test processes (never in the product).

* analyser ``watchtest``: the embedded analyser plus behaviour chosen by environment variables —
  ``WATCHTEST_SLOW="name-part:seconds"`` sleeps on matching files, ``WATCHTEST_CRASH="name-part"``
  raises on matching files, ``WATCHTEST_LOG=/file`` gets "sleeping PATH" / "analysed PATH" lines;
  ``WATCHTEST_SLOW_SHOTS=seconds`` sleeps in shot detection (a kill in another stage).
* ``WATCHTEST_SLOW_INDEX=seconds``: an ``asset_changed`` listener that sleeps first (a slow search-index
  update), then logs "indexed ASSET_ID" to ``WATCHTEST_LOG``.
* ``WATCHTEST_SLOW_PROBE="seconds[,name-part:seconds]"``: the daemon's ffprobe check replaced by one that
  sleeps (longer on matching files), logs "probed PATH" and passes every file.
* cheap shot detection and transcription (one shot per file, no speech), so per-file work stays a
  fraction of a second on 2 cores and does not depend on the model stages being present.
"""

from __future__ import annotations

import os
import sys
import time
import types

from cogvlm_media import records
from cogvlm_media.analysis.embedded import EmbeddedAnalyser
from cogvlm_media.hookspecs import hookimpl
from cogvlm_media.plugin_manager import get_plugin_manager


class WatchTestAnalyser(EmbeddedAnalyser):
    name = "watchtest"
    version = "1"

    def analyse(self, item, progress=None):
        base = os.path.basename(item.path)
        slow = os.environ.get("WATCHTEST_SLOW", "")
        if slow:
            part, _, seconds = slow.rpartition(":")
            if part and part in base:
                _log("sleeping", item.path)
                time.sleep(float(seconds))
        crash = os.environ.get("WATCHTEST_CRASH", "")
        if crash and crash in base:
            raise RuntimeError(f"test analyser crashed on {base}")
        result = super().analyse(item, progress)
        _log("analysed", item.path)
        return result


def _log(what: str, path: str) -> None:
    log = os.environ.get("WATCHTEST_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{what} {path}\n")


def detect_shots(path, media, settings, frames=None, progress=None, times=None, device=None, decode=None):
    """Same signature as cogvlm_media.analysis.shots.detect_shots: one shot over the whole file."""
    if os.environ.get("WATCHTEST_SLOW_SHOTS"):
        time.sleep(float(os.environ["WATCHTEST_SLOW_SHOTS"]))
    if progress:
        progress(1, 1)
    return [records.Shot(index=0, start_frame=0, end_frame=max(media.frame_count - 1, 0), start=0.0,
                   end=media.duration, transition="start")]


def transcribe(path, media, settings, audio=None, progress=None, cpu_threads=0):
    """Same signature as cogvlm_media.analysis.speech.transcribe: no speech."""
    if progress:
        progress(1, 1)
    return None


class WatchTestPlugin:
    @hookimpl
    def register_analysers(self):
        return {"watchtest": WatchTestAnalyser}


class SlowIndexPlugin:
    """Registered after the search index's listener, so it runs before it."""

    @hookimpl
    def asset_changed(self, engine, settings, asset_id):
        time.sleep(float(os.environ.get("WATCHTEST_SLOW_INDEX", "0")))
        _log("indexed", str(asset_id))


def slow_probe(path: str) -> None:
    spec = os.environ["WATCHTEST_SLOW_PROBE"].split(",")
    seconds = float(spec[0])
    for extra in spec[1:]:
        part, _, longer = extra.rpartition(":")
        if part in os.path.basename(path):
            seconds = float(longer)
    time.sleep(seconds)
    _log("probed", path)
    return None


def install() -> None:
    if os.environ.get("WATCHTEST_SLOW_PROBE"):
        from cogvlm_media.watch import gate

        gate.ffprobe_check = slow_probe  # before the daemon module imports it
    manager = get_plugin_manager()
    manager.register(WatchTestPlugin(), name="watchtest")
    if os.environ.get("WATCHTEST_SLOW_INDEX"):
        manager.register(SlowIndexPlugin(), name="watchtest-slow-index")
    shots = types.ModuleType("cogvlm_media.analysis.shots")
    shots.detect_shots = detect_shots
    speech = types.ModuleType("cogvlm_media.analysis.speech")
    speech.transcribe = transcribe
    sys.modules["cogvlm_media.analysis.shots"] = shots
    sys.modules["cogvlm_media.analysis.speech"] = speech
