"""File paths as text a database accepts, losslessly.

On Linux a file name is bytes; Python gives an undecodable byte (``caf\\xe9.mp4`` in Latin-1) as a
lone surrogate (``'caf\\udce9.mp4'``), which neither SQLite nor PostgreSQL ``TEXT`` can store. The
stored form writes such a byte as ``\\xNN`` (``caf\\xe9.mp4``) and is what every listing shows. A
backslash is doubled only where it could be read as part of an escape (before ``\\``, an escaped byte
or ``xNN``), so every name that is valid UTF-8 - backslashes included, almost always - is stored
unchanged and existing rows keep their meaning. :func:`from_text` gives back the exact name.

``FsPath`` is the column type of stored paths: Python code keeps using the operating system's
``str`` (surrogates included), the database sees only the escaped text.
"""

from __future__ import annotations

import re

from sqlalchemy.types import Text, TypeDecorator

_HEX = "0123456789abcdefABCDEF"
_ESCAPE = re.compile(r"\\(\\|x[0-9a-fA-F]{2})")


def _is_escaped_byte(ch: str) -> bool:
    return "\udc80" <= ch <= "\udcff"


def to_text(path: str) -> str:
    """The stored and displayed form of an operating-system path string."""
    if "\\" not in path and not any(_is_escaped_byte(c) for c in path):
        return path
    out = []
    n = len(path)
    for i, ch in enumerate(path):
        if _is_escaped_byte(ch):
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif ch == "\\":
            nxt = path[i + 1] if i + 1 < n else ""
            hexed = nxt == "x" and i + 3 < n and path[i + 2] in _HEX and path[i + 3] in _HEX
            out.append("\\\\" if nxt == "\\" or _is_escaped_byte(nxt) or hexed else "\\")
        elif "\ud800" <= ch <= "\udfff":
            raise ValueError(f"not a file name (a lone surrogate U+{ord(ch):04X} no file name decodes to)")
        else:
            out.append(ch)
    return "".join(out)


def from_text(text: str) -> str:
    """The operating-system path string of a stored path (inverse of :func:`to_text`)."""
    if "\\" not in text:
        return text

    def undo(match: re.Match) -> str:
        body = match.group(1)
        return "\\" if body == "\\" else chr(0xDC00 + int(body[1:], 16))

    return _ESCAPE.sub(undo, text)


UNDECODED = re.compile("[\udc80-\udcff]")
SURROGATE = re.compile("[\ud800-\udfff]")


def shown(text: str) -> str:
    """A path (or a message holding one) as printed and sent to clients: each undecodable byte as
    ``\\xNN``, as stored. Never raises."""
    text = UNDECODED.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)
    return SURROGATE.sub("\ufffd", text)


class FsPath(TypeDecorator):
    """A file path column: escaped on the way in, exact again on the way out."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else to_text(value)

    def process_result_value(self, value, dialect):
        return None if value is None else from_text(value)
