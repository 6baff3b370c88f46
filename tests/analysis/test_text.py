"""The text stage on rendered clips whose on-screen text is known (drawtext, DejaVu Sans): a slate, a lower
third and a title card found with their words, times (within one sampled frame) and class; a clip without
text gives nothing; a damaged frame is skipped with its reason; a missing RapidOCR is one line."""

from __future__ import annotations

import logging
import sys

import pytest

import textmedia
from cogvlm_media.analysis import ocr, text as text_stage
from cogvlm_media.analysis.stage import stages
from cogvlm_media.analysis.text_events import Block, TextTracker, classify
from cogvlm_media.config import Settings

STEP = text_stage.DEFAULTS["step"]
W, H = textmedia.SIZE


def read(path, duration):
    return text_stage.read_text(str(path), W, H, duration, Settings())


@pytest.fixture(scope="module")
def text_clip(tmp_path_factory):
    return textmedia.text_clip(tmp_path_factory.mktemp("text") / "text.mp4")


@pytest.fixture(scope="module")
def found(text_clip):
    return read(text_clip[0], 14.0)


def test_slate_lower_third_and_title_with_times_and_class(found):
    assert [(e.text, e.category) for e in found.events] == [(t.text, t.category) for t in textmedia.TRUTH]
    for event, truth in zip(found.events, textmedia.TRUTH):
        assert abs(event.start - truth.start) <= STEP + 0.04, (event, truth)  # 25 fps: the first frame at or after
        assert abs(event.end - truth.end) <= STEP + 0.04, (event, truth)
        assert event.confidence > 0.9
    slate, lower, title = found.events
    assert lower.box[1] > 0.7 and lower.box[0] < 0.1  # bottom left
    assert 0.4 < title.box[1] + title.box[3] / 2 < 0.6  # centred
    assert found.model_version.startswith("rapidocr 3.") and "PP-OCR" in found.model_version


def test_only_frames_that_can_hold_text_are_read(found):
    assert found.sampled == pytest.approx(14.0 / STEP, abs=1)
    # steady text is read once; changes at most once a period; the cheap check turns the rest away
    assert 3 <= found.checked <= found.sampled // 3
    assert found.bad_frames == ()


def test_a_clip_without_text_gives_no_events(tmp_path):
    result = read(textmedia.plain_clip(tmp_path / "plain.mp4"), 4.0)
    assert result.events == () and result.bad_frames == () and result.skipped == ""
    assert result.sampled == pytest.approx(4.0 / STEP, abs=1) and result.checked == 0


def test_a_damaged_frame_is_skipped_with_its_reason(text_clip, tmp_path, caplog):
    import subprocess

    avi = tmp_path / "slate.avi"  # intra-only, so one damaged frame spoils only itself
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(text_clip[0]), "-t", "4", "-c:v", "mjpeg",
                    "-q:v", "5", str(avi)], check=True)
    data = bytearray(avi.read_bytes())
    starts, at = [], 0
    while (at := data.find(b"\xff\xd8\xff", at)) >= 0:
        starts.append(at)
        at += 3
    frame = starts[50]  # 2.0 s, while the slate is up
    data[frame + 200:frame + 4000] = bytes(i * 37 % 256 for i in range(3800))
    avi.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="cogvlm_media.analysis.text"):
        result = read(avi, 4.0)
    assert [e.text for e in result.events] == ["SCENE 12 TAKE 3"]
    assert abs(result.events[0].start - 1.0) <= STEP and abs(result.events[0].end - 3.0) <= STEP + 0.04
    assert len(result.bad_frames) >= 1 and all(b.startswith("decoder: [mjpeg") for b in result.bad_frames)
    logged = [r.getMessage() for r in caplog.records if "damaged frame" in r.getMessage()]
    assert logged and "\n" not in logged[0]


def test_a_frame_that_fails_is_skipped_and_the_rest_read(text_clip, monkeypatch, caplog):
    reader = ocr.load_reader()
    real, calls = reader.read, []

    def flaky(rgb):
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("bad pixels")
        return real(rgb)

    monkeypatch.setattr(reader, "read", flaky)
    with caplog.at_level(logging.WARNING, logger="cogvlm_media.analysis.text"):
        result = read(text_clip[0], 14.0)
    assert [e.text for e in result.events] == [t.text for t in textmedia.TRUTH]
    assert len(result.bad_frames) == 1 and "ValueError: bad pixels" in result.bad_frames[0]
    assert any("skipped (ValueError: bad pixels)" in r.getMessage() for r in caplog.records)


def test_missing_rapidocr_is_one_line_and_the_stage_is_skipped(text_clip, monkeypatch, caplog):
    monkeypatch.setattr(ocr, "_reader", None)
    monkeypatch.setitem(sys.modules, "rapidocr", None)  # import fails as if it were not installed
    with caplog.at_level(logging.WARNING, logger="cogvlm_media.analysis.text"):
        result = read(text_clip[0], 14.0)
    assert result.events == () and result.skipped == "on-screen text needs RapidOCR: pip install 'cogvlm-media[see]'"
    assert [r.getMessage() for r in caplog.records] == [f"on-screen text skipped: {result.skipped}"]


def test_switched_off_in_config():
    assert "text" in [s.name for s in stages(Settings())]
    off = Settings(plugins={"text": {"enabled": False}})
    assert [s.name for s in stages(off)] == ["shots", "speech", "speakers", "faces"]


def block(text, box=(0.1, 0.8, 0.3, 0.1)):
    return Block(text, 0.99, box, 1)


def test_tracker_forgives_one_missed_frame_and_dates_the_end_at_the_first_absent_one():
    tracker = TextTracker()
    for t, shown in ((0.0, []), (0.5, ["Dr. Maria Keller"]), (1.0, []), (1.5, ["Dr. Maria KeIler"]),
                     (2.0, ["Dr. Maria Keller"]), (2.5, []), (3.0, [])):
        tracker.add(t, [block(s) for s in shown])
    (event,) = tracker.finish(3.5, 0.5)
    assert (event.text, event.start, event.end, event.category) == ("Dr. Maria Keller", 0.5, 2.5, "lower_third")


def test_a_running_clock_is_not_a_title():
    tracker = TextTracker()
    for i in range(6):
        tracker.add(i * 0.5, [block(f"00:00:0{i}.000", (0.35, 0.45, 0.3, 0.1))])
    (event,) = tracker.finish(3.0, 0.5)
    assert event.category == "text"


@pytest.mark.parametrize("text,box,duration,expected", [
    ("SCENE 4 TAKE 2 ROLL A17", (0.2, 0.4, 0.6, 0.2), 2.0, "slate"),
    ("SCENE 4 TAKE 2 ROLL A17", (0.2, 0.4, 0.6, 0.2), 9.0, "title"),  # too long for a slate
    ("Dr. Maria Keller", (0.05, 0.75, 0.35, 0.12), 4.0, "lower_third"),
    ("Dr. Maria Keller", (0.05, 0.75, 0.35, 0.12), 0.5, "text"),  # a flash, not a caption
    ("The Harbour at Dawn", (0.1, 0.43, 0.8, 0.13), 3.0, "title"),
    ("exit", (0.8, 0.05, 0.1, 0.04), 5.0, "text"),  # a small sign in a corner
])
def test_classes_by_position_and_duration(text, box, duration, expected):
    assert classify(text, box, 1, duration) == expected


def test_an_undecodable_file_gives_no_events_and_the_reason(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(bytes(i * 131 % 251 for i in range(64 * 1024)))
    result = read(junk, 4.0)
    assert result.events == () and result.sampled == 0
    assert result.bad_frames and all(b.startswith("decoder: [") for b in result.bad_frames)
