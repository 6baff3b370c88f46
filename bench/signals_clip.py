"""The pinned signals clip (issue 16, "Performance"): the CPU benchmark's footage with on-screen text,
faces and two voices, and its truth.

The same shots as ``ingest_cpu.main_clip`` (cuts, 1 s dissolves, fast pans; 1080p25 H.264, keyframe
every 2 s), rendered once in one encode (``media/sample.py`` ``render`` with captions and pictures) and
cached under bench/cache/ with the truth beside it (``.signals.pkl``, and ``.signals.json`` to read):

* speech on about half: 30 s of every minute, the blocks alternating espeak-ng voices ``en-us`` and
  ``en+f3`` (two speakers, one turn per block);
* on-screen text in about 10 % of the shots, cycling slate / lower third / title card (drawtext, Debian's
  DejaVu Sans, sizes twice those of tests/textmedia.py for a frame twice as wide);
* a face in about 30 % of the other shots, for the whole of the shot (its first frame after a dissolve
  to its last before the next one): scikit-image's astronaut or matplotlib's grace_hopper (the photographs
  of tests/facekit.py), cropped round the head, scaled, re-lit and shifted, so that the face is about
  100 px wide at the faces stage's 640-px detection width.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image, ImageEnhance

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from cogvlm_media.media.sample import Caption, Picture, SampleInfo, Segment, Utterance, render  # noqa: E402

CACHE = HERE / "cache"
FPS = 25
W, H = 1920, 1080
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
VOICES = ("en-us", "en+f3")
TEXTS = {
    "slate": ("SCENE 12 TAKE 3", "SCENE 4 TAKE 1", "SCENE 27 TAKE 5", "SCENE 8 TAKE 2"),
    "lower_third": ("Dr. Maria Keller", "Tom Okafor", "Lena Brandt, Harbour Master", "Jonas Weber"),
    "title": ("The Harbour at Dawn", "North Station", "Chapter Two", "The Long Road Home"),
}
SHOWN = {"slate": 2.0, "lower_third": 4.0, "title": 3.0}  # seconds on screen
# crop round the head (left, top, right, bottom), the face box dlib's HOG finds in the uncropped
# photograph (left, top, width, height), and the scale that makes it ~300 px wide at 1920
PHOTOS = {"astronaut": ((120, 10, 330, 240), (179, 83, 88, 88), 3.4),
          "hopper": ((100, 70, 440, 420), (161, 137, 216, 216), 1.4)}


@dataclass(frozen=True)
class Shot:
    index: int
    start_frame: int  # the truth's shot start (a dissolve's middle)
    clean_first: int  # first frame not blended with a neighbour
    clean_end: int  # one past the last such frame
    source: str


@dataclass(frozen=True)
class TextTruth:
    shot: int
    text: str
    category: str
    start: float
    end: float


@dataclass(frozen=True)
class FaceTruth:
    shot: int
    photo: str
    start: float
    end: float
    picture: tuple[int, int, int, int]  # x, y, width, height of the still in the 1920x1080 frame
    face: tuple[int, int, int, int]  # the face box within the frame (dlib's box on the photograph, moved)


@dataclass(frozen=True)
class SignalsTruth:
    shots: tuple[Shot, ...]
    texts: tuple[TextTruth, ...]
    faces: tuple[FaceTruth, ...]
    speech_blocks: tuple[tuple[float, float, str], ...]  # (first sentence start, last sentence end, voice)


def shot_table(segs: list[Segment]) -> list[Shot]:
    out: list[Shot] = []
    length = 0
    for i, seg in enumerate(segs):
        d = seg.dissolve_frames if i and seg.transition == "dissolve" else 0
        first = length - d
        start = first + d // 2 if d else length
        nxt = segs[i + 1] if i + 1 < len(segs) else None
        tail = nxt.dissolve_frames if nxt is not None and nxt.transition == "dissolve" else 0
        out.append(Shot(i, 0 if i == 0 else start, first + d, first + seg.frames - tail, seg.source))
        length += seg.frames - d
    return out


def _still(photo: str, scale: float, brightness: float, folder: Path, name: str) -> tuple[Path, tuple, tuple]:
    import facekit

    crop, face, _ = PHOTOS[photo]
    image = facekit.photo(photo).crop(crop)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
    image = ImageEnhance.Brightness(image).enhance(brightness)
    path = folder / f"{name}.png"
    image.save(path)
    fx, fy = (face[0] - crop[0]) * scale, (face[1] - crop[1]) * scale
    return path, image.size, (round(fx), round(fy), round(face[2] * scale), round(face[3] * scale))


def _caption(kind: str, text: str, start: float, end: float) -> Caption:
    if kind == "slate":
        return Caption(text, start, end, FONT_BOLD, 128, "(w-text_w)/2", "(h-text_h)/2", box="black")
    if kind == "lower_third":
        return Caption(text, start, end, FONT, 80, "140", "h*0.78", box="black@0.7")
    return Caption(text, start, end, FONT_BOLD, 120, "(w-text_w)/2", "(h-text_h)/2")


def _speech(minutes: float, rng: random.Random) -> tuple[list[Utterance], list[tuple[float, float, str]]]:
    from ingest_cpu import _utterances

    out, blocks, t, k = [], [], 0.0, 0
    while t + 30.0 <= minutes * 60:
        voice = VOICES[k % 2]
        part = [Utterance(u.text, u.at, voice) for u in _utterances(rng, t + 1.0, t + 30.0)]
        out += part
        blocks.append((part[0].at, t + 30.0, voice))
        t, k = t + 60.0, k + 1
    return out, blocks


def signals_clip(minutes: float) -> tuple[SampleInfo, SignalsTruth]:
    from ingest_cpu import _segments

    path = CACHE / f"bench_{minutes:g}min_1080p25_signals.mp4"
    meta = path.with_suffix(".signals.pkl")
    if path.exists() and meta.exists():
        return pickle.loads(meta.read_bytes())
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = random.Random(2024)
    segs = _segments(minutes, FPS, rng)
    shots = shot_table(segs)
    speech, blocks = _speech(minutes, rng)
    pick = random.Random(16)
    usable = [s for s in shots if s.source != "pan" and s.clean_end - s.clean_first >= 5 * FPS]
    plain = [s for s in usable if s.source.startswith("colour:") or s.source in ("gradients", "smptehdbars")]
    n_text = max(3, round(0.10 * len(shots)))
    chosen: list[tuple[Shot, str]] = []
    for k in range(n_text):
        kind = ("slate", "lower_third", "title")[k % 3]
        pool = [s for s in (plain if kind == "title" else usable) if s not in [c for c, _ in chosen]]
        pool = pool or [s for s in usable if s not in [c for c, _ in chosen]]
        if pool:
            chosen.append((pick.choice(pool), kind))
    texts, captions = [], []
    for k, (shot, kind) in enumerate(sorted(chosen, key=lambda c: c[0].index)):
        start = round(shot.clean_first / FPS + 0.6, 2)
        end = round(min(start + SHOWN[kind], shot.clean_end / FPS - 0.6), 2)
        text = TEXTS[kind][k % len(TEXTS[kind])]
        texts.append(TextTruth(shot.index, text, kind, start, end))
        captions.append(_caption(kind, text, start, end))
    rest = [s for s in shots if s.index not in {t.shot for t in texts}]
    face_shots = sorted(pick.sample(rest, max(1, round(0.30 * len(shots)))), key=lambda s: s.index)
    stills = CACHE / f"signals_{minutes:g}min_stills"
    stills.mkdir(exist_ok=True)
    faces, pictures = [], []
    for k, shot in enumerate(face_shots):
        photo = ("astronaut", "hopper")[k % 2]
        scale = PHOTOS[photo][2] * pick.uniform(0.9, 1.15)
        still, (pw, ph), (fx, fy, fw, fh) = _still(photo, scale, pick.uniform(0.85, 1.15), stills, f"face{k:02d}")
        x, y = pick.randint(0, W - pw), pick.randint(0, H - ph)
        start, end = shot.clean_first / FPS, (shot.clean_end - 1) / FPS
        faces.append(FaceTruth(shot.index, photo, round(start, 3), round(end, 3), (x, y, pw, ph),
                               (x + fx, y + fy, fw, fh)))
        pictures.append(Picture(str(still), start, end + 0.5 / FPS, x, y))
    print(f"rendering {path.name} ({len(segs)} shots, {len(texts)} with text, {len(faces)} with a face, "
          f"{len(speech)} sentences); cached afterwards...", file=sys.stderr, flush=True)
    info = render(path.with_suffix(".tmp.mp4"), segs, fps=str(FPS), size=f"{W}x{H}", audio=speech, keyint=50,
                  preset="superfast", crf=21, captions=captions, pictures=pictures)
    os.replace(info.path, path)
    info = SampleInfo(**{**info.__dict__, "path": path})
    truth = SignalsTruth(tuple(shots), tuple(texts), tuple(faces), tuple(blocks))
    meta.with_suffix(".json").write_text(json.dumps(asdict(truth), indent=1) + "\n")
    meta.write_bytes(pickle.dumps((info, truth)))
    return info, truth
