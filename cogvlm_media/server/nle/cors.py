"""Who may call the ``{prefix}/nle/`` routes: the NLE plugins, never another web page.

- The Premiere panel (UXP) calls cross-origin from its ``plugin:`` origin: those origins (and any added in
  ``COGVLM_MEDIA_PANEL_ORIGINS``) get CORS on these routes only.
- The Resolve script, the Node tests and scripts are no browser: they send no ``Origin``.
- Any other ``Origin`` (a page on ``http://localhost:3000`` included) is refused with 403 on every method,
  reads too: the marks hold file paths. So is a browser's request without one (``Sec-Fetch-Site`` says
  ``cross-site`` or ``same-site``: an ``<img>`` or ``<script>`` of another page). The review page's own
  origin passes to the guard, whose same-origin rule applies to every other route.
"""

from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

from cogvlm_media.server.common import error_body

PANEL_ID = "com.cogvlm-media.premiere"
# Origins allowed to call /api/v1/nle cross-origin (the panel's). UXP's documentation does not say which
# Origin header (if any) a panel's fetch sends; add yours with this variable.
PANEL_ORIGINS_ENV = "COGVLM_MEDIA_PANEL_ORIGINS"
DEFAULT_PANEL_ORIGINS = (f"plugin:{PANEL_ID}", f"uxp://{PANEL_ID}", f"plugin://{PANEL_ID}")
FOREIGN_FETCH = {"cross-site", "same-site"}  # Sec-Fetch-Site of a request sent by another page


def _allowed_origins() -> set[str]:
    extra = {o.strip().lower() for o in os.environ.get(PANEL_ORIGINS_ENV, "").split(",") if o.strip()}
    return {o.lower() for o in DEFAULT_PANEL_ORIGINS} | extra


def origin_allowed(origin: str) -> bool:
    """A panel's origin (never a web page's, localhost ones included)."""
    origin = origin.strip().lower()
    return bool(origin) and origin != "null" and origin in _allowed_origins()


def _own_origin(origin: str, host_header: str) -> bool:
    try:
        return bool(host_header) and urlsplit(origin.lower()).netloc == host_header
    except ValueError:
        return False


async def _refuse(send, message: str) -> None:
    data = json.dumps(error_body("forbidden_origin", message)).encode()
    await send({"type": "http.response.start", "status": 403, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


class PanelCors:
    """The rule above for ``{prefix}/nle/``: preflights from a panel origin are answered here; its actual
    requests pass to the guard without their Origin header (the guard refuses any foreign origin on
    state-changing requests) and get ``Access-Control-Allow-Origin`` back; other pages get 403."""

    def __init__(self, app, prefix: str = "/api/v1"):
        self.app, self.prefix = app, f"{prefix}/nle/"

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers") or [])
        named = {k: v.decode("latin-1") for k, v in headers}
        origin = named.get(b"origin", "")
        if not origin:
            if named.get(b"sec-fetch-site", "").strip().lower() in FOREIGN_FETCH:
                await _refuse(send, "the NLE routes answer only the NLE plugins, not a web page")
                return
            await self.app(scope, receive, send)  # a script (Resolve), or the review page itself
            return
        if not origin_allowed(origin):
            if _own_origin(origin, named.get(b"host", "").lower()):
                await self.app(scope, receive, send)  # the review page: the guard's rules
                return
            await _refuse(send, f"the NLE routes answer only the NLE plugins, not {origin!r}")
            return
        allow = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
        if scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": allow + [
                (b"access-control-allow-methods", b"GET, POST, PUT, OPTIONS"),
                (b"access-control-allow-headers", b"authorization, content-type"),
                (b"access-control-max-age", b"600"), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        inner = {**scope, "headers": [(k, v) for k, v in headers if k != b"origin"]}

        async def with_allow(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *allow]}
            await send(message)

        await self.app(inner, receive, with_allow)
