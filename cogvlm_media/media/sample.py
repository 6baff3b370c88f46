"""Render synthetic footage with exactly known edits: the demo's sample clip and the tests' media.

Footage is built from ffmpeg ``lavfi`` sources, one per shot, joined by hard cuts (``concat``) or
dissolves (``xfade``), so every shot boundary is known to the frame. Speech is synthesised with
``espeak-ng`` and placed at known offsets; each utterance's spoken extent (leading and trailing
silence trimmed) is recorded. Frame numbers are 0-based indices of the decoded frames.

Text (``Caption``, drawn with drawtext) and still pictures (``Picture``, e.g. a face photograph) can be
laid over the joined footage at known times and places, in the same encode.

``render(path, segments, ...)`` is the general tool; ``render_sample(path)`` makes the demo clip.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from cogvlm_media.media.ffmpeg_tools import require


class RenderError(RuntimeError):
    """ffmpeg or espeak-ng failed to render the requested media."""


# Shot sources, formatted with size ("WxH"), w, h and rate. Each is a full lavfi chain.
SOURCES: dict[str, str] = {
    "testsrc2": "testsrc2=size={size}:rate={rate}",
    "smptebars": "smptebars=size={size}:rate={rate}",
    "smptehdbars": "smptehdbars=size={size}:rate={rate}",
    "rgbtestsrc": "rgbtestsrc=size={size}:rate={rate}",
    "mandelbrot": "mandelbrot=size={size}:rate={rate}",
    "cellauto": "cellauto=size={size}:rate={rate}:rule=110:random_seed=7",
    "life": "life=size={size}:rate={rate}:seed=11:mold=10:life_color=#00ff80:death_color=#200020",
    # gradients' seed does not fix its random points and colours (ffmpeg 5.1): every render differed
    "gradients": "gradients=size={size}:rate={rate}:speed=0.02:seed=5:nb_colors=3:c0=0x2040c0:c1=0xe0a030"
                 ":c2=0x40c080:x0={x0}:y0={y0}:x1={x1}:y1={y1}",
    "testsrc": "testsrc=size={size}:rate={rate}",
    # noise-like content: a fractal, and Life whose first frame is dense random noise
    "sierpinski": "sierpinski=size={size}:rate={rate}:seed=3",
    "noise": "life=size={size}:rate={rate}:seed=5",
}


@dataclass(frozen=True)
class Segment:
    """One shot: ``frames`` frames of ``source`` (a key of SOURCES, ``colour:<name>`` for a solid
    colour with light noise, or ``pan`` for a fast horizontal pan across a large still pattern).

    ``transition`` is how it begins (ignored for the first segment): ``cut`` or ``dissolve``; a
    dissolve overlaps the previous segment by ``dissolve_frames`` frames.
    """

    source: str
    frames: int
    transition: str = "cut"
    dissolve_frames: int = 0
    pan_speed: int = 24  # pixels per frame (``pan`` only)


@dataclass(frozen=True)
class Caption:
    """Text drawn over the footage from ``start`` to ``end`` seconds; ``x``/``y`` are drawtext expressions."""

    text: str
    start: float
    end: float
    font: str  # a font file (e.g. Debian's DejaVu Sans)
    size: int
    x: str
    y: str
    box: str = ""  # a box colour behind the text ("black@0.7"), or none


@dataclass(frozen=True)
class Picture:
    """A still image (a file) laid over the footage from ``start`` to ``end`` seconds, top-left at ``x, y``."""

    image: str
    start: float
    end: float
    x: int
    y: int


@dataclass(frozen=True)
class Utterance:
    text: str
    at: float  # seconds from the first frame where the synthesised audio is placed
    voice: str = "en-us"
    words_per_minute: int = 150


@dataclass(frozen=True)
class Spoken:
    """Where an utterance is actually audible (silence trimmed), seconds from the first frame."""

    text: str
    start: float
    end: float

    @property
    def words(self) -> list[str]:
        return [w.strip(".,!?;:").lower() for w in self.text.split()]


@dataclass(frozen=True)
class SampleInfo:
    """What was rendered, with exact ground truth."""

    path: Path
    fps_num: int
    fps_den: int
    width: int
    height: int
    frame_count: int
    shot_starts: tuple[int, ...]  # first frame of every shot (0 first); a dissolve's shot starts at its middle
    cuts: tuple[int, ...]  # first frame of each shot that begins with a hard cut
    dissolves: tuple[tuple[int, int], ...]  # (first, last) blended frame of each dissolve, inclusive
    pans: tuple[tuple[int, int], ...]  # (first, last) frame of each fast-pan segment
    spoken: tuple[Spoken, ...] = ()
    audio: str | None = None  # None, "tone" or "speech"
    keyint: int = 0

    @property
    def fps(self) -> Fraction:
        return Fraction(self.fps_num, self.fps_den)

    @property
    def duration(self) -> float:
        return float(self.frame_count / self.fps)

    def time(self, frame: int) -> float:
        return float(frame / self.fps)

    @property
    def cut_times(self) -> list[float]:
        return [self.time(f) for f in self.cuts]

    @property
    def sentences(self) -> list[tuple[float, float, str]]:
        return [(s.start, s.end, s.text) for s in self.spoken]


def _source_chain(seg: Segment, w: int, h: int, rate: str) -> str:
    if seg.source.startswith("colour:"):
        colour = seg.source.split(":", 1)[1]
        chain = f"color=c={colour}:size={w}x{h}:rate={rate},noise=alls=8:allf=t"
    elif seg.source == "pan":
        big = w + seg.pan_speed * seg.frames + 16
        # A still test pattern far wider than the frame, swept by a crop window: every frame moves
        # pan_speed pixels, with no discontinuity anywhere.
        chain = (f"testsrc=size={big}x{h}:rate={rate},drawgrid=w=37:h=29:t=3:c=white@0.8,"
                 f"crop={w}:{h}:x='n*{seg.pan_speed}':y=0")
    elif seg.source in SOURCES:
        chain = SOURCES[seg.source].format(size=f"{w}x{h}", w=w, h=h, rate=rate, x0=w // 10, y0=h // 8,
                                           x1=w - w // 10, y1=h - h // 8)
    else:
        raise ValueError(f"unknown segment source {seg.source!r}")
    return (f"{chain},trim=end_frame={seg.frames},setpts=PTS-STARTPTS,format=yuv420p,"
            f"setsar=1,settb=AVTB")


def _video_graph(segments: Sequence[Segment], w: int, h: int, rate: str, fps: Fraction):
    """Filtergraph text and ground truth for the joined segments."""
    if not segments:
        raise ValueError("at least one segment is needed")
    parts: list[str] = []
    starts, cuts, dissolves, pans = [0], [], [], []
    length = 0
    current = ""
    for i, seg in enumerate(segments):
        if seg.frames < 2:
            raise ValueError("a segment needs at least 2 frames")
        parts.append(f"{_source_chain(seg, w, h, rate)}[s{i}]")
        if i == 0:
            current, length = "s0", seg.frames
            first = 0
        elif seg.transition == "cut":
            parts.append(f"[{current}][s{i}]concat=n=2:v=1:a=0[c{i}]")
            current = f"c{i}"
            first = length
            cuts.append(length)
            starts.append(length)
            length += seg.frames
        elif seg.transition == "dissolve":
            d = seg.dissolve_frames
            if not 2 <= d < min(seg.frames, length):
                raise ValueError("dissolve_frames must be >= 2 and shorter than both segments")
            offset = Fraction(length - d) / fps
            parts.append(f"[{current}][s{i}]xfade=transition=fade:duration={float(d / fps):.9f}:"
                         f"offset={float(offset):.9f}[c{i}]")
            current = f"c{i}"
            first = length - d
            dissolves.append((length - d, length - 1))
            starts.append(length - d + d // 2)
            length += seg.frames - d
        else:
            raise ValueError(f"unknown transition {seg.transition!r}")
        if seg.source == "pan":
            pans.append((first, first + seg.frames - 1))
    return ";".join(parts), current, length, starts, cuts, dissolves, pans


def _quoted(text: str) -> str:
    """A filter option value in one level of quotes (spaces and commas are fine; these characters are not)."""
    bad = set(text) & set("'\\:%;[]")
    if bad:
        raise ValueError(f"{text!r}: overlay text and file names cannot hold {''.join(sorted(bad))}")
    return f"'{text}'"


def _overlay_graph(current: str, captions: Sequence[Caption], pictures: Sequence[Picture]) -> tuple[str, str]:
    """Filtergraph text laying the pictures, then the captions, over ``current``; and its output label."""
    parts: list[str] = []
    for i, pic in enumerate(pictures):
        on = f"enable='between(t,{pic.start:.4f},{pic.end:.4f})'"
        # one decode of the still, repeated in memory (loop), shown only while enabled
        parts.append(f"movie={_quoted(pic.image)},loop=loop=-1:size=1:start=0,setpts=N/FRAME_RATE/TB[p{i}];"
                     f"[{current}][p{i}]overlay=x={pic.x}:y={pic.y}:shortest=1:{on}[o{i}]")
        current = f"o{i}"
    if captions:
        chain = []
        for cap in captions:
            boxed = f":box=1:boxcolor={cap.box}:boxborderw={max(4, cap.size // 5)}" if cap.box else ""
            chain.append(f"drawtext=fontfile={_quoted(cap.font)}:text={_quoted(cap.text)}:fontsize={cap.size}"
                         f":fontcolor=white:x={cap.x}:y={cap.y}{boxed}"
                         f":enable='between(t,{cap.start:.4f},{cap.end:.4f})'")
        parts.append(f"[{current}]{','.join(chain)}[txt]")
        current = "txt"
    return ";".join(parts), current


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wf:
        if wf.getsampwidth() != 2:
            raise RenderError("espeak-ng wrote an unexpected sample format")
        data = np.frombuffer(wf.readframes(wf.getnframes()), dtype=np.int16)
        if wf.getnchannels() > 1:
            data = data.reshape(-1, wf.getnchannels())[:, 0]
        return data.astype(np.float32) / 32768.0, wf.getframerate()


def _trim(samples: np.ndarray, rate: int, level: float = 0.01) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples) > level)
    if not len(loud):
        return samples[:0]
    return samples[loud[0]:loud[-1] + 1]


def synthesise(text: str, voice: str = "en-us", words_per_minute: int = 150) -> tuple[np.ndarray, int]:
    """Speech for ``text`` from espeak-ng as float32 mono samples (silence trimmed) and their rate."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise RenderError("espeak-ng not found on PATH: the sample clip needs it "
                          "(Debian/Ubuntu: apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory(prefix="cogvlm-speech-") as tmp:
        out = Path(tmp) / "speech.wav"
        run = subprocess.run([binary, "-v", voice, "-s", str(words_per_minute), "-w", str(out), text],
                             capture_output=True, text=True)
        if run.returncode != 0 or not out.exists():
            raise RenderError(f"espeak-ng failed: {(run.stderr or '').strip()[:200]}")
        samples, rate = _read_wav(out)
    return _trim(samples, rate), rate


def speech_track(utterances: Sequence[Utterance], duration: float, path: Path) -> list[Spoken]:
    """Write a mono WAV of ``duration`` seconds with each utterance at its offset; return what is heard."""
    rate = 22050
    track = np.zeros(int(round(duration * rate)), dtype=np.float32)
    spoken: list[Spoken] = []
    for utt in sorted(utterances, key=lambda u: u.at):
        samples, sr = synthesise(utt.text, utt.voice, utt.words_per_minute)
        if sr != rate:
            raise RenderError(f"espeak-ng sample rate {sr} is not {rate}")
        begin = int(round(utt.at * rate))
        if begin + len(samples) > len(track):
            raise ValueError(f"utterance {utt.text[:30]!r} at {utt.at}s runs past the clip's end")
        track[begin:begin + len(samples)] += samples * 0.9
        spoken.append(Spoken(utt.text, begin / rate, (begin + len(samples)) / rate))
    pcm = (np.clip(track, -1.0, 1.0) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(rate)
        wf.writeframes(pcm.tobytes())
    return spoken


def render(path: str | Path, segments: Sequence[Segment], *, fps: str = "25", size: str = "320x240",
           audio: None | str | Sequence[Utterance] = None, keyint: int = 0, preset: str = "ultrafast",
           crf: int = 23, extra_args: Sequence[str] = (), threads: int = 0, captions: Sequence[Caption] = (),
           pictures: Sequence[Picture] = ()) -> SampleInfo:
    """Render ``segments`` to ``path`` (H.264 in MP4 unless the suffix says otherwise).

    ``audio``: None (no audio stream), ``"tone"`` (a 440 Hz sine) or utterances to synthesise.
    ``keyint``: a fixed keyframe interval in frames (no keyframes at cuts), 0 for x264's default.
    ``extra_args``: output options placed before the file name (metadata, timecode, ...).
    ``captions``, ``pictures``: text and stills laid over the joined footage (pictures first).
    """
    path = Path(path)
    w, h = (int(v) for v in size.lower().split("x"))
    rate = Fraction(fps)
    graph, vout, total, starts, cuts, dissolves, pans = _video_graph(segments, w, h, fps, rate)
    duration = float(total / rate)
    if captions or pictures:
        over, vout = _overlay_graph(vout, captions, pictures)
        graph += ";" + over
    cmd = [require("ffmpeg"), "-nostdin", "-v", "error", "-y", "-filter_complex", graph]
    spoken: list[Spoken] = []
    kind: str | None = None
    with tempfile.TemporaryDirectory(prefix="cogvlm-render-") as tmp:
        if audio == "tone":
            kind = "tone"
            cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={duration:.6f}"]
        elif audio:
            kind = "speech"
            wav = Path(tmp) / "speech.wav"
            spoken = speech_track(list(audio), duration, wav)  # type: ignore[arg-type]
            cmd += ["-i", str(wav)]
        cmd += ["-map", f"[{vout}]"]
        if kind:
            cmd += ["-map", "0:a", "-c:a", "aac", "-b:a", "64k"]
        cmd += ["-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
                "-r", fps, "-frames:v", str(total)]
        if threads:
            cmd += ["-threads", str(threads)]
        if keyint:
            cmd += ["-g", str(keyint), "-keyint_min", str(keyint), "-sc_threshold", "0",
                    "-x264-params", "scenecut=0:open-gop=0"]
        cmd += list(extra_args) + [str(path)]
        run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RenderError(f"ffmpeg failed rendering {path.name}: {run.stderr.strip()[-300:]}")
    return SampleInfo(path=path, fps_num=rate.numerator, fps_den=rate.denominator, width=w, height=h,
                      frame_count=total, shot_starts=tuple(starts), cuts=tuple(cuts),
                      dissolves=tuple(dissolves), pans=tuple(pans), spoken=tuple(spoken), audio=kind,
                      keyint=keyint)


SAMPLE_SCRIPT = (
    Utterance("Welcome to the cogvlm media demo. This clip was rendered on your machine.", 0.6),
    Utterance("Each shot change here is a hard cut or a slow dissolve.", 7.2),
    Utterance("Now the camera pans quickly across a test pattern.", 13.4),
    Utterance("That is the end of the sample. Thank you for watching.", 20.2),
)


def sample_segments(seconds_per_shot: int = 5, fps: int = 25) -> list[Segment]:
    n = seconds_per_shot * fps
    return [
        Segment("testsrc2", n),
        Segment("smptebars", n),
        Segment("gradients", n + fps, "dissolve", fps),
        Segment("pan", n),
        Segment("colour:0x2060a0", n),
    ]


def render_sample(path: str | Path, *, size: str = "640x360") -> SampleInfo:
    """Render the demo clip: ~24 s at 25 fps with four shot changes (three cuts, one 1 s dissolve),
    a fast pan and four spoken sentences."""
    return render(path, sample_segments(), fps="25", size=size, audio=SAMPLE_SCRIPT, keyint=50,
                  preset="veryfast")
