"""On-screen text, from recognised lines per sampled frame to text events (pure functions, no model).

* Lines of one frame that sit one under the other (a gap under one line height, overlapping across,
  similar heights) form one block: a two-line slate or lower third is one block.
* A block continues an open event when its text is nearly the same (``SAME_TEXT`` similarity, case and
  spacing ignored) and its box overlaps the event's; an event missed on one sampled frame survives it.
  An event starts at the first sampled frame showing it and ends at the first one no longer showing it.
* Events are classified by position and duration (boxes normalised to the frame):
  ``slate``: clapper words (scene, take, roll, …) in the middle of the frame, at most ``SLATE_MAX`` s;
  ``lower_third``: a band in the lower part (top below 50 %, centre below 60 %, at most 30 % high);
  ``title``: centred text of large lines (at least ``TITLE_LINE`` of the frame's height);
  anything else, and any text that changes while it is shown (a running clock), is ``text``. An
  unclassified text seen on one sampled frame only is dropped as noise.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher

from cogvlm_media.analysis.ocr import Recognised
from cogvlm_media.records import TEXT_LABELS, Scene, TextEvent, TextResult

Refine = Callable[["Block", bool], float]
SAME_TEXT = 0.75
STEADY = 0.6  # a classified event reads the same on this share of its frames (a running clock does not)
SLATE_MAX = 6.0
TITLE_LINE = 0.05
LOWER_THIRD_MIN = 1.0
TITLE_MIN = 1.5
_SLATE_WORDS = re.compile(r"\b(scene|sc|take|tk|roll|slate|cam|camera|prod|production|director|dop|date)\b")
LABELS = TEXT_LABELS


def _key(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def same_text(a: str, b: str) -> bool:
    """Nearly the same words, case, spacing and punctuation ignored."""
    return _similar(_key(a), _key(b))


def _similar(a: str, b: str) -> bool:
    return a == b or SequenceMatcher(None, a, b).ratio() >= SAME_TEXT


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over the smaller box's area."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / max(1e-9, min(a[2] * a[3], b[2] * b[3]))


@dataclass
class Block:
    text: str
    confidence: float
    box: tuple[float, float, float, float]  # normalised x, y, width, height
    lines: int


def blocks(lines: list[Recognised], width: int, height: int) -> list[Block]:
    """Group one frame's recognised lines into blocks, top to bottom; boxes normalised to the frame."""
    groups: list[list[Recognised]] = []
    for line in sorted(lines, key=lambda r: (r.box[1], r.box[0])):
        x, y, w, h = line.box
        for group in groups:
            last = group[-1]
            lx, ly, lw, lh = last.box
            gap = y - (ly + lh)
            across = min(x + w, lx + lw) - max(x, lx)
            if gap < max(h, lh) and across > 0 and max(h, lh) / max(1.0, min(h, lh)) < 1.8:
                group.append(line)
                break
        else:
            groups.append([line])
    out = []
    for group in groups:
        x0 = min(r.box[0] for r in group)
        y0 = min(r.box[1] for r in group)
        x1 = max(r.box[0] + r.box[2] for r in group)
        y1 = max(r.box[1] + r.box[3] for r in group)
        out.append(Block(" ".join(r.text for r in group), min(r.confidence for r in group),
                         (x0 / width, y0 / height, (x1 - x0) / width, (y1 - y0) / height), len(group)))
    return out


@dataclass
class _Open:
    start: float
    last: float
    box: tuple[float, float, float, float]
    lines: int
    votes: Counter = field(default_factory=Counter)
    confidences: list[float] = field(default_factory=list)
    missed_at: float | None = None
    seen: int = 0

    @property
    def text(self) -> str:
        return self.votes.most_common(1)[0][0]


class TextTracker:
    """Feed ``add(time, blocks)`` per sampled frame in time order, then ``finish(end)``."""

    def __init__(self) -> None:
        self.open: list[_Open] = []
        self.done: list[_Open] = []

    def add(self, time: float, found: list[Block], refine: Refine | None = None) -> None:
        """``refine(block, appearing)``: for a frame read late (the picture changed on samples that were not
        read), the first of those samples that already showed a new block, or the first that no longer showed
        a going one; ``time`` when there is none."""
        matched: set[int] = set()
        for block in found:
            key = _key(block.text)
            if not key:
                continue
            best = next((i for i, ev in enumerate(self.open) if i not in matched
                         and _similar(_key(ev.text), key) and _overlap(ev.box, block.box) > 0.3), None)
            if best is None:
                start = refine(block, True) if refine else time
                self.open.append(_Open(start, time, block.box, block.lines))
                best = len(self.open) - 1
            ev = self.open[best]
            ev.last, ev.missed_at, ev.seen = time, None, ev.seen + 1
            ev.votes[block.text] += block.confidence
            ev.confidences.append(block.confidence)
            ev.box, ev.lines = block.box, max(ev.lines, block.lines)
            matched.add(best)
        still = []
        for i, ev in enumerate(self.open):
            if i in matched:
                still.append(ev)
            elif ev.missed_at is None:
                # one sampled frame without it is forgiven
                ev.missed_at = refine(Block(ev.text, 0.0, ev.box, ev.lines), False) if refine else time
                still.append(ev)
            else:
                self.done.append(ev)
        self.open = still

    def finish(self, end: float, step: float) -> list[TextEvent]:
        self.done.extend(self.open)
        self.open = []
        events = []
        for ev in sorted(self.done, key=lambda e: (e.start, e.box[1])):
            stop = ev.missed_at if ev.missed_at is not None else end
            steady = ev.votes.most_common(1)[0][1] >= STEADY * sum(ev.votes.values())
            category = classify(ev.text, ev.box, ev.lines, stop - ev.start) if steady else "text"
            if category == "text" and ev.seen < 2:
                continue
            events.append(TextEvent(index=len(events), start=round(ev.start, 3), end=round(max(stop, ev.start), 3),
                                    text=ev.text, category=category, box=tuple(round(v, 4) for v in ev.box),
                                    confidence=round(sum(ev.confidences) / len(ev.confidences), 4), lines=ev.lines))
        return events


def classify(text: str, box: tuple[float, float, float, float], lines: int, duration: float) -> str:
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    if _SLATE_WORDS.search(text.casefold()) and 0.15 <= cy <= 0.85 and duration <= SLATE_MAX:
        return "slate"
    if y >= 0.5 and cy >= 0.6 and h <= 0.3 and duration >= LOWER_THIRD_MIN:
        return "lower_third"
    if 0.25 <= cy <= 0.75 and 0.3 <= cx <= 0.7 and h / max(1, lines) >= TITLE_LINE and duration >= TITLE_MIN:
        return "title"
    return "text"


def titled_scenes(scenes: list[Scene], text: TextResult | None) -> list[Scene]:
    """Scenes titled by a title card they hold, else by a lower third (else left as they are); the
    summary lists the on-screen text."""
    if not text or not text.events:
        return scenes
    out = []
    for scene in scenes:
        inside = [e for e in text.events if scene.start <= e.start < scene.end and e.category != "text"]
        pick = next((e for kind in ("title", "lower_third") for e in inside if e.category == kind), None)
        if not inside:
            out.append(scene)
            continue
        shown = "; ".join(f"{LABELS[e.category].lower()} “{e.text}”" for e in inside)
        out.append(replace(scene, title=pick.text if pick else scene.title,
                           summary=f"{scene.summary} On screen: {shown}."))
    return out
