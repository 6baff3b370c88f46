"""The ASGI app: ``create_app(settings)``; routes under ``/api/v1``, the review page at ``/``.

OpenAPI: ``/api/v1/openapi.json`` and an offline reference page at ``/api`` (FastAPI's own /docs pages
load their scripts from a CDN, so they are off).
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

from cogvlm_media import __version__
from cogvlm_media.config import Settings
from cogvlm_media.server import nle
from cogvlm_media.server.common import ApiError, Context, PathSafeJSON, error_body
from cogvlm_media.server.guard import Guard, is_loopback

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
API = "/api/v1"
PAGE_HEADERS = {
    # the page loads nothing from elsewhere: no CDN, no external fonts
    "content-security-policy": "default-src 'self'; img-src 'self' data:; media-src 'self'; "
                               "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "cache-control": "no-cache",
}


class InsecureBind(ValueError):
    """A non-loopback address without a token."""


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str, list]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "malformed_json", "the request body is not valid JSON", []
    details = [{"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")} for e in errors]
    first = details[0] if details else {"where": "request", "problem": "invalid"}
    return 422, "invalid", f"{first['where']}: {first['problem']}", details


def create_app(settings: Settings, engine=None) -> FastAPI:
    """The review server for ``settings`` (database, home folder, [server] host/token/limits)."""
    server = settings.server
    if not server.token and not is_loopback(server.host):
        raise InsecureBind(f"binding to {server.host} needs a token (--token, [server] token or COGVLM_MEDIA_TOKEN)")
    if engine is None:
        from cogvlm_media.store.engine import get_engine

        engine = get_engine(settings.db_url)

    app = FastAPI(title="cogvlm-media review server", version=__version__, openapi_url=f"{API}/openapi.json",
                  docs_url=None, redoc_url=None, default_response_class=PathSafeJSON,
                  description="The archive over HTTP: assets (the `show --json` contract), markers (edits are "
                              "stored as editor-verified with the model's original kept as history), search, "
                              "exports, thumbnails and range-streamed media.")
    app.state.ctx = Context(settings=settings, engine=engine)

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, message, details = _validation_message(exc)
        return JSONResponse(error_body(code, message, details=details), status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(StaleDataError)  # a marker changed by another server's request meanwhile (NLE sync too)
    async def _conflict(_request: Request, _exc: StaleDataError) -> JSONResponse:
        from cogvlm_media.store.marker_edits import conflict_message

        return JSONResponse(error_body("conflict", conflict_message()), status_code=409)

    @app.exception_handler(DBAPIError)  # the database out of reach after the engine's retries: 503, one line
    async def _database(_request: Request, exc: DBAPIError) -> JSONResponse:
        from cogvlm_media.store.engine import database_error_line, is_unavailable

        if not is_unavailable(exc):
            log.error("database error: %s", exc)
            return JSONResponse(error_body("internal", f"internal error: {type(exc).__name__}"), status_code=500)
        return JSONResponse(error_body("unavailable", database_error_line(exc)), status_code=503)

    @app.exception_handler(Exception)
    async def _crash(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("request failed")
        return JSONResponse(error_body("internal", f"internal error: {type(exc).__name__}"), status_code=500)

    from cogvlm_media.server import assets, exports, markers, media, people, search, speakers

    for module in (assets, markers, search, exports, media, people, speakers):
        app.include_router(module.router, prefix=API)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)

    @app.get("/api", include_in_schema=False)
    def api_page() -> FileResponse:
        return FileResponse(STATIC / "api.html", headers=PAGE_HEADERS)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(Guard, token=server.token, host=server.host, max_body_bytes=server.max_body_bytes)
    nle.install(app, API)  # the NLE plugins' routes, with CORS for the panel (outside the guard)
    return app
