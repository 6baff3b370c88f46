"""One decode for shots and text (media/shared_decode.py): the same small frames as decode_small, the same
sampled frames and times as SampledFrames, a text reader that stops early never stalls the shot decode,
and the ingest pipeline's text stage reads the shared decode (no second pass) and finds the known text."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import textmedia
from cogvlm_media.analysis import text as text_stage
from cogvlm_media.config import AnalysisSettings, Settings
from cogvlm_media.media.decode import DecodeError, decode_small
from cogvlm_media.media.sampled_frames import SampledFrames
from cogvlm_media.media.shared_decode import SharedDecode

W, H = textmedia.SIZE


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return textmedia.text_clip(tmp_path_factory.mktemp("shared") / "text.mp4")[0]


def _read_beside(decode: SharedDecode, name: str = "text", limit: int | None = None) -> tuple[list, threading.Thread]:
    got: list = []
    stream = decode.stream(name)

    def run():
        for item in stream:
            got.append(item)
            if limit is not None and len(got) == limit:
                stream.close()
                return
    thread = threading.Thread(target=run)
    thread.start()
    return got, thread


def test_the_same_frames_and_times_as_the_separate_decodes(clip):
    decode = SharedDecode(clip, {"text": (0.5, W // 2, H // 2), "faces": (1.0, 320, 180)})
    got, thread = _read_beside(decode)
    other, other_thread = _read_beside(decode, "faces")
    done: list[tuple[int, int]] = []
    small = decode.small(350, lambda d, t: done.append((d, t)))
    thread.join(timeout=30)
    other_thread.join(timeout=30)
    assert np.array_equal(small, decode_small(clip))
    assert done[-1] == (350, 350)
    ref = list(SampledFrames(str(clip), 0.5, W // 2, H // 2))
    assert len(got) == len(ref) == 28
    assert [t for t, _ in got] == [t for t, _ in ref]
    assert all(k * 0.5 <= t < k * 0.5 + 0.04 + 1e-9 for k, (t, _) in enumerate(got))  # one per half second, 25 fps
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(got, ref))
    ref = list(SampledFrames(str(clip), 1.0, 320, 180))
    assert len(other) == len(ref) == 14 and [t for t, _ in other] == [t for t, _ in ref]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(other, ref))
    assert decode.problems == [] and decode.stream("speakers") is None


def test_a_reader_that_stops_early_or_never_reads_does_not_stall_the_shot_decode(clip):
    decode = SharedDecode(clip, {"text": (0.5, W, H), "faces": (0.5, W, H)})
    got, thread = _read_beside(decode, limit=3)
    decode.stream("faces").close()  # and this one never reads
    assert len(decode.small()) == 350
    thread.join(timeout=30)
    assert len(got) == 3


def test_finish_runs_the_decode_to_its_end_when_no_shot_stage_took_the_small_frames(clip):
    decode = SharedDecode(clip, {"text": (0.5, W // 4, H // 4)})
    got, thread = _read_beside(decode)
    decode.finish()
    thread.join(timeout=30)
    assert len(got) == 28


def test_an_undecodable_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x17" * 5000)
    decode = SharedDecode(bad, {"text": (0.5, 64, 36)})
    got, thread = _read_beside(decode)
    with pytest.raises(DecodeError) as info:
        decode.small()
    thread.join(timeout=30)
    assert str(info.value).startswith("cannot decode video (") and "\n" not in str(info.value)
    assert got == []


def test_ingest_reads_text_from_the_shot_decode(clip, monkeypatch):
    from cogvlm_media.ingest.stages import analyse_file

    def no_second_pass(*args, **kwargs):
        raise AssertionError("the text stage decoded the file again")
    monkeypatch.setattr(text_stage, "SampledFrames", no_second_pass)
    settings = Settings(analysis=AnalysisSettings(faces=False, speakers=False))
    result = analyse_file(str(clip), settings)
    found = result.stage_results["text"]
    assert [(e.text, e.category) for e in found.events] == [(t.text, t.category) for t in textmedia.TRUTH]
    for event, truth in zip(found.events, textmedia.TRUTH):
        assert abs(event.start - truth.start) <= 0.54 and abs(event.end - truth.end) <= 0.54
    assert found.sampled == 28 and found.bad_frames == ()
    assert [s.start_frame for s in result.shots] == [0, 100, 250]  # shots from the same decode: 4 s, 6 s, 4 s


def test_ingest_finds_faces_on_the_shot_decode_without_waiting_for_the_shots(tmp_path, monkeypatch):
    from facekit import Appearance, face_clip

    from cogvlm_media.analysis import face_stage
    from cogvlm_media.ingest.stages import analyse_file

    def no_second_pass(*args, **kwargs):
        raise AssertionError("the faces stage decoded the file again")
    monkeypatch.setattr(face_stage, "iter_frames", no_second_pass)
    clip = face_clip(tmp_path / "two.mp4", [Appearance("hopper", 1, 4, 20, 40, scale=0.8),
                                            Appearance("astronaut", 3, 8, 460, 30, scale=0.95)])
    settings = Settings(analysis=AnalysisSettings(speakers=False, face_interval=1.0, face_detect_width=960),
                        plugins={"text": {"enabled": False}})
    found = analyse_file(str(clip), settings).stage_results["faces"]
    times = found.sample_times
    assert times[0] == 0.0 and all(0 < b - a <= 1.0 + 1e-9 for a, b in zip(times, times[1:])) and times[-1] >= 9.0
    assert set(times) <= {k / 2 for k in range(20)}  # on the shared decode's half-second samples
    hopper = [f.time for f in found.faces if f.box[0] < 0.45]
    astronaut = [f.time for f in found.faces if f.box[0] > 0.48]
    assert len(hopper) + len(astronaut) == len(found.faces)
    assert hopper[0] == 1.0 and max(hopper) <= 4.0 and len(hopper) >= 3  # shown 1-4 s: a cut, then each second
    assert astronaut[0] == 3.0 and max(astronaut) <= 8.0 and len(astronaut) >= 5  # shown 3-8 s
    assert all(len(f.embedding) == 128 for f in found.faces) and found.skipped == ()
