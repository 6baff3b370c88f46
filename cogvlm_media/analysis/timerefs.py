"""Time references in a video model's words: "at 5s", "5-7 seconds", "second 5", "[5]", "0:05", ….

The model counts in the ordinals it was shown (0, 1, 2 … at about one frame per second of the window),
so every number found here is an ordinal; ``Window.ordinal_time`` turns it into an absolute time.
Bare numbers are not times ("3 people"): a reference needs a unit, a "second(s)"/"frame"/"at"/"t="
cue, brackets, a clock form, or to open a list line ("5: a door opens").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNIT = r"(?:s|secs?|seconds?)\b"
_DASH = r"(?:-|–|—|to|until|till|and|through)"
_DEC = r"\d+(?:\.\d+)?"


def _num(name: str) -> str:
    """A number not glued to a word or another number ("mp4", "1.2.3")."""
    return rf"(?<![\w.])(?P<{name}>{_DEC})(?!\.\d)"


def _clock(name: str) -> str:
    return rf"(?<![\w:.])(?P<{name}>(?:\d{{1,2}}:)?\d{{1,2}}:\d{{2}}(?:\.\d+)?)(?![\w:])"


# Each alternative names its numbers; the first alternative that matches at the leftmost position wins.
_PATTERNS = [
    # 0:05-0:07, 00:01:05 to 00:01:09
    rf"{_clock('c1')}\s*{_DASH}\s*{_clock('c2')}",
    _clock("c0"),
    # [5-7], (5 - 7 s), [5s-7s]
    rf"[\[(]\s*(?P<b1>{_DEC})\s*(?:{_UNIT})?\s*{_DASH}\s*(?P<b2>{_DEC})\s*(?:{_UNIT})?\s*[\])]",
    # seconds 5-7, second 5 to 7, from second 5 to second 7
    rf"\b(?:from\s+|between\s+)?seconds?\s+(?P<s1>{_DEC})\s*{_DASH}\s*(?:seconds?\s+)?(?P<s2>{_DEC})",
    # 5-7 seconds, 5s-7s, from 5 to 7 s, between 5 and 7 seconds, 5s to 7
    rf"(?:\b(?:from|between)\s+)?{_num('r1')}\s*(?P<u1>{_UNIT})?\s*{_DASH}\s*(?P<r2>{_DEC})\s*(?P<u2>{_UNIT})?",
    # the 5th second
    r"\b(?P<o>\d+)(?:st|nd|rd|th)\s+seconds?\b",
    # second 5, frame 5, frame #5, t=5, t = 5s
    rf"\b(?:seconds?|frames?|t\s*=)\s*#?\s*(?P<w>{_DEC})(?:\s*{_UNIT})?",
    # 5s, 5 seconds, 5.5 sec
    rf"{_num('n')}\s*{_UNIT}",
    # [5], (5s)
    rf"[\[(]\s*(?P<k>{_DEC})\s*(?:{_UNIT})?\s*[\])]",
    # at 5, / at 5. / at 5 (end)
    rf"\bat\s+(?P<a>{_DEC})(?=\s*[,;)\]]|\s*:(?!\d)|\s*\.(?!\d)|\s*$)",
    # list line opening: "5: a door opens", "- 5) …", "5 - …"
    rf"^\s*(?:[-*•]\s*)?(?P<l>{_DEC})\s*(?:[:)]|\s[-–—]\s)",
]
_REGEX = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class TimeRef:
    start: float  # ordinal (seconds as the model counted them)
    end: float | None  # end of a range, None for an instant
    span: tuple[int, int]  # character offsets in the text
    text: str


def _clock_value(text: str) -> float:
    parts = [float(p) for p in text.split(":")]
    value = 0.0
    for p in parts:
        value = value * 60 + p
    return value


def find_times(text: str) -> list[TimeRef]:
    """Every time reference in ``text``, in order."""
    refs: list[TimeRef] = []
    for m in _REGEX.finditer(text):
        g = m.groupdict()
        if g.get("c1"):
            start, end = _clock_value(g["c1"]), _clock_value(g["c2"])
        elif g.get("c0"):
            start, end = _clock_value(g["c0"]), None
        elif g.get("b1"):
            start, end = float(g["b1"]), float(g["b2"])
        elif g.get("s1"):
            start, end = float(g["s1"]), float(g["s2"])
        elif g.get("r1"):
            # a bare "5 and 7" is no time: a range needs a unit or a from/between cue
            cue = m.group(0).lower().lstrip().startswith(("from", "between"))
            if not (g.get("u1") or g.get("u2") or cue):
                continue
            start, end = float(g["r1"]), float(g["r2"])
        else:
            key = next(k for k in ("o", "w", "n", "k", "a", "l") if g.get(k))
            start, end = float(g[key]), None
        if end is not None and end < start:
            start, end = end, start
        refs.append(TimeRef(start, end, m.span(), m.group(0).strip()))
    return refs


_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=\S)|\n+")
_PREPOSITION = re.compile(r"\b(?:at|around|about|by|in|on|after|until|from|between)\s+(?:the\s+)?(?:~\s*)?$", re.I)
_LEAD = re.compile(r"^[\s\-*•:;,.)\]]*(?:(?:at|from|around|about|in|on|by)\s+)?(?:the\s+)?[\s\-:;,.)\]]*", re.I)


def _clean(text: str) -> str:
    text = _LEAD.sub("", text).strip()
    text = re.sub(r"\s+([,.;:!?])", r"\1", re.sub(r"\s{2,}", " ", text))
    text = re.sub(r"^(?:,|and|then)\s+", "", text, flags=re.I).strip(" ,;:-–—")
    return text[:1].upper() + text[1:] if text else text


@dataclass(frozen=True)
class Moment:
    start: float  # ordinal
    end: float | None
    description: str  # the sentence without its time reference
    sentence: str


def parse_moments(text: str) -> list[Moment]:
    """One moment per line or sentence that names a time; the rest of that sentence describes it."""
    moments: list[Moment] = []
    for piece in _SENTENCE.split(text):
        piece = piece.strip()
        refs = find_times(piece)
        if not refs:
            continue
        first = refs[0]
        rest = piece
        for ref in reversed(refs):
            head = _PREPOSITION.sub("", rest[:ref.span[0]])
            rest = head + " " + rest[ref.span[1]:]
        moments.append(Moment(first.start, first.end, _clean(rest) or piece, piece))
    return moments
