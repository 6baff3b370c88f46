"""``Content-Disposition`` for downloads whose names come from file names (RFC 6266 / RFC 5987).

A file name may hold a newline, other control characters, quotes, non-ASCII letters or bytes that are
not UTF-8; none of that may reach a header raw (h11 rejects a newline, so every download failed).
Newlines and tabs become spaces and other control characters are dropped (as in every export),
undecodable bytes are written as ``\\xNN`` (store/fspath.py), and a name that is not plain ASCII
gets an ASCII ``filename`` fallback plus the exact ``filename*=UTF-8''...``.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from cogvlm_media.plain_text import one_line
from cogvlm_media.store.fspath import shown

PLAIN = re.compile(r"^[\x20-\x7e]*$")


def clean_name(name: str) -> str:
    name = one_line(shown(name))  # newlines and tabs as spaces, other controls dropped
    return name or "download"


def content_disposition(name: str, kind: str = "attachment") -> str:
    name = clean_name(name)
    if PLAIN.match(name) and '"' not in name and "\\" not in name:
        return f'{kind}; filename="{name}"'
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
