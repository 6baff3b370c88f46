"""Clips with faces at known times and positions, made from real photographs that ship inside packages.

- ``astronaut``: scikit-image's bundled ``skimage/data/astronaut.png`` (Eileen Collins, NASA, public
  domain). One usable face; dlib's detector also scores a weak "face" on her mission patch.
- ``hopper``: matplotlib's bundled ``mpl-data/sample_data/grace_hopper.jpg`` (Grace Hopper, US Navy,
  public domain). One face.

Each appearance is the photograph scaled, re-lit and slightly rotated (Pillow), laid over a plain lavfi
background with ffmpeg's overlay filter, visible from ``start`` to ``end`` seconds at ``(x, y)``.
"""

from __future__ import annotations

import importlib.util
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageEnhance

SIZE = (960, 540)
FPS = 10


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations, f"{name} is not installed (the test extra has it)"
    return Path(list(spec.submodule_search_locations)[0])


def photo(name: str) -> Image.Image:
    if name == "astronaut":
        return Image.open(_package_dir("skimage") / "data" / "astronaut.png").convert("RGB")
    if name == "hopper":
        return Image.open(_package_dir("matplotlib") / "mpl-data" / "sample_data" / "grace_hopper.jpg").convert("RGB")
    raise KeyError(name)


@dataclass(frozen=True)
class Appearance:
    photo: str
    start: float
    end: float
    x: int
    y: int
    scale: float = 1.0
    brightness: float = 1.0
    rotate: float = 0.0  # degrees, counter-clockwise


def _still(app: Appearance, path: Path) -> Path:
    image = photo(app.photo)
    if app.scale != 1.0:
        image = image.resize((round(image.width * app.scale), round(image.height * app.scale)), Image.LANCZOS)
    if app.brightness != 1.0:
        image = ImageEnhance.Brightness(image).enhance(app.brightness)
    if app.rotate:
        image = image.rotate(app.rotate, resample=Image.BICUBIC, fillcolor=(90, 90, 90))
    image.save(path)
    return path


def face_clip(path: Path, appearances: list[Appearance], seconds: float = 10.0) -> Path:
    """Render an H.264 clip of ``seconds`` with the appearances overlaid (no audio)."""
    stills = [_still(a, path.with_name(f"{path.stem}-{i}.png")) for i, a in enumerate(appearances)]
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi",
           "-i", f"color=c=0x404850:s={SIZE[0]}x{SIZE[1]}:r={FPS}:d={seconds}"]
    for still in stills:
        cmd += ["-loop", "1", "-framerate", str(FPS), "-t", str(seconds), "-i", str(still)]
    chain, last = [], "0:v"
    for i, a in enumerate(appearances, 1):
        chain.append(f"[{last}][{i}:v]overlay=x={a.x}:y={a.y}:enable='between(t,{a.start},{a.end})'[v{i}]")
        last = f"v{i}"
    if chain:
        cmd += ["-filter_complex", ";".join(chain), "-map", f"[{last}]"]
    cmd += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", str(FPS * 2), "-t", str(seconds), str(path)]
    subprocess.run(cmd, check=True)
    return path
