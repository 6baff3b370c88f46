"""Timecode at a file's exact rate, through OpenTimelineIO's opentime (drop-frame included).

Seconds → frame index (``round(t × rate)``) → label at the nominal rate, offset by the start timecode.
Drop-frame labels (29.97, 59.94) are written with ``;`` before the frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import opentimelineio.opentime as otime


def is_drop_frame_rate(rate: Fraction) -> bool:
    return rate.denominator == 1001 and rate.numerator in (30000, 60000)


@dataclass(frozen=True)
class Clock:
    """Converts seconds from a file's first frame to frames and timecode labels."""

    rate: Fraction
    start_frame: int = 0  # frame number of the start timecode
    drop_frame: bool = False

    @classmethod
    def for_media(cls, fps_num: int, fps_den: int, start_timecode: str | None = None) -> "Clock":
        rate = Fraction(fps_num, fps_den)
        drop = bool(start_timecode and ";" in start_timecode) and is_drop_frame_rate(rate)
        start = 0
        if start_timecode:
            try:
                start = parse_timecode(start_timecode, rate)
            except ValueError:
                start = 0
        return cls(rate=rate, start_frame=start, drop_frame=drop)

    def frame(self, seconds: float) -> int:
        return int(round(Fraction(seconds).limit_denominator(10**9) * self.rate))

    def seconds(self, frame: int) -> float:
        return float(Fraction(frame) / self.rate)

    def snap(self, seconds: float) -> float:
        return self.seconds(self.frame(seconds))

    def timecode(self, seconds: float) -> str:
        return self.label(self.start_frame + self.frame(seconds))

    def label(self, frame: int) -> str:
        return label(frame, self.rate, self.drop_frame)


def is_smpte_rate(rate: Fraction) -> bool:
    """Whether SMPTE timecode (and so CMX 3600 EDL or FCP 7 XML) can express this frame rate."""
    try:
        otime.to_timecode(otime.RationalTime(0, float(rate)), float(rate))
    except ValueError:
        return False
    return True


def nominal_rate(rate: Fraction) -> int:
    """Frame labels per second: 24 at 23.976, 30 at 29.97, 15 at 15, 13 at 12.5."""
    return math.ceil(rate - Fraction(1, 1000))


def label(frame: int, rate: Fraction, drop_frame: bool = False) -> str:
    """The timecode label of ``frame`` (counted from 00:00:00:00) at ``rate``.

    SMPTE rates go through OpenTimelineIO; other rates (15, 12, 10, 120 fps screen and phone
    recordings) get non-drop labels counting ``nominal_rate`` frames per second, as NLEs show them.
    """
    try:
        return otime.to_timecode(otime.RationalTime(frame, float(rate)), float(rate), drop_frame=drop_frame)
    except ValueError:
        if drop_frame:
            raise
    per_second = nominal_rate(rate)
    sign, frame = ("-", -frame) if frame < 0 else ("", frame)
    seconds, ff = divmod(frame, per_second)
    return f"{sign}{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}:{ff:02d}"


def parse_timecode(text: str, rate: Fraction) -> int:
    """Frame number of a timecode label at ``rate`` (``;`` or ``.`` before the frames means drop-frame)."""
    try:
        return int(round(otime.from_timecode(text.strip(), float(rate)).value))
    except (ValueError, TypeError) as exc:
        parts = text.strip().split(":")
        if len(parts) == 4 and all(p.isdigit() for p in parts):
            hh, mm, ss, ff = (int(p) for p in parts)
            if mm < 60 and ss < 60 and ff < nominal_rate(rate):
                return ((hh * 60 + mm) * 60 + ss) * nominal_rate(rate) + ff
        raise ValueError(f"not a timecode: {text!r}") from exc


def seconds_label(seconds: float) -> str:
    """Plain HH:MM:SS.mmm."""
    ms = int(round(seconds * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"
