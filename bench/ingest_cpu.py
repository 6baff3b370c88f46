"""CPU ingest benchmark (issue 2): plain decode vs the full embedded ingest, per stage, plus PySceneDetect.

    python bench/ingest_cpu.py [--minutes 10] [--full-reference] [--skip-scenedetect] [--ocr]
    python bench/ingest_cpu.py --signals [--minutes 10] [--repeat 1] [--configs text,faces,speakers,all]

Renders once (cached under bench/cache/) a 1080p25 H.264 clip with a fixed keyframe interval (no
keyframes forced at cuts), hard cuts, 1 s dissolves, fast pans and espeak-ng speech on about half of
its length, and a 2-minute speech-dense clip. Then, in the same run, measures:

* ``plain_decode``: ``ffmpeg -i clip -f null -`` (video and audio decoded, nothing else);
* ``ingest``: ``cogvlm_media.ingest.stages.analyse_file`` (probe, decord frame index, shots ∥ speech,
  windows, embedded analyser), wall time, per-stage first/last progress times, ffmpeg child CPU
  (the decode work) against the plain decode's, and the share of frames the shot network computed;
* shot accuracy of cogvlm-media (TransNetV2, gated) and PySceneDetect's ContentDetector against the
  known boundaries (precision/recall; a hard cut matches within ±1 frame, a dissolve anywhere in it);
* optionally (``--full-reference``) TransNetV2 on every window, to check the gated run finds the same;
* speech-dense: transcription speed on continuous speech;
* optionally (``--ocr``) the same ingest with the text stage on, against the signals-off wall time
  (budget: +25 %).

``--signals`` instead measures only the [see] signals on the pinned signals clip (bench/signals_clip.py,
bench/signals_bench.py): all off, text, faces, speakers, all on, against their budgets, with what each
found against the clip's truth; written to bench/results/ingest_cpu-signals-<UTC time>.json.

Prints the JSON and writes it to bench/results/ingest_cpu-<UTC time>.json. ``pip install -e .[bench]``
provides PySceneDetect (benchmark only).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import random
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from cogvlm_media.media.sample import SampleInfo, Segment, Utterance, render  # noqa: E402

CACHE = HERE / "cache"
RESULTS = HERE / "results"

WORDS = ("the river market morning camera light window garden people station train evening story "
         "weather city road music table coffee paper letter bridge harbour mountain forest school "
         "office kitchen doctor friend family holiday summer winter north south quickly slowly "
         "today tomorrow yesterday always never often walks reads writes builds opens closes finds "
         "brings carries watches follows").split()


def _sentence(rng: random.Random) -> str:
    n = rng.randint(7, 12)
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def _utterances(rng: random.Random, start: float, end: float) -> list[Utterance]:
    """Back-to-back sentences from ``start`` to ``end`` (about 2.5 words per second)."""
    out, t = [], start
    while True:
        text = _sentence(rng)
        length = len(text.split()) / 2.4 + 0.6  # generous estimate of espeak-ng's 150 wpm
        if t + length > end:
            return out
        out.append(Utterance(text, round(t, 3)))
        t += length + 0.5


def _segments(minutes: float, fps: int, rng: random.Random) -> list[Segment]:
    sources = ["testsrc2", "smptehdbars", "colour:0x406080", "gradients", "rgbtestsrc", "colour:0x905030",
               "life", "cellauto", "smptebars", "colour:0x30a040", "testsrc"]
    total = int(minutes * 60 * fps)
    segs: list[Segment] = []
    used = 0
    k = 0
    while used < total:
        frames = rng.randint(3 * fps, 14 * fps)
        if k and k % 7 == 3:
            seg = Segment("pan", min(frames, 6 * fps), pan_speed=36)
        else:
            source = sources[k % len(sources)]
            if k and k % 5 == 0:
                seg = Segment(source, frames, "dissolve", fps)
            else:
                seg = Segment(source, frames)
        if k and segs[-1].source == "pan" and seg.transition == "dissolve":
            seg = Segment(seg.source, seg.frames)
        length = seg.frames - (seg.dissolve_frames if seg.transition == "dissolve" else 0)
        if used + length > total:
            seg = Segment(seg.source, total - used + (seg.dissolve_frames if seg.transition == "dissolve" else 0)
                          if seg.source != "pan" else max(2 * fps, total - used), seg.transition,
                          seg.dissolve_frames, seg.pan_speed)
            if seg.frames < 2 * fps or (seg.transition == "dissolve" and seg.frames <= seg.dissolve_frames + 2):
                break
        segs.append(seg)
        used += seg.frames - (seg.dissolve_frames if seg.transition == "dissolve" else 0)
        k += 1
    return segs


def main_clip(minutes: float) -> SampleInfo:
    path = CACHE / f"bench_{minutes:g}min_1080p25.mp4"
    meta = path.with_suffix(".truth.pkl")
    if path.exists() and meta.exists():
        return pickle.loads(meta.read_bytes())
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = random.Random(2024)
    segs = _segments(minutes, 25, rng)
    seconds = minutes * 60
    speech: list[Utterance] = []
    block = 60.0  # speech for 30 s of every minute: about half the clip
    t = 0.0
    while t + block / 2 <= seconds:
        speech += _utterances(rng, t + 1.0, t + block / 2)
        t += block
    print(f"rendering {path.name} ({len(segs)} shots, {len(speech)} sentences); cached afterwards...",
          file=sys.stderr, flush=True)
    info = render(path.with_suffix(".tmp.mp4"), segs, fps="25", size="1920x1080", audio=speech, keyint=50,
                  preset="superfast", crf=21)
    os.replace(info.path, path)
    info = SampleInfo(**{**info.__dict__, "path": path})
    meta.write_bytes(pickle.dumps(info))
    return info


def dense_clip() -> SampleInfo:
    path = CACHE / "bench_speech_dense_2min.mp4"
    meta = path.with_suffix(".truth.pkl")
    if path.exists() and meta.exists():
        return pickle.loads(meta.read_bytes())
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    info = render(path, [Segment("testsrc2", 120 * 25)], fps="25", size="640x360",
                  audio=_utterances(rng, 0.5, 119.0), keyint=50, preset="superfast")
    meta.write_bytes(pickle.dumps(info))
    return info


def _child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def plain_decode(path: Path) -> dict:
    cpu0, t0 = _child_cpu(), time.perf_counter()
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"], check=True)
    wall = time.perf_counter() - t0
    return {"wall_s": round(wall, 2), "child_cpu_s": round(_child_cpu() - cpu0, 2)}


def truth_boundaries(info: SampleInfo) -> list[tuple[int, int]]:
    """Accepted frame range for each true shot start: a cut ±1 frame, a dissolve anywhere inside (±1)."""
    out = [(c - 1, c + 1) for c in info.cuts]
    out += [(a - 1, b + 1) for a, b in info.dissolves]
    return sorted(out)


def accuracy(found: list[int], truth: list[tuple[int, int]]) -> dict:
    matched_truth, tp = set(), 0
    for f in sorted(found):
        hit = next((i for i, (lo, hi) in enumerate(truth) if lo <= f <= hi and i not in matched_truth), None)
        if hit is not None:
            matched_truth.add(hit)
            tp += 1
    precision = tp / len(found) if found else 1.0
    recall = len(matched_truth) / len(truth) if truth else 1.0
    return {"found": len(found), "true": len(truth), "matched": tp, "precision": round(precision, 4),
            "recall": round(recall, 4)}


def run_ingest(info: SampleInfo, text: bool = False) -> dict:
    from cogvlm_media.analysis import shots as shots_mod
    from cogvlm_media.config import AnalysisSettings, Settings
    from cogvlm_media.ingest.stages import analyse_file

    # the signals-off figure: the text, faces and speakers stages off (``text``: the text stage on)
    settings = Settings(analysis=AnalysisSettings(faces=False, speakers=False), plugins={"text": {"enabled": text}})
    stats_box: dict = {}
    original = shots_mod.detect_shots

    def detect_with_stats(path, media, settings, frames=None, progress=None, times=None, **kw):
        shots, stats = shots_mod.detect_shots_with_stats(path, media, settings, frames, progress, times=times, **kw)
        stats_box["stats"] = stats
        return shots

    stages: dict[str, list[float]] = {}
    t0 = time.perf_counter()

    def on_stage(stage: str, done: float, total: float) -> None:
        now = time.perf_counter() - t0
        span = stages.setdefault(stage, [now, now])
        span[1] = now

    # warm the models first: loading them is a per-process cost, not per file
    from cogvlm_media.analysis.speech import load_model as load_whisper
    load_whisper(settings)
    shots_mod.load_model()
    if text:
        from cogvlm_media.analysis.ocr import load_reader
        load_reader()
    shots_mod.detect_shots = detect_with_stats
    try:
        cpu0, t0 = _child_cpu(), time.perf_counter()
        result = analyse_file(str(info.path), settings, on_stage=on_stage)
        wall = time.perf_counter() - t0
        child_cpu = _child_cpu() - cpu0
    finally:
        shots_mod.detect_shots = original
    stats = stats_box["stats"]
    words = result.transcript.words() if result.transcript else []
    found = result.stage_results.get("text")
    extra = {} if found is None else {"text": {"events": len(found.events), "sampled": found.sampled,
                                               "checked": found.checked, "recognised": found.recognised,
                                               "skipped": found.skipped, "model": found.model_version}}
    return extra | {
        "wall_s": round(wall, 2),
        "ffmpeg_child_cpu_s": round(child_cpu, 2),
        "stages_first_last_s": {k: [round(a, 2), round(b, 2)] for k, (a, b) in stages.items()},
        "shots": len(result.shots),
        "dissolves_marked": sum(s.transition == "dissolve" for s in result.shots),
        "network_share": round(stats.network_share, 4),
        "network_windows": [stats.windows_run, stats.windows_total],
        "candidate_frames": stats.candidates,
        "windows": len(result.windows),
        "words": len(words),
        "boundaries": [s.start_frame for s in result.shots[1:]],
    }


def run_scenedetect(info: SampleInfo) -> dict:
    from scenedetect import ContentDetector, SceneManager, open_video

    t0 = time.perf_counter()
    video = open_video(str(info.path))
    manager = SceneManager()
    manager.add_detector(ContentDetector())
    manager.auto_downscale = True
    manager.detect_scenes(video)
    scenes = manager.get_scene_list()
    wall = time.perf_counter() - t0
    return {"wall_s": round(wall, 2), "boundaries": [s[0].frame_num for s in scenes[1:]],
            "version": __import__("scenedetect").__version__, "detector": "ContentDetector() defaults, auto downscale"}


def full_reference(info: SampleInfo, gated: list[int]) -> dict:
    from cogvlm_media.analysis import shots as shots_mod
    from cogvlm_media.config import Settings
    from cogvlm_media.media.decode import decode_small
    from cogvlm_media.media.probe import probe

    media = probe(info.path)
    t0 = time.perf_counter()
    frames = decode_small(info.path)
    t1 = time.perf_counter()
    shots, _ = shots_mod.detect_shots_with_stats(info.path, media, Settings(), frames=frames, full=True)
    t2 = time.perf_counter()
    full = [s.start_frame for s in shots[1:]]
    return {"decode_48x27_s": round(t1 - t0, 2), "network_all_windows_s": round(t2 - t1, 2),
            "same_boundaries_as_gated": full == gated,
            "only_full": sorted(set(full) - set(gated)), "only_gated": sorted(set(gated) - set(full))}


def speech_dense(info: SampleInfo) -> dict:
    from cogvlm_media.analysis.speech import transcribe
    from cogvlm_media.config import Settings
    from cogvlm_media.media.decode import decode_audio
    from cogvlm_media.media.probe import probe

    media = probe(info.path)
    audio = decode_audio(info.path)
    t0 = time.perf_counter()
    tr = transcribe(info.path, media, Settings(), audio=audio)
    wall = time.perf_counter() - t0
    speech_s = sum(s.end - s.start for s in info.spoken)
    return {"clip_s": round(info.duration, 1), "speech_s": round(speech_s, 1), "transcribe_wall_s": round(wall, 2),
            "realtime_x": round(info.duration / wall, 2), "words": len(tr.words()) if tr else 0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--full-reference", action="store_true", help="also run TransNetV2 on every window")
    ap.add_argument("--skip-scenedetect", action="store_true")
    ap.add_argument("--ocr", action="store_true", help="also ingest with the text stage on (OCR on/off figure)")
    ap.add_argument("--signals", action="store_true",
                    help="only the [see] signals: off / text / faces / speakers / all on the signals clip")
    ap.add_argument("--repeat", type=int, default=1, help="--signals: rounds (each figure is its fastest)")
    ap.add_argument("--configs", default="", help="--signals: only these, e.g. text,faces (off always runs)")
    args = ap.parse_args()
    if args.signals:
        from signals_bench import write_signals

        return write_signals(args.minutes, args.repeat, RESULTS, tuple(filter(None, args.configs.split(","))))

    info = main_clip(args.minutes)
    dense = dense_clip()
    footage = info.duration
    out: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "clip": {"path": str(info.path.relative_to(HERE.parent)), "seconds": footage, "size": "1920x1080",
                 "fps": str(info.fps), "keyint": info.keyint, "cuts": len(info.cuts),
                 "dissolves": len(info.dissolves), "pans": len(info.pans),
                 "speech_s": round(sum(s.end - s.start for s in info.spoken), 1)},
    }
    plain = plain_decode(info.path)
    plain["footage_s_per_wall_s"] = round(footage / plain["wall_s"], 2)
    out["plain_decode"] = plain
    ingest = run_ingest(info)
    ingest["footage_s_per_wall_s"] = round(footage / ingest["wall_s"], 2)
    ingest["ratio_to_plain_decode"] = round(ingest["wall_s"] / plain["wall_s"], 2)
    ingest["decode_work_ratio"] = round(ingest["ffmpeg_child_cpu_s"] / plain["child_cpu_s"], 2)
    truth = truth_boundaries(info)
    ingest["accuracy"] = accuracy(ingest["boundaries"], truth)
    out["ingest"] = ingest
    if args.ocr:
        on = run_ingest(info, text=True)
        out["ingest_ocr_on"] = {"wall_s": on["wall_s"], "ratio_to_ocr_off": round(on["wall_s"] / ingest["wall_s"], 3),
                                "budget_ratio": 1.25, **{k: on[k] for k in ("text", "stages_first_last_s") if k in on}}
    if args.full_reference:
        out["transnetv2_full_reference"] = full_reference(info, ingest["boundaries"])
    if not args.skip_scenedetect:
        sd = run_scenedetect(info)
        sd["footage_s_per_wall_s"] = round(footage / sd["wall_s"], 2)
        sd["accuracy"] = accuracy(sd["boundaries"], truth)
        sd["accuracy_cuts_only"] = accuracy(sd["boundaries"], [(c - 1, c + 1) for c in info.cuts])
        out["pyscenedetect"] = sd
    out["speech_dense"] = speech_dense(dense)
    for block in (out["ingest"], out.get("pyscenedetect", {})):
        block.pop("boundaries", None)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(out, indent=2)
    (RESULTS / f"ingest_cpu-{stamp}.json").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
