"""Ingest wall time with the [see] signals off and on (issue 16, "Performance"), on the pinned signals clip
(bench/signals_clip.py), in one process: all off, text only, faces only, speakers only, all on.

Each configuration runs ``cogvlm_media.ingest.stages.analyse_file`` with every model warmed first (as
``ingest_cpu.run_ingest`` does). Reported per configuration: wall time, its ratio to the signals-off wall
time against the budget (text ≤ 1.25, faces ≤ 1.15, speakers ≤ 1.10, all ≤ 1.5), ffmpeg child CPU,
process CPU, each stage's own wall time (a stage that waits for the shots, faces, also reports the wait)
and first/last progress times; and what each signal found against the clip's truth.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from cogvlm_media.media.sample import SampleInfo
from signals_clip import SignalsTruth

BUDGETS = {"text": 1.25, "faces": 1.15, "speakers": 1.10, "all": 1.5}
CONFIGS = {"off": (False, False, False), "text": (True, False, False), "faces": (False, True, False),
           "speakers": (False, False, True), "all": (True, True, True)}  # (text, faces, speakers)


def settings_for(text: bool, faces: bool, speakers: bool):
    from cogvlm_media.config import AnalysisSettings, Settings

    return Settings(analysis=AnalysisSettings(faces=faces, speakers=speakers), plugins={"text": {"enabled": text}})


def warm_models() -> None:
    """Load every model once: loading is a per-process cost, not a per-file one."""
    from cogvlm_media.analysis import shots
    from cogvlm_media.analysis.faces import load_face_model
    from cogvlm_media.analysis.ocr import load_reader
    from cogvlm_media.analysis.speech import load_model
    from cogvlm_media.analysis.voice_encoder import get_encoder

    load_model(settings_for(False, False, False))
    shots.load_model()
    load_reader()
    load_face_model()
    get_encoder()


def _cpu() -> tuple[float, float]:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def ingest_once(path: str, settings) -> tuple[dict, object]:
    """One timed ``analyse_file``; each stage's run is wrapped to time it (and the wait for the shots)."""
    from cogvlm_media.ingest import stages as ingest_stages

    own: dict[str, dict] = {}
    real_stages = ingest_stages.stages

    def timed(stage):
        def run(item, progress):
            box = own.setdefault(stage.name, {"wait_for_shots_s": 0.0})
            if item.shots is not None:
                real_shots = item.shots

                def shots():
                    w0 = time.perf_counter()
                    try:
                        return real_shots()
                    finally:
                        box["wait_for_shots_s"] += time.perf_counter() - w0
                item = replace(item, shots=shots)
            s0 = time.perf_counter()
            try:
                return stage.run(item, progress)
            finally:
                box.update(start_s=s0 - t0, wall_s=time.perf_counter() - s0)
        return replace(stage, run=run)

    spans: dict[str, list[float]] = {}

    def on_stage(name: str, done: float, total: float) -> None:
        now = time.perf_counter() - t0
        spans.setdefault(name, [now, now])[1] = now

    ingest_stages.stages = lambda s: [timed(st) for st in real_stages(s)]
    try:
        (cpu0, kids0), t0 = _cpu(), time.perf_counter()
        result = ingest_stages.analyse_file(path, settings, on_stage=on_stage)
        wall = time.perf_counter() - t0
        cpu1, kids1 = _cpu()
    finally:
        ingest_stages.stages = real_stages
    stage_own = {name: {"start_s": round(v["start_s"], 2), "wall_s": round(v["wall_s"], 2),
                        **({"wait_for_shots_s": round(v["wait_for_shots_s"], 2)} if v["wait_for_shots_s"] else {})}
                 for name, v in own.items()}
    return {"wall_s": round(wall, 2), "process_cpu_s": round(cpu1 - cpu0, 2),
            "ffmpeg_child_cpu_s": round(kids1 - kids0, 2), "stages": stage_own,
            "progress_first_last_s": {k: [round(a, 2), round(b, 2)] for k, (a, b) in spans.items()},
            "shots": len(result.shots)}, result


def text_found(result, truth: SignalsTruth) -> dict:
    from cogvlm_media.analysis.text_events import same_text

    found = result.stage_results.get("text")
    if found is None:
        return {}
    events, used, rows = list(found.events), set(), []
    for t in truth.texts:
        hit = next((i for i, e in enumerate(events) if i not in used and same_text(e.text, t.text)
                    and e.start < t.end + 1.0 and e.end > t.start - 1.0), None)
        row = {"expected": t.text, "class": t.category, "start": t.start, "end": t.end}
        if hit is not None:
            used.add(hit)
            e = events[hit]
            row |= {"read": e.text, "found_class": e.category, "found_start": round(e.start, 2),
                    "found_end": round(e.end, 2), "class_ok": e.category == t.category}
        rows.append(row)
    extra = [{"text": e.text, "class": e.category, "start": round(e.start, 2), "end": round(e.end, 2)}
             for i, e in enumerate(events) if i not in used]
    return {"found": sum("read" in r for r in rows), "expected": len(rows),
            "class_right": sum(bool(r.get("class_ok")) for r in rows), "events": len(events),
            "unexpected": len(extra), "sampled": found.sampled, "checked": found.checked,
            "recognised": found.recognised, "model": found.model_version, "skipped": found.skipped,
            "per_text": rows, "unexpected_events": extra}


def faces_found(result, truth: SignalsTruth, info: SampleInfo) -> dict:
    found = result.stage_results.get("faces")
    if found is None:
        return {}

    def owner(face) -> int | None:
        cx = (face.box[0] + face.box[2] / 2) * info.width
        cy = (face.box[1] + face.box[3] / 2) * info.height
        for k, t in enumerate(truth.faces):
            x, y, w, h = t.face
            if t.start - 0.05 <= face.time <= t.end + 0.05 and x <= cx <= x + w and y <= cy <= y + h:
                return k
        return None

    owners = [owner(f) for f in found.faces]
    seen = {k for k in owners if k is not None}
    false = [{"time": round(f.time, 2), "box": list(f.box), "score": f.score}
             for f, k in zip(found.faces, owners) if k is None]
    samples_in = [sum(t.start - 0.05 <= s <= t.end + 0.05 for s in found.sample_times) for t in truth.faces]
    return {"face_shots": len(truth.faces), "face_shots_detected": len(seen), "detections": len(found.faces),
            "false_detections": len(false), "sampled_frames": len(found.sample_times),
            "samples_in_face_shots": sum(samples_in), "true_detections": len(owners) - len(false),
            "missed_shots": [truth.faces[k].shot for k in range(len(truth.faces)) if k not in seen],
            "false": false[:20], "model": found.model_version, "skipped_frames": len(found.skipped)}


def speakers_found(result, truth: SignalsTruth, info: SampleInfo) -> dict:
    d = result.stage_results.get("speakers")
    if d is None:
        return {}
    blocks = []  # the spoken extent of each block of one voice
    for first, end, voice in truth.speech_blocks:
        said = [s for s in info.spoken if first - 0.01 <= s.start < end]
        blocks.append((said[0].start, said[-1].end, voice))
    overlap: dict[tuple[str, str], float] = {}
    for t in d.turns:
        for a, b, voice in blocks:
            o = min(t.end, b) - max(t.start, a)
            if o > 0:
                overlap[(t.speaker, voice)] = overlap.get((t.speaker, voice), 0.0) + o
    labels = sorted({t.speaker for t in d.turns})
    best = {lab: max((v for v in {b[2] for b in blocks}), key=lambda v: overlap.get((lab, v), 0.0)) for lab in labels}
    agree = sum(o for (lab, v), o in overlap.items() if best[lab] == v)
    total = sum(overlap.values())
    starts = [t.start for t in d.turns]
    onset_err = [min(abs(s - a) for s in starts) for a, _, _ in blocks] if starts else []
    return {"turns": len(d.turns), "expected_turns": len(blocks), "speakers": len(d.speakers),
            "expected_speakers": len({b[2] for b in blocks}), "label_to_voice": best,
            "time_agreeing_with_truth": round(agree / total, 3) if total else 0.0,
            "block_onset_error_s_max": round(max(onset_err), 2) if onset_err else None,
            "model": d.model_version}


def run_signals(minutes: float, repeat: int = 1, only: tuple[str, ...] = ()) -> dict:
    """``repeat`` rounds of the five configurations, interleaved; each configuration's figure is its
    fastest round (the least disturbed by other work on a shared machine), every round's wall time kept."""
    from signals_clip import signals_clip

    info, truth = signals_clip(minutes)
    with open(info.path, "rb") as fh:  # the file in the page cache before the first timed run
        while fh.read(1 << 24):
            pass
    warm_models()
    # one untimed ingest, every stage on, of the clip's first 12 s: first-call costs are not in any figure
    head = info.path.with_name(info.path.stem + ".head.mp4")
    if not head.exists():
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(info.path), "-t", "12", "-c", "copy",
                        str(head)], check=True)
    ingest_once(str(head), settings_for(True, True, True))
    runs: dict[str, dict] = {}
    for round_ in range(max(1, repeat)):
        for name, flags in CONFIGS.items():
            if only and name not in only and name != "off":
                continue
            print(f"signals: round {round_ + 1}, ingest with {name} ...", flush=True, file=sys.stderr)
            row, result = ingest_once(str(info.path), settings_for(*flags))
            if flags[0]:
                row["text"] = text_found(result, truth)
            if flags[1]:
                row["faces"] = faces_found(result, truth, info)
            if flags[2]:
                row["speakers"] = speakers_found(result, truth, info)
            walls = runs.get(name, {}).get("round_walls_s", []) + [row["wall_s"]]
            if name not in runs or row["wall_s"] < runs[name]["wall_s"]:
                runs[name] = row
            runs[name]["round_walls_s"] = walls
    off = runs["off"]["wall_s"]
    budgets = {name: {"ratio_to_off": round(runs[name]["wall_s"] / off, 3), "budget": limit,
                      "extra_s": round(runs[name]["wall_s"] - off, 2), "pass": runs[name]["wall_s"] / off <= limit}
               for name, limit in BUDGETS.items() if name in runs}
    return {"repeat": max(1, repeat), "clip": {"path": str(info.path.name), "seconds": info.duration, "size": f"{info.width}x{info.height}",
                     "fps": str(info.fps), "keyint": info.keyint, "shots": len(truth.shots),
                     "text_shots": len(truth.texts), "face_shots": len(truth.faces),
                     "speech_s": round(sum(s.end - s.start for s in info.spoken), 1),
                     "voice_blocks": len(truth.speech_blocks)},
            "budgets": budgets, "runs": runs, "load_after": list(os.getloadavg())}


def write_signals(minutes: float, repeat: int, results: Path, only: tuple[str, ...] = ()) -> None:
    """Run, print the JSON and write it to ``results``/ingest_cpu-signals-<UTC time>.json."""
    load = list(os.getloadavg())
    out = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                       "load_before": load}} | run_signals(minutes, repeat, only)
    results.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(out, indent=2)
    (results / f"ingest_cpu-signals-{stamp}.json").write_text(text + "\n")
    print(text)
