"""Subtitles from an asset's transcript: SubRip (``.srt``) and WebVTT captions (``.captions.vtt``).

One cue per transcript segment; a segment longer than ``MAX_CUE_CHARS`` is split between words (at the
words' own times when the transcript has them), and each cue is wrapped into lines of at most
``LINE_CHARS`` characters. A cue ends where the next one starts at the latest. When a segment carries
a speaker label (``speaker``, set by speaker diarization), WebVTT cues carry it as a voice tag
(``<v Speaker 2>``); SubRip has no voice tags and shows the text alone.
"""

from __future__ import annotations

from cogvlm_media.export.timeline import Cue, ExportError, Placement

LINE_CHARS = 42
MAX_CUE_CHARS = 2 * LINE_CHARS


def _wrap(text: str) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= LINE_CHARS:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _split(cue: Cue) -> list[Cue]:
    """Cues of at most MAX_CUE_CHARS characters, cut between words."""
    text = " ".join(cue.text.split())
    if len(text) <= MAX_CUE_CHARS:
        return [Cue(cue.start, cue.end, text, cue.speaker)]
    words = list(cue.words) or [(w, None, None) for w in text.split()]
    chunks: list[list[tuple]] = [[]]
    for word in words:
        current = " ".join(" ".join(str(w[0]).split()) for w in chunks[-1])
        if chunks[-1] and len(current) + 1 + len(str(word[0]).strip()) > MAX_CUE_CHARS:
            chunks.append([])
        chunks[-1].append(word)
    timed = all(w[1] is not None for w in words)
    span = cue.end - cue.start
    total = sum(len(c) for c in chunks)
    out, done = [], 0
    for chunk in chunks:
        if timed:
            start, end = float(chunk[0][1]), float(chunk[-1][2])
        else:  # no word times: share the segment's time by word count
            start = cue.start + span * done / total
            end = cue.start + span * (done + len(chunk)) / total
        done += len(chunk)
        out.append(Cue(start, end, " ".join(" ".join(str(w[0]).split()) for w in chunk), cue.speaker))
    return out


def cues_for(clip: Placement) -> list[Cue]:
    cues = [piece for cue in sorted(clip.cues, key=lambda c: c.start) if cue.text.strip() for piece in _split(cue)]
    if not cues:
        raise ExportError(f"{clip.name}: no transcript to make subtitles from")
    out = []
    for cue, following in zip(cues, cues[1:] + [None]):
        end = cue.end if following is None else min(cue.end, following.start)
        out.append(Cue(cue.start, max(end, cue.start), cue.text, cue.speaker))
    return out


def _clock(seconds: float, sep: str) -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


def srt(clip: Placement) -> tuple[str, list[str]]:
    blocks = []
    for i, cue in enumerate(cues_for(clip), 1):
        blocks.append("\n".join([str(i), f"{_clock(cue.start, ',')} --> {_clock(cue.end, ',')}", *_wrap(cue.text)]))
    return "\n\n".join(blocks) + "\n", []


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webvtt(clip: Placement) -> tuple[str, list[str]]:
    lines = ["WEBVTT", ""]
    for cue in cues_for(clip):
        body = [_escape(line) for line in _wrap(cue.text)]
        if cue.speaker:
            body[0] = f"<v {_escape(' '.join(cue.speaker.split()))}>{body[0]}"
        lines += [f"{_clock(cue.start, '.')} --> {_clock(cue.end, '.')}", *body, ""]
    return "\n".join(lines), []
