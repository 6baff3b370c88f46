"""SubRip and WebVTT captions from the transcript: exact output, voice tags from speaker labels, long
segments split between words at the words' times, and a clear error without a transcript."""

from __future__ import annotations

from fractions import Fraction

import pytest

from cogvlm_media.export.formats import get_format, render
from cogvlm_media.export.subtitles import srt, webvtt
from cogvlm_media.export.timeline import Cue, ExportError, Placement, Plan


def clip(cues) -> Placement:
    return Placement(asset_id=1, path="/f/interview.mov", name="interview.mov", rate=Fraction(25), frame_count=2500,
                     source_start=0, source_drop=False, record_offset=0, marks=[], cues=list(cues))


CUES = [
    Cue(0.5, 2.25, "Good morning.", "Speaker 1"),
    Cue(2.0, 4.0, "Rock & roll <live>!", "Speaker 2"),  # overlaps the next: ends where it starts
    Cue(3.5, 3661.042, "Welcome back.", "Speaker 1"),
]


def test_srt_exact():
    text, notes = srt(clip(CUES))
    assert notes == []
    assert text == ("1\n00:00:00,500 --> 00:00:02,000\nGood morning.\n\n"
                    "2\n00:00:02,000 --> 00:00:03,500\nRock & roll <live>!\n\n"
                    "3\n00:00:03,500 --> 01:01:01,042\nWelcome back.\n")


def test_webvtt_captions_exact_with_voice_tags():
    text, _ = webvtt(clip(CUES))
    assert text == ("WEBVTT\n\n"
                    "00:00:00.500 --> 00:00:02.000\n<v Speaker 1>Good morning.\n\n"
                    "00:00:02.000 --> 00:00:03.500\n<v Speaker 2>Rock &amp; roll &lt;live&gt;!\n\n"
                    "00:00:03.500 --> 01:01:01.042\n<v Speaker 1>Welcome back.\n")


def test_without_speakers_no_voice_tags():
    text, _ = webvtt(clip([Cue(1.0, 2.0, "  Hello   there. ")]))
    assert text == "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHello there.\n"


def test_long_segments_split_between_words_at_their_times_and_wrap_at_42():
    words = "the river market opens early and the harbour boats bring fish and bread to the people of the old town"
    timed = tuple((f" {w}", 10.0 + i * 0.5, 10.0 + i * 0.5 + 0.4, 0.9) for i, w in enumerate(words.split()))
    text, _ = srt(clip([Cue(10.0, 20.0, words, None, timed)]))
    assert text == ("1\n00:00:10,000 --> 00:00:17,400\nthe river market opens early and the\n"
                    "harbour boats bring fish and bread to the\n\n"
                    "2\n00:00:17,500 --> 00:00:19,900\npeople of the old town\n")


def test_no_transcript_is_a_clear_error():
    with pytest.raises(ExportError, match="interview.mov: no transcript to make subtitles from"):
        srt(clip([]))


def test_registered_as_one_file_per_asset():
    for name, suffix in (("srt", ".srt"), ("vtt-captions", ".captions.vtt")):
        fmt = get_format(name)
        assert fmt.suffix == suffix and not fmt.timeline
    plan = Plan(name="x", rate=Fraction(25), record_start=90000, record_drop=False, clips=[clip(CUES)], kinds=())
    [(asset, text, notes)] = render(get_format("vtt-captions"), plan)
    assert asset == 1 and text.startswith("WEBVTT\n\n00:00:00.500 --> 00:00:02.000\n<v Speaker 1>")
