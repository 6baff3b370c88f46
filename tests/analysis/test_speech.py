"""Speech recognition on espeak-ng sentences placed at known times (see mediagen.py)."""

from __future__ import annotations

import subprocess

import mediagen
import numpy as np
import pytest

from cogvlm_media.analysis import speech
from cogvlm_media.analysis.analyser import AnalysisInput
from cogvlm_media.analysis.embedded import EmbeddedAnalyser
from cogvlm_media.records import Transcript
from cogvlm_media.analysis.speech import transcribe
from cogvlm_media.config import Settings
from cogvlm_media.media.decode import AUDIO_RATE, decode_audio
from cogvlm_media.media.probe import probe

# Words tiny.en reliably recovers from the espeak-ng voice, per sentence of mediagen.SPEECH.
EXPECTED = (("quick", "over", "lazy"), ("please", "call", "bring", "things"), ("sitting", "kitchen", "table"))


def _norm(word: str) -> str:
    return word.strip(" .,!?;:-'\"").lower()


@pytest.fixture(scope="module")
def transcript(speech_clip):
    return transcribe(speech_clip.path, probe(speech_clip.path), Settings())


def test_words_present_with_timestamps(speech_clip, transcript):
    assert isinstance(transcript, Transcript) and transcript.language == "en"
    words = transcript.words()
    assert words
    for spoken, expected in zip(speech_clip.spoken, EXPECTED):
        inside = [w for w in words if spoken.start - 0.5 <= w.start <= spoken.end + 0.5]
        texts = [_norm(w.text) for w in inside]
        for word in expected:
            assert word in texts, f"{word!r} missing near {spoken.start:.2f}-{spoken.end:.2f}s: {texts}"
        # the sentence's first recognised word starts within 0.5 s of when the sentence starts
        assert abs(inside[0].start - spoken.start) <= 0.5
        assert inside[-1].end <= spoken.end + 0.6
    for w in words:
        assert 0 <= w.start <= w.end <= speech_clip.duration
        assert any(s.start - 0.5 <= w.start <= s.end + 0.5 for s in speech_clip.spoken), w


def test_segments_are_ordered_and_hold_their_words(transcript):
    segs = transcript.segments
    assert [s.index for s in segs] == list(range(len(segs)))
    for a, b in zip(segs, segs[1:]):
        assert a.start <= b.start
    for s in segs:
        assert s.text.strip()
        for w in s.words:
            assert s.start - 0.05 <= w.start and w.end <= s.end + 0.05


def test_silence_is_skipped(speech_clip, transcript):
    gaps = [(a.end + 0.6, b.start - 0.6) for a, b in zip(speech_clip.spoken, speech_clip.spoken[1:])]
    for lo, hi in gaps:
        assert not [w for w in transcript.words() if lo < w.start < hi]


def test_no_audio_gives_none(cut_clip):
    media = probe(cut_clip.path)
    assert media.has_audio is False
    assert transcribe(cut_clip.path, media, Settings()) is None


def test_tone_without_speech_gives_empty_transcript(tone_clip):
    result = transcribe(tone_clip.path, probe(tone_clip.path), Settings())
    assert isinstance(result, Transcript)
    assert result.segments == ()


def test_predecoded_audio_and_model_cache(speech_clip, transcript):
    audio = decode_audio(speech_clip.path)
    assert audio is not None and audio.dtype == np.float32
    assert abs(len(audio) / AUDIO_RATE - speech_clip.duration) < 1.0
    media = probe(speech_clip.path)
    again = transcribe(speech_clip.path, media, Settings(), audio=audio[: 6 * AUDIO_RATE])
    assert again is not None
    assert all(w.start < 6.0 for w in again.words())
    assert "quick" in [_norm(w.text) for w in again.words()]
    assert speech.load_model(Settings()) is speech.load_model(Settings())


def test_sound_that_starts_late_keeps_words_on_the_picture_clock(speech_clip, transcript, tmp_path):
    """The same sound moved 1.5 s after the first frame (an empty edit, as recorders and edits make):
    every word lands 1.5 s later on the picture's clock, not where it sits in the audio stream."""
    late = tmp_path / "late.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(speech_clip.path), "-itsoffset", "1.5",
                    "-i", str(speech_clip.path), "-map", "0:v", "-map", "1:a", "-c", "copy", str(late)], check=True)
    media = probe(late)
    assert media.audio_start_time == pytest.approx(1.5, abs=0.1)  # AAC priming shifts it by a few ms
    assert probe(speech_clip.path).audio_start_time == pytest.approx(0.0, abs=0.05)
    shifted = transcribe(late, media, Settings())
    before = {_norm(w.text): w for w in reversed(transcript.words())}  # first occurrence of each word
    after = {_norm(w.text): w for w in reversed(shifted.words())}
    for word in (w for sentence in EXPECTED for w in sentence):
        assert after[word].start - before[word].start == pytest.approx(1.5, abs=0.15), word
    assert all(w.end <= media.duration for w in shifted.words())


# Sentences spoken one after another with short pauses (0.3-0.6 s), each rendered as its own
# utterance so its first word's onset is known from the audio; Whisper keeps several in one segment.
CLOSE = (
    mediagen.Utterance("Good morning and welcome to the workshop.", 0.8),
    mediagen.Utterance("Today we will build a small wooden box.", 3.9),
    mediagen.Utterance("First, measure the boards twice.", 6.9),
    mediagen.Utterance("Sand every edge until it feels smooth.", 9.6),
    mediagen.Utterance("Finally, glue the corners and let them dry.", 12.6),
)


@pytest.fixture(scope="module")
def close_clip(media_dir):
    return mediagen.render(media_dir / "close_sentences.mp4",
                           [mediagen.Segment("testsrc2", 250), mediagen.Segment("smptebars", 175)],
                           fps="25", size="160x120", audio=CLOSE, keyint=50)


def _marker_errors(clip, transcript) -> list[tuple[float, float]]:
    """(true onset, nearest sentence marker) for each sentence, after checking every marker is at one."""
    markers = [m.time for m in EmbeddedAnalyser(Settings()).analyse(
        AnalysisInput(str(clip.path), probe(clip.path), [], transcript, [], np.zeros(0))).moments]
    onsets = [s.start for s in clip.spoken]
    assert len(markers) == len(onsets), (markers, onsets)
    return [(onset, min(markers, key=lambda m: abs(m - onset))) for onset in onsets]


def test_sentence_markers_sit_on_the_first_words_onset(speech_clip, transcript, close_clip):
    """Every sentence marker within 2 frames (80 ms at 25 fps) of the first word's onset in the audio:
    the first sentence of the file (Whisper alone puts it ~0.35 s early) and sentences that follow
    others closely (Whisper alone: 0.15-0.3 s late)."""
    close = transcribe(close_clip.path, probe(close_clip.path), Settings())
    for clip, text in ((speech_clip, transcript), (close_clip, close)):
        for onset, marker in _marker_errors(clip, text):
            assert abs(marker - onset) <= 2 / 25, f"marker at {marker:.3f} s, first word at {onset:.3f} s"
        starts = [w.start for w in text.words()]
        assert starts == sorted(starts)  # moving a first word to its onset keeps the words in order
