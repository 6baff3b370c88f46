"""Footage for the GPU ingest benchmark: hours of 1080p25 H.264 at >= 15 Mbit/s, rendered where it runs.

The GPU machine has no espeak-ng and no system ffmpeg: ``speech`` makes the speech track here (espeak-ng,
30 s of sentences then 30 s of silence, AAC, under 1 MB) and the footage is rendered there with a
static ffmpeg (``--ffmpeg``) from lavfi sources, the speech track looped under it. Each unique clip
has hard cuts every 3-14 s (and a 1 s dissolve now and then) at known frames; the rest of the hours
are stream copies of those clips, each with its own ``comment`` tag so that size and last MiB (and so
the fingerprint) differ.

    python bench/gpu_footage.py speech out/speech.m4a                 # here (espeak-ng)
    python bench/gpu_footage.py render --out /data/footage --speech speech.m4a \
        --unique 8 --minutes 5 --hours 4 --ffmpeg /tmp/ffmpeg            # there
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cogvlm_media.media.sample import Segment, _video_graph  # noqa: E402

FPS = 25
NOISE = 6
SIZE = (1920, 1080)
# lavfi sources that render quickly at 1080p (no pans: a 1080p pan source is many times wider)
SOURCES = ["testsrc2", "smptehdbars", "colour:0x406080", "rgbtestsrc", "testsrc", "colour:0x905030",
           "smptebars", "colour:0x30a040", "gradients"]


def segments(seconds: float, seed: int) -> list[Segment]:
    rng = random.Random(seed)
    total = int(seconds * FPS)
    out: list[Segment] = []
    used, k = 0, 0
    while used < total:
        frames = min(rng.randint(3 * FPS, 14 * FPS), total - used)
        source = SOURCES[(k + seed) % len(SOURCES)]
        if out and k % 6 == 5 and frames > 2 * FPS:
            seg = Segment(source, frames + FPS, "dissolve", FPS)
        else:
            seg = Segment(source, frames)
        if frames < 2:
            break
        out.append(seg)
        used += frames
        k += 1
    return out


def speech(path: Path, seconds: int = 60) -> None:
    """The speech track: sentences for the first half of ``seconds``, silence for the second half."""
    from cogvlm_media.media.sample import Utterance, speech_track

    words = ("the river market morning camera light window garden people station train evening story "
             "weather city road music table coffee paper letter bridge harbour mountain forest school").split()
    rng = random.Random(5)
    utts, t = [], 1.0
    while t < seconds / 2 - 5:
        text = " ".join(rng.choice(words) for _ in range(rng.randint(6, 10))).capitalize() + "."
        utts.append(Utterance(text, round(t, 2)))
        t += len(text.split()) / 2.4 + 1.2
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        spoken = speech_track(utts, float(seconds), wav)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-ac", "1", "-ar", "16000", "-c:a", "aac",
                        "-b:a", "48k", str(path)], check=True)
    path.with_suffix(".json").write_text(json.dumps([[s.start, s.end, s.text] for s in spoken]))


def render_clip(ffmpeg: str, path: Path, seconds: float, seed: int, speech_file: Path, threads: int,
                bitrate: str) -> dict:
    segs = segments(seconds, seed)
    w, h = SIZE
    graph, vout, total, starts, cuts, dissolves, _ = _video_graph(segs, w, h, str(FPS), Fraction(FPS))
    # light temporal noise over everything (sensor grain): without it x264 codes these sources in < 1 Mbit/s
    graph += f";[{vout}]noise=alls={NOISE}:allf=t,format=yuv420p[grain]"
    cmd = [ffmpeg, "-nostdin", "-v", "error", "-y", "-filter_complex", graph,
           "-stream_loop", "-1", "-i", str(speech_file), "-map", "[grain]", "-map", "0:a",
           "-c:a", "copy", "-c:v", "libx264", "-preset", "superfast", "-b:v", bitrate, "-maxrate", bitrate,
           "-bufsize", bitrate, "-pix_fmt", "yuv420p", "-r", str(FPS), "-frames:v", str(total),
           "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-x264-params", "scenecut=0:open-gop=0",
           "-threads", str(threads), "-t", f"{total / FPS:.3f}", str(path)]
    t0 = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f"ffmpeg failed: {run.stderr[-400:]}")
    wall = time.perf_counter() - t0
    return {"file": path.name, "frames": total, "seconds": total / FPS, "render_s": round(wall, 2),
            "bytes": path.stat().st_size, "mbit_per_s": round(path.stat().st_size * 8 / (total / FPS) / 1e6, 2),
            "cuts": cuts, "dissolves": dissolves, "shot_starts": starts}


def copy_clip(ffmpeg: str, src: Path, dst: Path, tag: str) -> None:
    subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-y", "-i", str(src), "-map", "0", "-c", "copy",
                    "-metadata", f"comment={tag}", str(dst)], check=True)


def render_all(out: Path, ffmpeg: str, speech_file: Path, unique: int, minutes: float, hours: float,
               threads: int, bitrate: str, jobs: int) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        clips = list(pool.map(lambda k: render_clip(ffmpeg, out / f"u{k:02d}.mp4", minutes * 60, 100 + k,
                                                     speech_file, threads, bitrate), range(unique)))
    render_s = time.perf_counter() - t0
    need = int(round(hours * 60 / minutes))
    files = [{**c, "source": c["file"]} for c in clips]
    t1 = time.perf_counter()
    todo = []
    for n in range(unique, need):
        src = clips[n % unique]
        todo.append((src, out / f"c{n:03d}.mp4", f"copy {n} of {src['file']}"))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda t: copy_clip(ffmpeg, out / t[0]["file"], t[1], t[2]), todo))
    for src, dst, _ in todo:
        files.append({**src, "file": dst.name, "source": src["file"], "bytes": dst.stat().st_size})
    manifest = {"fps": FPS, "size": list(SIZE), "bitrate": bitrate, "unique": unique, "minutes": minutes,
                "render_wall_s": round(render_s, 1), "copy_wall_s": round(time.perf_counter() - t1, 1),
                "render_fps": round(sum(c["frames"] for c in clips) / render_s, 1),
                "total_seconds": sum(f["seconds"] for f in files), "files": files}
    (out / "manifest.json").write_text(json.dumps(manifest))
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("speech")
    sp.add_argument("path", type=Path)
    rp = sub.add_parser("render")
    rp.add_argument("--out", type=Path, required=True)
    rp.add_argument("--speech", type=Path, required=True)
    rp.add_argument("--ffmpeg", default="ffmpeg")
    rp.add_argument("--unique", type=int, default=8)
    rp.add_argument("--minutes", type=float, default=5.0)
    rp.add_argument("--hours", type=float, default=4.0)
    rp.add_argument("--threads", type=int, default=2)
    rp.add_argument("--jobs", type=int, default=os.cpu_count() or 4)
    rp.add_argument("--bitrate", default="18M")
    args = ap.parse_args()
    if args.cmd == "speech":
        speech(args.path)
        return
    m = render_all(args.out, args.ffmpeg, args.speech, args.unique, args.minutes, args.hours, args.threads,
                   args.bitrate, min(args.jobs, args.unique))
    print(json.dumps({k: v for k, v in m.items() if k != "files"}
                     | {"files": len(m["files"]), "mbit_per_s": [c["mbit_per_s"] for c in m["files"][:args.unique]]}))


if __name__ == "__main__":
    main()
