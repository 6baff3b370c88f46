"""Cross-origin access for the Premiere panel: only ``{prefix}/nle/`` routes, only from the panel's origins
and localhost pages; every other route keeps the guard's same-origin rule."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from cogvlm_media.server.guard import is_loopback

PANEL_ID = "com.cogvlm-media.premiere"
# Origins allowed to call /api/v1/nle cross-origin besides http(s)://localhost|127.0.0.1|[::1][:port].
# UXP's documentation does not say which Origin header (if any) a panel's fetch sends; add yours here.
PANEL_ORIGINS_ENV = "COGVLM_MEDIA_PANEL_ORIGINS"
DEFAULT_PANEL_ORIGINS = (f"plugin:{PANEL_ID}", f"uxp://{PANEL_ID}", f"plugin://{PANEL_ID}")


def _allowed_origins() -> set[str]:
    extra = {o.strip().lower() for o in os.environ.get(PANEL_ORIGINS_ENV, "").split(",") if o.strip()}
    return {o.lower() for o in DEFAULT_PANEL_ORIGINS} | extra


def origin_allowed(origin: str) -> bool:
    origin = origin.strip().lower()
    if not origin or origin == "null":
        return False
    if origin in _allowed_origins():
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and is_loopback(parts.hostname) \
        and not parts.path.strip("/")


class PanelCors:
    """CORS for ``{prefix}/nle/`` only: preflights from an allowed origin are answered here; actual requests
    from an allowed origin pass to the guard without their Origin header (the guard refuses any foreign
    origin on state-changing requests) and get ``Access-Control-Allow-Origin`` back. Requests from any
    other origin are passed on untouched, so the guard refuses them as before."""

    def __init__(self, app, prefix: str = "/api/v1"):
        self.app, self.prefix = app, f"{prefix}/nle/"

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers") or [])
        origin = next((v.decode("latin-1") for k, v in headers if k == b"origin"), "")
        if not origin or not origin_allowed(origin):
            await self.app(scope, receive, send)
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
