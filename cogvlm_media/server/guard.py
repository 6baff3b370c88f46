"""The request guard, in front of every route and static file.

- Token: when the server has a token (required for any non-loopback bind), every request must carry
  it: ``Authorization: Bearer TOKEN``, a ``token`` query parameter or the cookie set when a page was
  opened with ``?token=``. Compared in constant time.
- Host: without a token the server only answers requests whose ``Host`` is a loopback name (a web page
  elsewhere cannot reach it through DNS rebinding).
- Origin: a state-changing request sent by a browser must come from the server's own origin.
- Body size: request bodies are read up to ``max_body_bytes``; larger ones get 413 before any route.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cogvlm_media.server.common import error_body

COOKIE = "cogvlm_media_token"
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _hostname(value: str) -> str:
    """'localhost:8765' → 'localhost', '[::1]:8765' → '::1'."""
    try:
        return (urlsplit(f"//{value}").hostname or "").lower()
    except ValueError:
        return ""


async def _json(send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] = ()) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": data})


class Guard:
    def __init__(self, app: Callable, *, token: str = "", host: str = "127.0.0.1", max_body_bytes: int = 65536):
        self.app, self.token, self.max_body = app, token, max_body_bytes
        self.bound_host = host.lower().strip("[]")

    def _token_of(self, scope: Scope, headers: dict[bytes, bytes]) -> tuple[str, bool]:
        """(token presented, whether it came in the query string)."""
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip(), False
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if query.get("token"):
            return query["token"][0], True
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
        except Exception:  # a malformed cookie header is no token
            return "", False
        return (cookie[COOKIE].value if COOKIE in cookie else ""), False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host_header = headers.get(b"host", b"").decode("latin-1").lower()
        host = _hostname(host_header)
        set_cookie = False
        if self.token:
            given, from_query = self._token_of(scope, headers)
            if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
                await _json(send, 401, error_body("unauthorized", "a valid token is required "
                                                  "(Authorization: Bearer TOKEN, or open the page with ?token=TOKEN)"),
                            [(b"www-authenticate", b"Bearer")])
                return
            set_cookie = from_query
        elif not (is_loopback(host) or (host and host == self.bound_host)):
            await _json(send, 403, error_body("forbidden_host", f"this server answers only on localhost, not {host!r}"))
            return
        method = scope["method"].upper()
        if method in UNSAFE:
            origin = headers.get(b"origin", b"").decode("latin-1")
            if origin and origin != "null" and urlsplit(origin.lower()).netloc != host_header:
                await _json(send, 403, error_body("forbidden_origin", f"cross-origin request from {origin!r} refused"))
                return
            if origin == "null":
                await _json(send, 403, error_body("forbidden_origin", "request from an opaque origin refused"))
                return
            receive = await self._buffered(headers, receive, send)
            if receive is None:
                return
        if set_cookie:
            send = self._with_cookie(send)
        await self.app(scope, receive, send)

    async def _buffered(self, headers: dict[bytes, bytes], receive: Receive, send: Send) -> Receive | None:
        too_big = error_body("body_too_large", f"request bodies are limited to {self.max_body} bytes")
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                await _json(send, 400, error_body("bad_request", "invalid Content-Length"))
                return None
            if int(length) > self.max_body:
                await _json(send, 413, too_big)
                return None
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_body:
                await _json(send, 413, too_big)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, delivered = b"".join(chunks), False

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    def _with_cookie(self, send: Send) -> Send:
        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                value = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode("latin-1")
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", value)]}
            await send(message)

        return wrapped
