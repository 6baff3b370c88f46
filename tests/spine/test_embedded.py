"""The embedded analyser: scenes from shot groups and speech, key moments at sentence starts."""

from __future__ import annotations

import numpy as np

from cogvlm_media.analysis.analyser import AnalysisInput, get_analyser
from cogvlm_media.analysis.embedded import group_scenes, sentences
from cogvlm_media.records import Shot, SpeechSegment, Transcript, Word
from cogvlm_media.config import AnalysisSettings, ModelSettings, Settings
from cogvlm_media.media.probe import MediaInfo


def shot(i, a, b):
    return Shot(i, int(a * 25), int(b * 25) - 1, a, b, "start" if i == 0 else ("dissolve" if i == 3 else "cut"))


SHOTS = [shot(0, 0, 3), shot(1, 3, 6), shot(2, 6, 12), shot(3, 12, 14), shot(4, 14, 30), shot(5, 30, 31)]


def words(text, start, step=0.3):
    return tuple(Word(" " + w, start + i * step, start + i * step + 0.25) for i, w in enumerate(text.split()))


TRANSCRIPT = Transcript("en", (
    SpeechSegment(0, 1.0, 3.0, "Welcome back. Today we test.", words("Welcome back. Today we test.", 1.0)),
    # runs across the shot boundary at 12 s: the scene must not be cut there
    SpeechSegment(1, 11.0, 13.5, "This sentence crosses a cut!", words("This sentence crosses a cut!", 11.0)),
))


def test_sentences_split_on_punctuation_with_word_times():
    found = sentences(TRANSCRIPT)
    assert [s[2] for s in found] == ["Welcome back.", "Today we test.", "This sentence crosses a cut!"]
    assert found[1][0] == 1.6  # "Today" is the third word: 1.0 + 2 × 0.3
    assert sentences(None) == []
    bare = Transcript("en", (SpeechSegment(0, 0.0, 1.0, "Hi there. Bye.", (Word("Hi", 0, .2), Word("there.", .2, .4),
                                                                             Word("Bye.", .6, .8))),))
    assert [s[2] for s in sentences(bare)] == ["Hi there.", "Bye."]


def test_scene_grouping():
    groups = group_scenes(SHOTS, TRANSCRIPT, min_seconds=8.0)
    bounds = [(g[0].start, g[-1].end) for g in groups]
    # 0-12 reaches 8 s at the 12 s boundary, but speech runs across it → grows to 14;
    # the 1 s tail (30-31) joins the last scene
    assert bounds == [(0, 14), (14, 31)]
    assert group_scenes(SHOTS, None, 8.0)[0][-1].end == 12


def test_analyser_output(tmp_path):
    settings = Settings(home=tmp_path, analysis=AnalysisSettings(scene_min_seconds=8.0))
    analyser = get_analyser(settings)
    assert analyser.name == "embedded"
    media = MediaInfo("x.mp4", 1, 31.0, 25, 1, 775, 320, 240, 0, None, True, False, "h264", "mp4", 0.0)
    item = AnalysisInput("x.mp4", media, SHOTS, TRANSCRIPT, [], np.arange(775) / 25)
    result = analyser.analyse(item)
    assert [(s.start, s.end) for s in result.scenes] == [(0, 14), (14, 31)]
    assert result.scenes[0].title == "Welcome back."
    assert "Today we test." in result.scenes[0].summary and "4 shots (2 cuts, 1 dissolve)" in result.scenes[0].summary
    assert "No speech" in result.scenes[1].summary
    assert [(m.time, m.kind, m.note) for m in result.moments] == [
        (1.0, "speech", "Welcome back."), (1.6, "speech", "Today we test."),
        (11.0, "speech", "This sentence crosses a cut!")]


def test_auto_picks_vision_only_when_a_model_is_configured(tmp_path):
    from cogvlm_media.analysis.analyser import analyser_name

    assert analyser_name(Settings(home=tmp_path)) == "embedded"
    assert analyser_name(Settings(home=tmp_path, model=ModelSettings(path="/models/cogvlm2"))) == "vision"
