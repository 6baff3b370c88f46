"""What every route module shares: the app's context, JSON errors, asset look-ups and marker-edit checks."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import BackgroundTasks, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from cogvlm_media import hooks
from cogvlm_media.config import Settings
from cogvlm_media.export.timeline import COLOURS
from cogvlm_media.store.models import Asset, Marker
from cogvlm_media.server.files import still_the_ingested_file
from cogvlm_media.store.fspath import SURROGATE, UNDECODED

MAX_ID = 2**63 - 1  # larger ids cannot be stored (SQLite INTEGER), so they are rejected, not looked up

AssetId = Path(..., ge=1, le=MAX_ID, description="Asset id (from /api/v1/assets).")
MarkerId = Path(..., ge=1, le=MAX_ID, description="Marker id.")


class PathSafeJSON(JSONResponse):
    """JSON whose file names may hold bytes that are not UTF-8 (stored escaped, store/fspath.py): each
    such byte is sent as the text ``\\xNN``, as the CLI shows it, instead of failing the response."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
        return shown_json(text).encode("utf-8")


def shown_json(text: str) -> str:
    """JSON text with each undecodable byte of a file name as the JSON string text ``\\\\xNN``."""
    text = UNDECODED.sub(lambda m: f"\\\\x{ord(m.group()) - 0xDC00:02x}", text)
    return SURROGATE.sub("\ufffd", text)


class ApiError(Exception):
    """Answered as ``{"error": {"code": ..., "message": ...}}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


@dataclass
class Context:
    settings: Settings
    engine: Engine
    cache: dict[str, Any] = field(default_factory=dict)  # per-app singletons (search backend, locks)


def context(request: Request) -> Context:
    return request.app.state.ctx


def get_asset(session: Session, asset_id: int) -> Asset:
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise ApiError(404, "not_found", f"no asset with id {asset_id}")
    return asset


def get_marker(session: Session, marker_id: int) -> Marker:
    marker = session.get(Marker, marker_id)
    if marker is None:
        raise ApiError(404, "not_found", f"no marker with id {marker_id}")
    return marker


def media_path(asset: Asset) -> str:
    """The newest recorded path of the asset that still holds its file (server/files.py: the resolved
    target's inode, size and mtime as ingested, or else the same fingerprint). Only paths stored at
    ingest are ever opened: nothing from the request names a file."""
    for row in reversed(asset.paths):
        if still_the_ingested_file(row, asset.size, asset.fingerprint):
            return row.path
    where = asset.paths[-1].path if asset.paths else "no recorded path"
    raise ApiError(404, "media_missing", f"asset {asset.id}: its media file is missing, moved or changed "
                   f"since ingest (last seen at {where})", asset_id=asset.id)


def media_available(asset: Asset) -> bool:
    try:
        media_path(asset)
        return True
    except ApiError:
        return False


# --- marker edits (the review page's and the NLE plugins' routes) ------------------------------------

def checked_colour(value: str | None) -> str | None:
    if value is None:
        return None
    if value.upper() not in COLOURS:
        raise ApiError(422, "invalid", f"colour: unknown colour {value!r} (one of {', '.join(COLOURS)})")
    return value.upper()


def checked_name(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ApiError(422, "invalid", "name: must not be blank")
    return value.strip() if value is not None else None


def announce_change(ctx: Context, background: BackgroundTasks, asset_id: int) -> None:
    # after the commit: derived data (search indexes) catches up; a listener's failure is only logged
    background.add_task(hooks.emit, "asset_changed", ctx.engine, ctx.settings, asset_id=asset_id)
