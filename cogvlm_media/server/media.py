"""Media and thumbnails, addressed by asset id only: the file streamed is one recorded at ingest,
never a path from the request. Streaming honours HTTP range requests (a `<video>` seeks with them);
thumbnails are made by ffmpeg once per asset, frame and size, and cached under ``home/thumbnails``."""

from __future__ import annotations

import mimetypes
import os
import re
import subprocess
import threading
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse

from cogvlm_media.server.common import ApiError, AssetId, Context, context, get_asset, media_path
from cogvlm_media.server.disposition import content_disposition
from cogvlm_media.store.engine import read_session
from cogvlm_media.store.queries import clock_for

router = APIRouter(tags=["media"])

SIZES = {"small": 192, "large": 640}  # pixels wide
RANGE_RE = re.compile(r"^bytes=\s*(\d*)\s*-\s*(\d*)\s*(,\s*\d*\s*-\s*\d*\s*)*$")
FFMPEG_TIMEOUT = 60
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()
mimetypes.add_type("video/mp4", ".m4v")
mimetypes.add_type("video/x-matroska", ".mkv")
mimetypes.add_type("video/quicktime", ".mov")


def _check_range(header: str | None, size: int) -> None:
    """Reject malformed or unsatisfiable ranges with a JSON error (Starlette serves the valid ones)."""
    if header is None:
        return
    found = RANGE_RE.match(header.strip())
    if not found or (found.group(1) == "" and found.group(2) == ""):
        raise ApiError(400, "bad_range", f"malformed Range header {header[:80]!r}")
    first = found.group(1)
    if first and int(first) >= size:
        raise ApiError(416, "range_not_satisfiable", f"range starts past the end of the file ({size} bytes)",
                       size=size)
    if first and found.group(2) and int(found.group(2)) < int(first):
        raise ApiError(400, "bad_range", "range ends before it starts")


@router.get("/assets/{asset_id}/media", summary="The asset's media file, streamed with HTTP range requests",
            response_class=FileResponse)
@router.head("/assets/{asset_id}/media", include_in_schema=False)
def media(request: Request, asset_id: int = AssetId, ctx: Context = Depends(context)) -> FileResponse:
    with read_session(ctx.engine) as session:
        path = media_path(get_asset(session, asset_id))
    _check_range(request.headers.get("range"), os.path.getsize(path))
    kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return FileResponse(path, media_type=kind, headers={"cache-control": "no-cache",
                                                         "content-disposition": content_disposition(
                                                             os.path.basename(path), "inline")})


def _lock_for(key: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def make_thumbnail(source: str, seconds: float, width: int, target: Path) -> None:
    """One JPEG frame at ``seconds`` (accurate seek), ``width`` pixels wide, written atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.partial.jpg")
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-ss", f"{seconds:.6f}", "-i", source,
           "-map", "0:v:0", "-frames:v", "1", "-vf", f"scale={width}:-2", "-q:v", "4", "-f", "image2", str(partial)]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=FFMPEG_TIMEOUT)
        if not partial.is_file() or partial.stat().st_size == 0:
            raise ApiError(422, "no_frame", f"no video frame at {seconds:.3f} s")
        os.replace(partial, target)
    except FileNotFoundError:
        raise ApiError(500, "ffmpeg_missing", "ffmpeg is not installed") from None
    except subprocess.TimeoutExpired:
        raise ApiError(504, "thumbnail_timeout", "ffmpeg took too long to make the thumbnail") from None
    except subprocess.CalledProcessError as exc:
        message = exc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["failed"]
        raise ApiError(422, "thumbnail_failed", f"ffmpeg could not read a frame: {message[0][:200]}") from None
    finally:
        partial.unlink(missing_ok=True)


@router.get("/assets/{asset_id}/thumbnail", summary="A JPEG of the asset at a time (made once, then cached)",
            response_class=FileResponse)
def thumbnail(asset_id: int = AssetId, ctx: Context = Depends(context),
              t: float = Query(0.0, ge=0, allow_inf_nan=False, description="Seconds from the first frame."),
              size: str = Query("small", description="small (192 px wide) or large (640 px wide).")) -> FileResponse:
    if size not in SIZES:
        raise ApiError(422, "invalid", f"size: small or large, not {size!r}")
    with read_session(ctx.engine) as session:
        asset = get_asset(session, asset_id)
        if t > asset.duration + 1e-9:
            raise ApiError(422, "out_of_range", f"t: {t} s is past the end of the media ({asset.duration:.3f} s)")
        clock = clock_for(asset)
        frame = max(0, min(clock.frame(t), asset.frame_count - 1))
        target = ctx.settings.home / "thumbnails" / asset.fingerprint[:2] / asset.fingerprint / f"{size}-{frame:08d}.jpg"
        source = None if target.is_file() else media_path(asset)  # a cached thumbnail outlives a moved file
    if source is not None and not target.is_file():
        with _lock_for(str(target)):  # one ffmpeg per thumbnail, however many requests ask at once
            if not target.is_file():
                try:
                    make_thumbnail(source, clock.seconds(frame), SIZES[size], target)
                except ApiError as exc:
                    if exc.code != "no_frame" or frame == 0:
                        raise
                    # the last frames of some files cannot be sought to exactly: take the frame a second earlier
                    make_thumbnail(source, max(0.0, clock.seconds(frame) - 1.0), SIZES[size], target)
    return FileResponse(target, media_type="image/jpeg",
                        headers={"cache-control": "private, max-age=86400", "x-thumbnail-frame": str(frame)})
