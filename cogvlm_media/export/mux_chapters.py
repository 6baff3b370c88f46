"""A copy of a media file with chapters muxed in by ffmpeg (stream copy); the original is never touched.

Data streams (an MP4 timecode track) are not copied as such: ffmpeg writes a new timecode track from
the video stream's ``timecode`` tag, which it keeps."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from cogvlm_media.export.timeline import ExportError
from cogvlm_media.media.ffmpeg_tools import require


def embed_chapters(source: str, metadata: str, out: str) -> None:
    src, dst = Path(source).resolve(), Path(out).resolve()
    if src == dst:
        raise ExportError("the output must be a new file: the original media is never modified")
    if not src.is_file():
        raise ExportError(f"{source}: media file not found")
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cogvlm-embed-") as tmp:
        meta = Path(tmp) / "chapters.txt"
        meta.write_text(metadata, encoding="utf-8")
        partial = dst.with_name(f".{dst.name}.partial{dst.suffix}")
        cmd = [require("ffmpeg"), "-nostdin", "-v", "error", "-y", "-i", str(src), "-i", str(meta),
               "-map", "0", "-map", "-0:d?", "-map_metadata", "0", "-map_chapters", "1", "-c", "copy", str(partial)]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            partial.unlink(missing_ok=True)
            reason = (run.stderr.strip().splitlines() or ["ffmpeg failed"])[-1]
            raise ExportError(f"ffmpeg could not write {dst.name}: {reason}")
        os.replace(partial, dst)
