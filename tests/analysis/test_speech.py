"""Speech recognition on espeak-ng sentences placed at known times (see mediagen.py)."""

from __future__ import annotations

import numpy as np
import pytest

from cogvlm_media.analysis import speech
from cogvlm_media.analysis.results import Transcript
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
