"""DaVinci Resolve's marker EDL (Timeline → Import → Timeline Markers from EDL…).

No library writes it, so this module is small: each marker is a one-frame event at its record
(timeline) timecode, followed by ``<note> |C:ResolveColor<Colour> |M:<name> |D:<frames>``, lines ending
in CRLF as in Resolve's own exports. ``|`` cannot appear inside a name or note (it is replaced by
``/``); a name is one line; a note may span lines (blank lines are dropped, as Resolve would end the
event there). Notes carry the marker's id tag so a round trip recognises the marker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction


from cogvlm_media.export.timeline import Plan, otio_colour_from_resolve, resolve_colour, tagged
from cogvlm_media.media.timecode import parse_timecode

EVENT_RE = re.compile(r"^(\d{3,})\s+(\S+)\s+(\S+)\s+(\S+)\s+"
                      r"(\d\d:\d\d:\d\d[:;]\d\d)\s+(\d\d:\d\d:\d\d[:;]\d\d)\s+"
                      r"(\d\d:\d\d:\d\d[:;]\d\d)\s+(\d\d:\d\d:\d\d[:;]\d\d)\s*$")
TAIL_RE = re.compile(r"\|C:(\S*)\s*\|M:(.*?)\s*\|D:(\d+)\s*$")


def _clean_name(text: str) -> str:
    return " ".join(text.replace("|", "/").split())


def _clean_note(text: str) -> list[str]:
    lines = [" ".join(line.replace("|", "/").split()) for line in text.replace("\r", "\n").split("\n")]
    return [line for line in lines if line]


def write(p: Plan) -> str:
    fcm = "DROP FRAME" if p.record_drop else "NON-DROP FRAME"
    lines = [f"TITLE: {_clean_name(p.name)}", f"FCM: {fcm}", ""]
    number = 0
    for clip in p.clips:
        for mk in clip.marks:
            number += 1
            frame = p.record_start + clip.record_offset + mk.frame
            tc_in, tc_out = p.label(frame), p.label(frame + 1)
            lines.append(f"{number:03d}  001      V     C        {tc_in} {tc_out} {tc_in} {tc_out}  ")
            note = _clean_note(tagged(mk.note, mk.ids))
            tail = f"|C:ResolveColor{resolve_colour(mk.colour)} |M:{_clean_name(mk.name)} |D:{max(mk.frames, 1)}"
            lines += note[:-1] + [f"{note[-1] if note else ''} {tail}"]
            lines.append("")
    return "\r\n".join(lines) + "\r\n"


@dataclass(frozen=True)
class ResolveMarker:
    record_frame: int
    frames: int
    colour: str | None  # OTIO colour name
    name: str
    note: str


def read(text: str, rate: Fraction) -> list[ResolveMarker]:
    """Markers of a Resolve marker EDL, in file order. Raises ValueError on anything else."""
    out: list[ResolveMarker] = []
    event: str | None = None
    pending: list[str] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        found = EVENT_RE.match(line)
        if found:
            event, pending = found.group(7), []
            continue
        if event is None or not line.strip():
            continue
        tail = TAIL_RE.search(line)
        if not tail:
            pending.append(line.strip())
            continue
        pending.append(line[:tail.start()].strip())
        frame = parse_timecode(event, rate)
        out.append(ResolveMarker(record_frame=frame, frames=int(tail.group(3)),
                                 colour=otio_colour_from_resolve(tail.group(1)), name=tail.group(2).strip(),
                                 note="\n".join(p for p in pending if p)))
        event, pending = None, []
    if not out and "|C:" not in text:
        raise ValueError("no Resolve markers (|C: |M: |D: lines) found")
    return out
