"""``Content-Disposition`` for downloads whose names come from file names (RFC 6266 / RFC 5987).

A file name may hold a newline, other control characters, quotes, non-ASCII letters or bytes that are
not UTF-8; none of that may reach a header raw (h11 rejects a newline, so every download failed).
Control characters are stripped, undecodable bytes written as ``\\xNN`` (store/fspath.py), and a name
that is not plain ASCII gets an ASCII ``filename`` fallback plus the exact ``filename*=UTF-8''...``.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from cogvlm_media.store.fspath import shown

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
PLAIN = re.compile(r"^[\x20-\x7e]*$")


def clean_name(name: str) -> str:
    name = CONTROL.sub("", shown(name)).strip()
    return name or "download"


def content_disposition(name: str, kind: str = "attachment") -> str:
    name = clean_name(name)
    if PLAIN.match(name) and '"' not in name and "\\" not in name:
        return f'{kind}; filename="{name}"'
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
