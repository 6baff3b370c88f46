"""Control characters in marker names and notes.

Names and notes may hold newlines and tabs, nothing else below U+0020: the API refuses NUL and the
other C0 controls (and DEL and C1), imports from NLE files strip them, and every export writes only
printable text plus what its format allows (names on one line; notes keep newlines where the format
has multi-line notes - CSV quotes them, the Resolve EDL writes one note line each).
"""

from __future__ import annotations

import re

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 but tab and newline, DEL, C1
LINE_BREAKS = re.compile(r"[\t\n]+")


def control_in(text: str) -> str | None:
    """``U+0000``-style name of the first forbidden control character, or None."""
    found = CONTROL.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def refuse_controls(text: str) -> str:
    """Pydantic validator: the text unchanged, or a ValueError naming the control character."""
    bad = control_in(text)
    if bad:
        raise ValueError(f"must not contain control characters other than newline and tab (found {bad})")
    return text


def strip_controls(text: str) -> str:
    return CONTROL.sub("", text)


def one_line(text: str) -> str:
    """A name for formats (and NLEs) that keep names on one line."""
    return LINE_BREAKS.sub(" ", strip_controls(text)).strip()
