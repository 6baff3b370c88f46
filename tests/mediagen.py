"""Test media rendered with ffmpeg lavfi sources and espeak-ng, each returned with its ground truth.

Import as ``import mediagen`` (conftest.py puts tests/ on sys.path). Everything here is small and
short so the whole set renders in a few seconds; the session fixtures in conftest.py cache it.
The rendering engine is the package's own ``cogvlm_media.media.sample`` (also used by the demo).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from cogvlm_media.media.ffmpeg_tools import require
from cogvlm_media.media.sample import (  # noqa: F401  (re-exported for tests)
    SampleInfo,
    Segment,
    Spoken,
    Utterance,
    render,
    render_sample,
)

SIZE = "320x240"


def cut_segments(fps: int = 25) -> list[Segment]:
    """~19 s: hard cuts, a 1 s dissolve and a fast pan, all between distinct-looking sources."""
    return [
        Segment("testsrc2", 60),
        Segment("smptebars", 50),  # cut at 60
        Segment("colour:0xc03020", 45),  # cut at 110
        Segment("mandelbrot", 70),  # cut at 155
        Segment("gradients", 80, "dissolve", fps),  # dissolve 200..224
        Segment("rgbtestsrc", 40),  # cut at 280
        Segment("pan", 75, pan_speed=28),  # cut at 320; pan 320..394
        Segment("cellauto", 50),  # cut at 395
        Segment("colour:0x30a050", 40),  # cut at 445
    ]


def cut_clip(path: Path, fps: str = "25", keyint: int = 48) -> SampleInfo:
    """Video only, fixed keyframe interval (no keyframe forced at the cuts)."""
    return render(path, cut_segments(), fps=fps, size=SIZE, keyint=keyint)


SPEECH = (
    Utterance("The quick brown fox jumps over the lazy dog.", 1.0),
    Utterance("Please call Stella and ask her to bring these things.", 6.5),
    Utterance("Seven green apples are sitting on the kitchen table.", 12.5),
)


def speech_clip(path: Path) -> SampleInfo:
    """~18 s, two shots (one cut at frame 225), three sentences with silence between them."""
    segments = [Segment("testsrc2", 225), Segment("smptebars", 225)]
    return render(path, segments, fps="25", size="160x120", audio=SPEECH, keyint=50)


def tone_clip(path: Path, fps: str = "25", frames: int = 50, extra_args=(), size: str = SIZE,
              channels: int | None = None) -> SampleInfo:
    """One shot with a sine-tone audio track (48 kHz AAC, mono unless ``channels`` says otherwise;
    ``extra_args`` may set another codec or rate, e.g. ``-c:a pcm_s24le -ar 44100``)."""
    extra = (("-ac", str(channels)) if channels else ()) + tuple(extra_args)
    return render(path, [Segment("testsrc2", frames)], fps=fps, size=size, audio="tone", extra_args=extra)


def silent_clip(path: Path, fps: str = "25", frames: int = 50, extra_args=(), size: str = SIZE) -> SampleInfo:
    """One shot, no audio stream."""
    return render(path, [Segment("testsrc2", frames)], fps=fps, size=size, extra_args=tuple(extra_args))


def rotated_clip(path: Path, rotate_tag: int = 90) -> SampleInfo:
    """A clip with a display matrix, written by stream-copying with ``-metadata:s:v:0 rotate=N``.

    (ffmpeg 5.1 turns that tag into a matrix only when stream-copying.) Which way the picture
    turns for display is for the test to establish independently (ffmpeg's autorotate).
    """
    path = Path(path)
    plain = path.with_name(path.stem + ".unrotated.mp4")
    info = silent_clip(plain, frames=25)
    cmd = [require("ffmpeg"), "-nostdin", "-v", "error", "-y", "-i", str(plain), "-c", "copy",
           "-metadata:s:v:0", f"rotate={rotate_tag}", str(path)]
    subprocess.run(cmd, check=True, capture_output=True)
    return SampleInfo(**{**info.__dict__, "path": path})


def timecode_clip(path: Path, timecode: str = "01:00:00:00", fps: str = "25") -> SampleInfo:
    return silent_clip(path, fps=fps, frames=25, extra_args=("-timecode", timecode))


def vfr_clip(path: Path) -> Path:
    """A variable-frame-rate MP4: 30 fps for 2 s, then every third frame dropped... 10 fps for 2 s."""
    cmd = [require("ffmpeg"), "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
           "testsrc2=size=160x120:rate=30:duration=4",
           "-vf", "select='lt(n\\,60)+not(mod(n\\,3))'", "-fps_mode", "vfr",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(cmd, check=True, capture_output=True)
    return Path(path)


# --- bad inputs ---------------------------------------------------------------------------------

def zero_byte(path: Path) -> Path:
    Path(path).write_bytes(b"")
    return Path(path)


def random_bytes(path: Path, size: int = 64 * 1024, seed: int = 1234) -> Path:
    """Random bytes under a video name (``.mp4``)."""
    import random

    Path(path).write_bytes(random.Random(seed).randbytes(size))
    return Path(path)


def truncated(path: Path, source: Path, keep: float = 0.5) -> Path:
    """The first ``keep`` share of a rendered MP4 (its index, written last, is lost)."""
    data = Path(source).read_bytes()
    Path(path).write_bytes(data[: int(len(data) * keep)])
    return Path(path)


def audio_only(path: Path, seconds: float = 2.0) -> Path:
    """An MP4 (``.m4a`` content under the given name) with a sine tone and no video stream."""
    cmd = [require("ffmpeg"), "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
           f"sine=frequency=330:sample_rate=16000:duration={seconds}", "-c:a", "aac", str(path)]
    subprocess.run(cmd, check=True, capture_output=True)
    return Path(path)


def bad_inputs(folder: Path, good_mp4: Path) -> dict[str, Path]:
    """Every bad-input case, keyed by name: missing, zero_byte, random_bytes, truncated, audio_only, directory."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    empty_dir = folder / "no_video_here"
    empty_dir.mkdir(exist_ok=True)
    (empty_dir / "notes.txt").write_text("not a video\n")
    return {
        "missing": folder / "does_not_exist.mp4",
        "zero_byte": zero_byte(folder / "empty.mp4"),
        "random_bytes": random_bytes(folder / "random.mp4"),
        "truncated": truncated(folder / "truncated.mp4", good_mp4),
        "audio_only": audio_only(folder / "audio_only.mp4"),
        "directory": empty_dir,
    }


def file_size(path: Path) -> int:
    return os.stat(path).st_size


TOPICS = (
    ("To make fresh bread, mix flour, water, salt and yeast in a bowl.",
     "Knead the dough for ten minutes until it is smooth.",
     "Let it rise in a warm kitchen for about an hour.",
     "Bake the loaf in a hot oven until the crust is golden brown."),
    ("The football match started with a fast goal from the home team.",
     "The striker kicked the ball past the keeper into the net.",
     "In the second half the visiting players defended well.",
     "The referee blew the final whistle and the fans cheered."),
    ("Astronomers use large telescopes to study distant galaxies.",
     "The planet Mars has a thin atmosphere and red dusty soil.",
     "Rockets carry satellites into orbit around the Earth.",
     "One day astronauts may travel to the moons of Jupiter."),
)


def topics_clip(path: Path, pause: float = 0.45, shots: int = 11) -> tuple[SampleInfo, tuple[tuple[int, ...], ...]]:
    """Continuous speech about three topics (~14 s each; sentences one after another with ``pause`` s
    between them) over ``shots`` equal shots joined by hard cuts that fall wherever they fall.

    Returns the clip and, per topic, the indices of its sentences in ``clip.spoken``."""
    from cogvlm_media.media.sample import synthesise

    utterances, groups, at = [], [], 0.6
    for topic in TOPICS:
        first = len(utterances)
        for text in topic:
            samples, rate = synthesise(text)
            utterances.append(Utterance(text, round(at, 3)))
            at += len(samples) / rate + pause
        groups.append(tuple(range(first, len(utterances))))
    frames = int((at + 0.6) * 25)
    sources = ["testsrc2", "smptebars", "mandelbrot", "rgbtestsrc", "cellauto", "colour:0xc03020",
               "testsrc", "gradients", "smptehdbars", "colour:0x2060a0", "life"]
    each = frames // shots
    segments = [Segment(sources[i % len(sources)], each if i < shots - 1 else frames - each * (shots - 1))
                for i in range(shots)]
    return render(path, segments, fps="25", size="160x120", audio=utterances, keyint=50), tuple(groups)


VOICE_A, VOICE_B = "en-us", "en+f3"  # two espeak-ng voices: the default male and a female variant
DIALOGUE = (
    Utterance("Good morning everyone, thank you for coming to the meeting today.", 0.5, VOICE_A),
    Utterance("Thanks for having me, I am glad to be part of this discussion.", 5.5, VOICE_B),
    Utterance("Let us begin with the budget for the next quarter and the plans.", 10.5, VOICE_A),
    Utterance("The budget looks fine to me, but the plans need more detail.", 15.5, VOICE_B),
)
MONOLOGUE = (  # the first voice again, saying other things
    Utterance("Yesterday the weather was cold and the river was frozen solid.", 0.5, VOICE_A),
    Utterance("Children were skating on the ice until the sun went down.", 5.5, VOICE_A),
)


def dialogue_clip(path: Path, script=DIALOGUE, seconds: int = 20) -> SampleInfo:
    """Two espeak-ng voices taking turns at known times (``spoken`` gives each turn's audible extent)."""
    return render(path, [Segment("testsrc2", seconds * 25)], fps="25", size="160x120", audio=script, keyint=50)


def hushed_clip(path: Path, seconds: int = 4) -> Path:
    """Picture with an audio stream of digital silence: audio, but no speech."""
    cmd = [require("ffmpeg"), "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
           f"testsrc2=size=160x120:rate=25:duration={seconds}", "-f", "lavfi", "-i",
           "anullsrc=r=48000:cl=mono", "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)]
    subprocess.run(cmd, check=True, capture_output=True)
    return Path(path)
