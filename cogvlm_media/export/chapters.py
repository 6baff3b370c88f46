"""Chapter files from an asset's scene markers (verified ones win): FFmpeg metadata, WebVTT chapters,
YouTube description lines and Matroska chapter XML.

Chapters are contiguous: each runs to the next one's start (MP4/MOV chapter tracks cannot represent
gaps) and the last to the end of the file. Times are frame-exact (frame / rate).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from fractions import Fraction

from cogvlm_media.export.timeline import ExportError, Placement

YOUTUBE_MIN_SECONDS = 10
YOUTUBE_MIN_CHAPTERS = 3


@dataclass(frozen=True)
class Chapter:
    start: Fraction  # seconds
    end: Fraction
    title: str


def chapters_for(clip: Placement) -> list[Chapter]:
    scenes = sorted((mk for mk in clip.marks if mk.kind == "scene"), key=lambda k: k.frame)
    if not scenes:
        raise ExportError(f"{clip.name}: no scenes to make chapters from")
    starts: list[tuple[int, str]] = []
    for mk in scenes:
        if starts and starts[-1][0] == mk.frame:
            continue
        starts.append((mk.frame, " ".join(mk.name.split()) or f"Chapter {len(starts) + 1}"))
    ends = [f for f, _ in starts[1:]] + [clip.frame_count]
    return [Chapter(Fraction(f) / clip.rate, Fraction(e) / clip.rate, t) for (f, t), e in zip(starts, ends)]


def _ms(t: Fraction) -> int:
    return int(round(t * 1000))


def _ff_escape(text: str) -> str:
    out = []
    for ch in text:
        out.append("\\" + ch if ch in "=;#\\\n" else ch)
    return "".join(out)


def ffmetadata(chapters: list[Chapter], title: str = "") -> str:
    lines = [";FFMETADATA1"]
    if title:
        lines.append(f"title={_ff_escape(title)}")
    for ch in chapters:
        lines += ["", "[CHAPTER]", "TIMEBASE=1/1000", f"START={_ms(ch.start)}", f"END={_ms(ch.end)}",
                  f"title={_ff_escape(ch.title)}"]
    return "\n".join(lines) + "\n"


def _vtt_time(t: Fraction) -> str:
    ms = _ms(t)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _vtt_text(text: str) -> str:
    return " ".join(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").split())


def webvtt(chapters: list[Chapter]) -> str:
    lines = ["WEBVTT", ""]
    for i, ch in enumerate(chapters, 1):
        lines += [f"chapter-{i}", f"{_vtt_time(ch.start)} --> {_vtt_time(ch.end)}", _vtt_text(ch.title), ""]
    return "\n".join(lines)


def youtube_chapters(chapters: list[Chapter]) -> tuple[list[Chapter], list[str]]:
    """Chapters meeting YouTube's rules (first at 0:00, at least 3, each at least 10 s): short ones are
    merged into their neighbour. Returns the chapters and what was changed; ExportError when impossible."""
    notes: list[str] = []
    items = [Chapter(Fraction(0), chapters[0].end, chapters[0].title)] + list(chapters[1:])
    if chapters[0].start > 0:
        notes.append(f"chapter {chapters[0].title!r} starts at 0:00 (YouTube requires it)")
    changed = True
    while changed and len(items) > 1:
        changed = False
        for i, ch in enumerate(items):
            if ch.end - ch.start >= YOUTUBE_MIN_SECONDS:
                continue
            if i == 0:
                nxt = items[1]
                items[0:2] = [Chapter(ch.start, nxt.end, ch.title)]
                notes.append(f"merged short chapter {nxt.title!r} into {ch.title!r} (YouTube needs >= 10 s)")
            else:
                prev = items[i - 1]
                items[i - 1:i + 1] = [Chapter(prev.start, ch.end, prev.title)]
                notes.append(f"merged short chapter {ch.title!r} into {prev.title!r} (YouTube needs >= 10 s)")
            changed = True
            break
    if len(items) < YOUTUBE_MIN_CHAPTERS or any(c.end - c.start < YOUTUBE_MIN_SECONDS for c in items):
        total = float(chapters[-1].end)
        raise ExportError(f"YouTube chapters need at least {YOUTUBE_MIN_CHAPTERS} chapters of at least "
                          f"{YOUTUBE_MIN_SECONDS} s; this {total:.1f} s asset gives {len(items)} after merging")
    return items, notes


def _yt_time(seconds: int, hours: bool) -> str:
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def youtube(chapters: list[Chapter]) -> str:
    hours = chapters[-1].end >= 3600
    lines, last = [], -1
    for ch in chapters:
        second = max(int(ch.start), last + 1)  # whole seconds, strictly ascending
        last = second
        lines.append(f"{_yt_time(second, hours)} {' '.join(ch.title.split())}")
    return "\n".join(lines) + "\n"


def _mkv_time(t: Fraction) -> str:
    ns = int(round(t * 1_000_000_000))
    s, frac = divmod(ns, 1_000_000_000)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.{frac:09d}"


def mkvxml(chapters: list[Chapter], language: str = "eng") -> str:
    root = ET.Element("Chapters")
    edition = ET.SubElement(root, "EditionEntry")
    for ch in chapters:
        atom = ET.SubElement(edition, "ChapterAtom")
        ET.SubElement(atom, "ChapterTimeStart").text = _mkv_time(ch.start)
        ET.SubElement(atom, "ChapterTimeEnd").text = _mkv_time(ch.end)
        display = ET.SubElement(atom, "ChapterDisplay")
        ET.SubElement(display, "ChapterString").text = " ".join(ch.title.split())
        ET.SubElement(display, "ChapterLanguage").text = language
    ET.indent(root, space="  ")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE Chapters SYSTEM "matroskachapters.dtd">\n'
            + ET.tostring(root, encoding="unicode") + "\n")
