"""`cogvlm-media serve`: the review page and the HTTP API (uvicorn)."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Optional

import typer

from cogvlm_media.cli.context import console, fail, state

ENV_TOKEN = "COGVLM_MEDIA_TOKEN"


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        ctx: typer.Context,
        host: Optional[str] = typer.Option(None, "--host", help="Address to bind (default \\[server] host, 127.0.0.1). "
                                           "Any non-loopback address needs a token."),
        port: Optional[int] = typer.Option(None, "--port", min=0, max=65535, help="Port (default \\[server] port, 8765)."),
        token: Optional[str] = typer.Option(None, "--token", help=f"Require this token on every request "
                                            f"(default \\[server] token or ${ENV_TOKEN})."),
    ) -> None:
        """Serve the review page (search, play, fix markers) and the HTTP API at /api/v1."""
        import uvicorn

        from cogvlm_media.server.app import InsecureBind, create_app
        from cogvlm_media.server.guard import is_loopback

        st = state(ctx)
        server = st.settings.server
        server = replace(server, host=host or server.host, port=server.port if port is None else port,
                         token=token if token is not None else (os.environ.get(ENV_TOKEN) or server.token))
        if server.token and len(server.token) < 8:
            raise fail("the token must be at least 8 characters", 2)
        settings = replace(st.settings, server=server)
        try:
            application = create_app(settings, st.engine)
        except InsecureBind as exc:
            raise fail(str(exc), 2) from None
        shown = f"[{server.host}]" if ":" in server.host else server.host
        where = f"http://{'127.0.0.1' if server.host in ('0.0.0.0', '::') else shown}:{server.port}/"
        console.print(f"review page: {where}" + ("?token=…" if server.token else ""), markup=False)
        console.print(f"API: {where}api (OpenAPI: {where}api/v1/openapi.json)", markup=False)
        if not is_loopback(server.host):
            console.print("note: reachable from other machines; every request needs the token", markup=False)
        uvicorn.run(application, host=server.host, port=server.port, log_level="warning", access_log=False,
                    timeout_graceful_shutdown=5)
