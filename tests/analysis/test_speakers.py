"""Diarization of two espeak-ng voices taking turns at known times (mediagen.DIALOGUE)."""

from __future__ import annotations

import mediagen
import numpy as np
import pytest

from cogvlm_media import records
from cogvlm_media.analysis import speakers, voice_encoder
from cogvlm_media.analysis.stage import StageInput, stages
from cogvlm_media.config import AnalysisSettings, Settings
from cogvlm_media.media.probe import probe


def run_stage(path, settings: Settings | None = None) -> records.Diarization | None:
    return speakers.speakers_stage(StageInput(str(path), probe(path), settings or Settings(), np.zeros(0)),
                                   lambda done, total: None)


@pytest.fixture(scope="module")
def dialogue(media_dir):
    return mediagen.dialogue_clip(media_dir / "dialogue.mp4")


@pytest.fixture(scope="module")
def diarized(dialogue):
    return run_stage(dialogue.path)


def test_turns_match_the_script_within_half_a_second(dialogue, diarized):
    assert len(diarized.turns) == len(dialogue.spoken) == 4
    for turn, said in zip(diarized.turns, dialogue.spoken):
        assert abs(turn.start - said.start) <= 0.5, (turn, said)
        assert abs(turn.end - said.end) <= 0.5, (turn, said)
    labels = [t.speaker for t in diarized.turns]
    assert labels == ["Speaker 1", "Speaker 2", "Speaker 1", "Speaker 2"]
    assert [v.label for v in diarized.speakers] == ["Speaker 1", "Speaker 2"]
    assert diarized.threshold == Settings().analysis.speaker_threshold
    assert diarized.model_version.startswith("resemblyzer-0.1.")


def test_voices_are_far_apart_and_one_voice_matches_itself_in_another_file(media_dir, diarized):
    other = run_stage(mediagen.dialogue_clip(media_dir / "monologue.mp4", mediagen.MONOLOGUE, 10).path)
    assert [t.speaker for t in other.turns] == ["Speaker 1"]
    first, second = (np.array(v.embedding) for v in diarized.speakers)
    same = np.array(other.speakers[0].embedding)
    match = Settings().analysis.speaker_match
    assert 1 - same @ first <= match < 1 - same @ second
    assert 1 - first @ second > Settings().analysis.speaker_threshold


def test_audio_without_speech_gives_no_turns(media_dir, silent_clip):
    hushed = run_stage(mediagen.hushed_clip(media_dir / "hushed.mp4"))
    assert hushed is not None and hushed.turns == () and hushed.speakers == ()
    assert run_stage(silent_clip.path) is None  # no audio stream at all


def test_a_tone_is_voiced_but_no_speaker_once_the_transcript_is_empty():
    tone = records.Diarization("m", 0.27, (records.SpeakerTurn(0.0, 2.0, "Speaker 1"),),
                               (records.SpeakerVoice("Speaker 1", 2.0, (1.0,)),))
    kept = speakers.keep_spoken(tone, records.Transcript("en"))
    assert kept.turns == () and kept.speakers == ()


def test_a_segment_spoken_by_two_is_split_between_words():
    words = (records.Word("Yes.", 1.0, 1.4), records.Word("No", 2.1, 2.4), records.Word("way.", 2.5, 2.9))
    transcript = records.Transcript("en", (records.SpeechSegment(0, 1.0, 2.9, "Yes. No way.", words),
                                           records.SpeechSegment(1, 4.0, 5.0, "Fine.", ())))
    turns = records.Diarization("m", 0.27, (records.SpeakerTurn(0.9, 1.8, "Speaker 1"),
                                            records.SpeakerTurn(2.0, 5.2, "Speaker 2")))
    out = speakers.label_transcript(transcript, turns).segments
    assert [(s.index, s.start, s.end, s.text, s.speaker) for s in out] == [
        (0, 1.0, 1.4, "Yes.", "Speaker 1"), (1, 2.1, 2.9, "No way.", "Speaker 2"), (2, 4.0, 5.0, "Fine.", "Speaker 2")]


def test_the_mel_front_end_is_librosas():
    # librosa comes with resemblyzer (the [see] extra); the product never imports it
    import librosa
    assert np.allclose(voice_encoder.mel_filters(), librosa.filters.mel(sr=16000, n_fft=400, n_mels=40), atol=1e-7)
    wav = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    ref = librosa.feature.melspectrogram(y=wav, sr=16000, n_fft=400, hop_length=160, n_mels=40).T
    mine = voice_encoder.mel_frames(wav)
    assert mine.shape == ref.shape == (101, 40)
    assert np.abs(mine - ref).max() <= 1e-5 * np.abs(ref).max()


def test_switched_off_in_config_and_missing_model_is_one_line(monkeypatch, caplog, dialogue):
    off = Settings(analysis=AnalysisSettings(speakers=False))
    assert "speakers" not in [s.name for s in stages(off)]
    assert "speakers" in [s.name for s in stages(Settings())]
    monkeypatch.setattr(voice_encoder, "_encoder", None)
    monkeypatch.setattr(voice_encoder.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(speakers, "_warned", set())
    with caplog.at_level("WARNING"):
        assert run_stage(dialogue.path) is None
        assert run_stage(dialogue.path) is None
    lines = [rec.getMessage() for rec in caplog.records if rec.name == speakers.__name__]
    assert lines == [voice_encoder.MISSING]
    with pytest.raises(voice_encoder.SpeakerModelMissing, match=r"pip install 'cogvlm-media\[see\]'"):
        voice_encoder.get_encoder()
