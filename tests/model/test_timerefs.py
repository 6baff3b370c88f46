"""The time-reference parser on many phrasings, and its mapping through a window's sampled frame times."""

from __future__ import annotations

import pytest

from cogvlm_media.records import Window
from cogvlm_media.analysis.timerefs import find_times, parse_moments
from cogvlm_media.analysis.vision_analyser import window_moments


@pytest.mark.parametrize("text, start, end", [
    ("at 5s a man walks in", 5, None),
    ("At 5 s, a man walks in", 5, None),
    ("a man walks in at 5 seconds", 5, None),
    ("the door opens at 12.5 sec", 12.5, None),
    ("a car passes at second 5", 5, None),
    ("Second 7: the light turns red", 7, None),
    ("in the 3rd second a dog runs", 3, None),
    ("in the 21st second", 21, None),
    ("[5] a dog runs", 5, None),
    ("[5s] a dog runs", 5, None),
    ("a dog runs (6s)", 6, None),
    ("frame 9 shows a car", 9, None),
    ("at frame #4 it rains", 4, None),
    ("t=4.5s the car stops", 4.5, None),
    ("the scene changes at 0:05", 5, None),
    ("at 00:00:17 the screen goes dark", 17, None),
    ("at 1:02 something happens", 62, None),
    ("it happens at 5, then nothing", 5, None),
    ("it happens at 5.", 5, None),
    ("5-7 seconds: a man waves", 5, 7),
    ("from 5 to 7 seconds a man waves", 5, 7),
    ("from 5s to 7s a man waves", 5, 7),
    ("between 2 and 4 seconds the door opens", 2, 4),
    ("a man waves from 3 to 6", 3, 6),
    ("seconds 2-3 show a car", 2, 3),
    ("from second 4 to second 8 it rains", 4, 8),
    ("[3-5] a dog runs", 3, 5),
    ("(3 - 5 s) a dog runs", 3, 5),
    ("a man waves 5s–7s", 5, 7),
    ("0:05-0:09 a man waves", 5, 9),
    ("7-5 seconds reversed", 5, 7),
    ("5: a door opens", 5, None),
    ("- 12) lights go out", 12, None),
])
def test_phrasings(text, start, end):
    refs = find_times(text)
    assert len(refs) == 1, refs
    assert refs[0].start == pytest.approx(start)
    assert refs[0].end == (None if end is None else pytest.approx(end))


@pytest.mark.parametrize("text", [
    "three people and 2 dogs walk by",
    "a red car with 4 doors",
    "there are 3 to 4 people",
    "the file video.mp4 plays",
    "version 1.2.3 is shown",
    "it costs 5 dollars",
    "",
])
def test_numbers_that_are_not_times(text):
    assert find_times(text) == []


def test_several_references_in_order():
    refs = find_times("At 2s a man enters; at 5 seconds he sits, and from 8 to 10 seconds he reads.")
    assert [(r.start, r.end) for r in refs] == [(2, None), (5, None), (8, 10)]


def test_moments_split_sentences_and_lines():
    text = "At 2s, a man walks in. Then the door opens at 5 seconds! A dog runs from 7 to 9 seconds.\n" \
           "- 12: lights go out\nNothing else happens."
    got = parse_moments(text)
    assert [(m.start, m.end) for m in got] == [(2, None), (5, None), (7, 9), (12, None)]
    assert [m.description for m in got] == ["A man walks in.", "The door opens!", "A dog runs.", "Lights go out"]


def make_window() -> Window:
    # 25 fps window starting at 30.0 s whose frames do not fall on whole seconds (30.04, 31.08 …)
    times = tuple(30.04 + 1.04 * i for i in range(10))
    return Window(index=3, start=30.0, end=40.5, first_frame=750, last_frame=1012,
                  frame_indices=tuple(751 + 26 * i for i in range(10)), frame_times=times)


def test_window_moments_use_sampled_frame_times():
    w = make_window()
    moments = window_moments(w, "At 2s, a man walks in.\n4-6 seconds: a car passes\n[2.5] a dog barks\n20: end")
    assert [m.kind for m in moments] == ["moment"] * 4
    assert moments[0].time == pytest.approx(30.04 + 2 * 1.04)
    assert moments[0].name == "A man walks in"
    assert moments[1].time == pytest.approx(30.04 + 4 * 1.04)
    assert moments[1].duration == pytest.approx(2 * 1.04)
    assert moments[2].time == pytest.approx(30.04 + 2.5 * 1.04)
    assert moments[3].time == pytest.approx(40.5)  # past the last frame: clamped to the window's end
    assert all(w.start <= m.time <= w.end for m in moments)


def test_window_moment_names_are_stored_whole():
    """The model's description names its marker whole (issue 12: names are shortened only on display)."""
    said = "a woman in a red coat walks slowly across the crowded station hall, looking for the exit."
    (moment,) = window_moments(make_window(), f"At 3s, {said}")
    assert moment.name == "A woman in a red coat walks slowly across the crowded station hall, looking for the exit"
    assert "…" not in moment.name and moment.note == f"At 3s, {said}"
