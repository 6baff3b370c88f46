"""The vision analyser end to end on a rendered clip with the tiny model (gibberish words: structure and times)."""

from __future__ import annotations

import numpy as np
import pytest

from cogvlm_media.analysis.analyser import AnalysisInput, analyser_name, get_analyser
from cogvlm_media.records import Shot
from cogvlm_media.analysis.vision_analyser import VisionAnalyser
from cogvlm_media.analysis.windows import plan_windows
from cogvlm_media.config import ModelSettings, Settings
from cogvlm_media.media.frames import decoded_frame_times
from cogvlm_media.media.probe import probe


def shots_of(clip, times) -> list[Shot]:
    starts = list(clip.shot_starts) + [clip.frame_count]
    return [Shot(i, a, b - 1, float(times[a]), float(times[b]) if b < len(times) else clip.duration,
                 "start" if i == 0 else "cut") for i, (a, b) in enumerate(zip(starts, starts[1:]))]


@pytest.fixture(scope="module")
def item(cut_clip):
    info = probe(cut_clip.path)
    times = decoded_frame_times(cut_clip.path, info.frame_count)
    shots = shots_of(cut_clip, times)
    windows = plan_windows(shots, times, info.duration, max_seconds=8.0)
    return AnalysisInput(path=str(cut_clip.path), media=info, shots=shots, transcript=None, windows=windows,
                         frame_times=times)


@pytest.fixture(scope="module")
def settings(checkpoint):
    return Settings(model=ModelSettings(path=str(checkpoint), batch_size=4, max_new_tokens=12))


def test_enabled_by_configuration_alone(settings):
    assert analyser_name(settings) == "vision"
    assert analyser_name(Settings()) == "embedded"
    assert isinstance(get_analyser(settings), VisionAnalyser)


def test_analyse_rendered_clip(settings, item, checkpoint):
    assert len(item.windows) >= 3
    calls = []
    analysis = get_analyser(settings).analyse(item, lambda done, total: calls.append((done, total)))
    assert analysis.analyser == "vision" and analysis.model_version == str(checkpoint)
    assert [c.window_index for c in analysis.captions] == [w.index for w in item.windows]
    assert all(c.source == "vision" for c in analysis.captions)
    assert all(isinstance(c.text, str) and len(c.text.split()) <= 12 for c in analysis.captions)
    # scenes keep the embedded analyser's boundaries; summaries come from the text-only pass
    from cogvlm_media.analysis.embedded import EmbeddedAnalyser

    base = EmbeddedAnalyser(settings).analyse(item)
    assert [(s.start, s.end, s.shot_indices) for s in analysis.scenes] == \
           [(s.start, s.end, s.shot_indices) for s in base.scenes]
    assert all(s.summary for s in analysis.scenes)
    # every visual moment lies inside a window and on or between that window's sampled frame times
    for m in analysis.moments:
        assert m.kind in ("moment", "speech")
        if m.kind == "moment":
            assert any(w.start <= m.time <= w.end for w in item.windows)
    assert calls[-1][0] == calls[-1][1] and calls == sorted(calls)
    times = [m.time for m in analysis.moments]
    assert times == sorted(times)


class ScriptedChat:
    """Stands in for VideoChat with fixed answers, to check the times the analyser writes."""

    name = "scripted"
    batch_size = 4

    def __init__(self):
        self.requests = []

    def answer(self, requests, max_new_tokens=None, progress=None):
        self.requests += requests
        out = []
        for r in requests:
            if r.frames is None:
                out.append("A test pattern scene. It has bars.")
            elif r.query.startswith("List"):
                out.append("1: bars appear\n2-3 seconds: colours change")
            else:
                out.append(f"{len(r.frames)} frames of a test pattern")
        return out


def test_times_come_from_each_windows_sampled_frames(settings, item):
    chat = ScriptedChat()
    analysis = VisionAnalyser(settings, chat=chat).analyse(item)
    frames = [r.frames for r in chat.requests if r.frames is not None]
    assert len(frames) == 2 * len(item.windows)
    assert all(f.dtype == np.uint8 and f.ndim == 4 for f in frames)
    assert [c.text for c in analysis.captions] == [f"{len(w.frame_indices)} frames of a test pattern"
                                                   for w in item.windows]
    moments = [m for m in analysis.moments if m.kind == "moment"]
    want = sorted([w.frame_times[1] for w in item.windows] + [w.frame_times[2] for w in item.windows])
    assert [m.time for m in moments] == pytest.approx(want)
    spans = sorted(m.duration for m in moments if m.name == "Colours change")
    assert spans == pytest.approx(sorted(w.frame_times[3] - w.frame_times[2] for w in item.windows))
    assert all(s.title == "A test pattern scene" and s.summary.startswith("A test pattern") for s in analysis.scenes)
    summaries = [r for r in chat.requests if r.frames is None]
    assert len(summaries) == len(analysis.scenes)
    assert all("(1)" in r.query for r in summaries)
