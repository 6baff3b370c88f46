"""Timecode labels at exact rates: SMPTE rates through OpenTimelineIO, other rates as non-drop labels."""

from __future__ import annotations

from fractions import Fraction

import pytest

from cogvlm_media.media.timecode import Clock, is_smpte_rate, label, nominal_rate, parse_timecode


@pytest.mark.parametrize("rate, frame, text", [
    (Fraction(24000, 1001), 1440, "00:01:00:00"),
    (Fraction(25), 90000 + 5, "01:00:00:05"),
    (Fraction(15), 15 * 3600 + 14, "01:00:00:14"),
    (Fraction(10), 10 * 61 + 3, "00:01:01:03"),
    (Fraction(25, 2), 13 * 2 + 12, "00:00:02:12"),  # 12.5 fps counts 13 labels a second
    (Fraction(120), 120 * 59 + 119, "00:00:59:119"),
])
def test_labels_and_parse_back(rate, frame, text):
    assert label(frame, rate) == text
    assert parse_timecode(text, rate) == frame


def test_drop_frame_and_rate_classes():
    assert label(1800, Fraction(30000, 1001), drop_frame=True) == "00:01:00;02"
    assert parse_timecode("00:01:00;02", Fraction(30000, 1001)) == 1800
    assert [is_smpte_rate(Fraction(r)) for r in (24, 25, 30, 50, 60)] == [True] * 5
    assert [is_smpte_rate(Fraction(r)) for r in (10, 15, 120)] == [False] * 3
    assert [nominal_rate(r) for r in (Fraction(24000, 1001), Fraction(30000, 1001), Fraction(15))] == [24, 30, 15]
    with pytest.raises(ValueError):
        parse_timecode("00:00:01:15", Fraction(15))  # frame label 15 does not exist at 15 fps


def test_clock_for_a_phone_clip():
    clock = Clock.for_media(15, 1, "00:10:00:00")
    assert clock.start_frame == 15 * 600
    assert clock.timecode(2.0) == "00:10:02:00" and clock.frame(2.0) == 30
