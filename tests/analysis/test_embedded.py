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
    return tuple(Word(" " + w, start + i * step, start + i * step + min(0.25, step)) for i, w in enumerate(text.split()))


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


def _truth_shots(clip):
    starts = list(clip.shot_starts) + [clip.frame_count]
    return [Shot(i, a, b - 1, clip.time(a), clip.time(b), "start" if i == 0 else "cut")
            for i, (a, b) in enumerate(zip(starts, starts[1:]))]


def test_continuous_speech_about_three_topics_gives_three_scenes(tmp_path):
    """~48 s of espeak-ng speech, three topics of four sentences each (~15 s a topic), 0.45 s pauses,
    over 11 shots whose cuts all fall inside sentences or short pauses: before, one scene."""
    import mediagen

    from cogvlm_media.analysis.speech import transcribe
    from cogvlm_media.media.probe import probe

    clip, topic_sentences = mediagen.topics_clip(tmp_path / "topics.mp4")
    assert len(clip.shot_starts) == 11
    transcript = transcribe(clip.path, probe(clip.path), Settings())
    item = AnalysisInput(str(clip.path), probe(clip.path), _truth_shots(clip), transcript, [],
                         np.arange(clip.frame_count) / 25)
    scenes = get_analyser(Settings(home=tmp_path)).analyse(item).scenes
    assert len(scenes) == 3, [(s.start, s.end) for s in scenes]
    assert scenes[0].start == 0.0 and scenes[-1].end == clip.duration
    for a, b in zip(scenes, scenes[1:]):
        assert a.end == b.start
        # never inside a sentence: each boundary is in the pause between two sentences
        assert not any(s.start < a.end < s.end for s in clip.spoken), a.end
    for scene, indices in zip(scenes, topic_sentences):  # each scene holds exactly its topic's sentences
        inside = [i for i, s in enumerate(clip.spoken) if scene.start <= s.start < scene.end]
        assert tuple(inside) == indices
        assert set(scene.shot_indices) == {s.index for s in _truth_shots(clip)
                                           if s.start < scene.end and s.end > scene.start}


def test_topic_boundary_snaps_to_a_cut_in_the_pause():
    """A topic shift whose pause holds a shot cut is placed on that cut; without one, mid-pause."""
    texts = [*mediagen_topics()]
    segs, t = [], 0.5
    for i, text in enumerate(texts):  # 3.2 s sentences, 0.4 s pauses
        segs.append(SpeechSegment(i, t, t + 3.2, text, words(text, t, step=3.2 / len(text.split()))))
        t += 3.6
    duration = t + 0.5
    said = sentences(Transcript("en", tuple(segs)))
    cut = round(said[3][1] + 0.2, 3)  # inside the pause between topic 1 and topic 2
    assert cut < said[4][0]
    shots = [Shot(0, 0, int(cut * 25) - 1, 0.0, cut, "start"),
             Shot(1, int(cut * 25), int(duration * 25) - 1, cut, duration, "cut")]
    item = AnalysisInput("x.mp4", MediaInfo("x.mp4", 1, duration, 25, 1, int(duration * 25), 320, 240, 0, None,
                                            True, False, "h264", "mp4", 0.0),
                         shots, Transcript("en", tuple(segs)), [], np.zeros(0))
    scenes = get_analyser(Settings()).analyse(item).scenes
    assert [s.start for s in scenes] == [0.0, cut, round((said[7][1] + said[8][0]) / 2, 3)]
    assert scenes[0].shot_indices == (0,) and scenes[1].shot_indices == (1,) == scenes[2].shot_indices
    assert "1 cut" not in scenes[2].summary and "1 shot." in scenes[2].summary


def mediagen_topics():
    import mediagen

    return [text for topic in mediagen.TOPICS for text in topic]


BREAD = ("To make fresh bread, mix flour, water, salt and yeast in a bowl.",
         "Stir the mixture with a wooden spoon until it forms a rough dough.",
         "Knead the dough for ten minutes until it is smooth.",
         "Put the dough back in the bowl and cover it with a towel.",
         "Let it rise in a warm kitchen for about an hour.",
         "When it has doubled in size, press the air out gently.",
         "Shape it into a loaf and place it in a greased tin.",
         "Leave it to rise again while the oven heats up.",
         "Bake the loaf in a hot oven until the crust is golden brown.",
         "Tap the bottom of the loaf; it should sound hollow.",
         "Let the bread cool on a rack before you slice it.",
         "Fresh bread keeps for two days in a paper bag.")


def test_one_topic_of_continuous_speech_stays_one_scene():
    segs, t = [], 0.5
    for i, text in enumerate(BREAD):
        segs.append(SpeechSegment(i, t, t + 3.2, text, words(text, t, step=3.2 / len(text.split()))))
        t += 3.6
    duration = t + 0.5
    cuts = [4.0 * k for k in range(12) if 4.0 * k < duration]  # every 4 s, wherever it falls
    shots = [Shot(k, int(a * 25), int(b * 25) - 1, a, b, "start" if k == 0 else "cut")
             for k, (a, b) in enumerate(zip(cuts, cuts[1:] + [duration]))]
    item = AnalysisInput("x.mp4", MediaInfo("x.mp4", 1, duration, 25, 1, int(duration * 25), 320, 240, 0, None,
                                            True, False, "h264", "mp4", 0.0),
                         shots, Transcript("en", tuple(segs)), [], np.zeros(0))
    scenes = get_analyser(Settings()).analyse(item).scenes
    assert [(s.start, s.end) for s in scenes] == [(0.0, duration)]


def test_names_are_stored_whole(tmp_path):
    """A sentence longer than a few words names its marker and its scene whole: no "…", nothing cut."""
    long = "Seven green apples are sitting on the kitchen table near the window."
    transcript = Transcript("en", (SpeechSegment(0, 1.0, 5.0, long, words(long, 1.0)),))
    settings = Settings(home=tmp_path, analysis=AnalysisSettings(scene_min_seconds=8.0))
    media = MediaInfo("x.mp4", 1, 31.0, 25, 1, 775, 320, 240, 0, None, True, False, "h264", "mp4", 0.0)
    result = get_analyser(settings).analyse(AnalysisInput("x.mp4", media, SHOTS, transcript, [], np.arange(775) / 25))
    assert [(m.name, m.note) for m in result.moments] == [(long, long)]
    assert result.scenes[0].title == long
