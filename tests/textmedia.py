"""Clips with on-screen text of known content, place and time (ffmpeg lavfi + drawtext, DejaVu Sans from
Debian's fonts-dejavu). Import as ``import textmedia`` (conftest.py puts tests/ on sys.path)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from cogvlm_media.media.ffmpeg_tools import require

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
SIZE = (960, 540)


@dataclass(frozen=True)
class Shown:
    text: str
    start: float  # absolute seconds
    end: float
    category: str


# (lavfi source, seconds) per shot
SHOTS = (("smptehdbars", 4.0), ("gradients=speed=0.02", 6.0), ("color=c=0x141820", 4.0))
TRUTH = (
    Shown("SCENE 12 TAKE 3", 1.0, 3.0, "slate"),
    Shown("Dr. Maria Keller", 5.0, 9.0, "lower_third"),
    Shown("The Harbour at Dawn", 10.5, 13.5, "title"),
)


def _text(text: str, font: str, size: int, x: str, y: str, start: float, end: float, box: str = "") -> str:
    boxed = f":box=1:boxcolor={box}:boxborderw=14" if box else ""
    return (f"drawtext=fontfile={font}:text='{text}':fontsize={size}:fontcolor=white:x={x}:y={y}{boxed}"
            f":enable='gte(t\\,{start})*lt(t\\,{end})'")


def text_clip(path: Path, keyint: int = 50) -> tuple[Path, tuple[Shown, ...]]:
    """14 s at 960x540, 25 fps, three shots: a slate over bars (1-3 s), a lower third over a moving
    gradient (5-9 s) and a title card on a dark plate (10.5-13.5 s)."""
    w, h = SIZE
    inputs: list[str] = []
    for source, seconds in SHOTS:
        name, _, extra = source.partition("=")
        args = f"size={w}x{h}:rate=25:duration={seconds}" + (f":{extra}" if extra else "")
        inputs += ["-f", "lavfi", "-i", f"{name}={args}"]
    slate = _text("SCENE 12 TAKE 3", FONT_BOLD, 64, "(w-text_w)/2", "(h-text_h)/2", 1.0, 3.0, box="black")
    lower = _text("Dr. Maria Keller", FONT, 40, "70", "h*0.78", 1.0, 5.0, box="black@0.7")
    title = _text("The Harbour at Dawn", FONT_BOLD, 60, "(w-text_w)/2", "(h-text_h)/2", 0.5, 3.5)
    graph = (f"[0:v]{slate}[a];[1:v]{lower}[b];[2:v]{title}[c];"
             f"[a][b][c]concat=n=3:v=1:a=0,format=yuv420p[v]")
    subprocess.run([require("ffmpeg"), "-nostdin", "-v", "error", "-y", *inputs, "-filter_complex", graph,
                    "-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", "-g", str(keyint), str(path)],
                   check=True)
    return path, TRUTH


def plain_clip(path: Path, seconds: float = 4.0) -> Path:
    """No text anywhere: a moving gradient, then a flat colour."""
    w, h = SIZE
    subprocess.run([require("ffmpeg"), "-nostdin", "-v", "error", "-y",
                    "-f", "lavfi", "-i", f"gradients=size={w}x{h}:rate=25:duration={seconds / 2}:speed=0.02",
                    "-f", "lavfi", "-i", f"color=c=0x406080:size={w}x{h}:rate=25:duration={seconds / 2}",
                    "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0,format=yuv420p[v]", "-map", "[v]",
                    "-c:v", "libx264", "-preset", "veryfast", str(path)], check=True)
    return path
