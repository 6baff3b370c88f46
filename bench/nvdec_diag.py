"""One short device call that says whether NVDEC frames are decord's frames (issue 14), and if not, why.

Renders two 12 s clips with the benchmark's own footage generator: seed 0 starts on testsrc2 and comes out
untagged (decord converts it with BT.601), seed 100 starts on smptehdbars and comes out tagged BT.709 (as
the benchmark's u00.mp4; decord converts it with BT.709). For each, against decord's frames read in order
(``get_batch(range(n))``, no seeking) and ffmpeg's small frames (the CPU path's ``decode_small``):

* ``decode_once`` (SimpleDecoder and ThreadedDecoder): model and small frames, MAD at the same index and
  the best-matching decord index offset of every frame (``offsets``: how many frames had each offset);
* PyNvVideoCodec's NV12, read in order and by index, converted with the stream's tagged matrix
  (``media.yuv``) and with BT.601 regardless, full resolution: MAD and offsets, and the first timestamps;
* PyNvVideoCodec's own RGB output (its matrix for untagged streams is BT.709).

    python bench/nvdec_diag.py --ffmpeg /tmp/bin/ffmpeg --work /tmp/nvc --out $OUT/nvdec_diag.json

Fixed when every ``mad`` of the tagged conversions is <= 2 and every ``offsets`` is ``{"0": n}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

RADIUS = 3  # offsets -3..3 are tried


def compare(x, ref, indices=None) -> dict:
    """``x[k]`` against ``ref[indices[k]]`` (torch uint8 tensors, same device): mean MAD, the worst frame, and
    how many frames best match ``ref[indices[k] + offset]`` for each offset in -RADIUS..RADIUS."""
    import torch

    indices = list(range(len(x))) if indices is None else list(indices)
    same, best = [], []
    for k, i in enumerate(indices):
        xs = x[k].float()
        cands = {o: float((xs - ref[i + o].float()).abs().mean()) for o in range(-RADIUS, RADIUS + 1)
                 if 0 <= i + o < len(ref)}
        same.append(cands[0])
        best.append(min(cands, key=cands.get))
    top, sample = 0, []
    for k in range(0, len(indices), 16):  # pixel statistics at the same index, a chunk at a time
        d = (x[k:k + 16].float() - ref[torch.as_tensor(indices[k:k + 16], device=ref.device)].float()).abs()
        top, sample = max(top, int(d.max())), sample + [d.flatten()[::97]]
    wrong = [i for i, o in zip(indices, best) if o != 0]
    return {"mad": round(float(np.mean(same)), 3), "max_frame": round(max(same), 3),
            "p99_pixel": p99(torch.cat(sample)), "max_pixel": top,
            "offsets": {str(k): v for k, v in sorted(Counter(best).items())}, "off_frames": wrong[:20]}


def p99(values: torch.Tensor) -> float:
    """The 99th percentile by sorting (torch.quantile refuses more than 2**24 values: a 12 s clip has more)."""
    ordered = values.flatten().sort().values
    return float(ordered[min(len(ordered) - 1, int(0.99 * (len(ordered) - 1)))]) if len(ordered) else 0.0


def check(clip: Path) -> dict:
    import decord
    import PyNvVideoCodec as nvc
    import torch

    from cogvlm_media.media import nvdec, yuv
    from cogvlm_media.media.decode import decode_small

    out: dict = {"clip": clip.name}
    colour = yuv.colour_of(clip) or yuv.BT601
    out["colour"] = {"matrix": colour.matrix, "full_range": colour.full_range}
    vr = decord.VideoReader(str(clip))
    n = len(vr)
    ref = torch.from_numpy(vr.get_batch(list(range(n))).asnumpy()).cuda()
    h, w = ref.shape[1:3]
    _, ref_model = nvdec.FrameConverter(h, w)(ref)
    ref_small = torch.from_numpy(decode_small(clip)).cuda()
    out["frames"] = {"decord": n, "ffmpeg_small": len(ref_small)}
    for threaded in (False, True):
        t0 = time.perf_counter()
        video = nvdec.decode_once(clip, n, threaded=threaded)
        key = "decode_once_threaded" if threaded else "decode_once"
        out[key] = {"s": round(time.perf_counter() - t0, 2), "frames": len(video),
                    "model": compare(torch.from_numpy(video.model).cuda(), ref_model),
                    "small": compare(torch.from_numpy(video.small).cuda(), ref_small)}
    dec = nvc.SimpleDecoder(str(clip), gpu_id=0, use_device_memory=True, output_color_type=nvc.OutputColorType.NATIVE)
    tagged, bt601, pts = [], [], []
    while sum(len(t) for t in tagged) < n:
        frames = dec.get_batch_frames(min(16, n - sum(len(t) for t in tagged)))
        if not frames:
            break
        nv12 = torch.stack([torch.from_dlpack(f) for f in frames])
        out.setdefault("nv12_shape", list(nv12.shape[1:]))
        tagged.append(nvdec.nv12_to_rgb(nv12, h, w, colour))
        bt601.append(nvdec.nv12_to_rgb(nv12, h, w))
        pts += [int(f.getPTS()) for f in frames]
    out["pts_first"] = pts[:24]
    out["pts_sorted"] = pts == sorted(pts)
    out["nv12_in_order_tagged"] = compare(torch.cat(tagged), ref)
    out["nv12_in_order_bt601"] = compare(torch.cat(bt601), ref)
    del tagged, bt601
    indices = sorted({*range(0, n, 25), *range(7, n, 61), n - 1})
    idx = nvc.SimpleDecoder(str(clip), gpu_id=0, use_device_memory=True, output_color_type=nvc.OutputColorType.NATIVE)
    got = torch.stack([torch.from_dlpack(f) for f in idx.get_batch_frames_by_index(indices)])
    out["nv12_by_index_tagged"] = compare(nvdec.nv12_to_rgb(got, h, w, colour), ref, indices)
    rgb = nvc.SimpleDecoder(str(clip), gpu_id=0, use_device_memory=True, output_color_type=nvc.OutputColorType.RGB)
    got = torch.stack([torch.from_dlpack(f) for f in rgb.get_batch_frames_by_index(indices)])
    out["pynvc_rgb_by_index"] = compare(got, ref, indices)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ffmpeg", default="ffmpeg")
    ap.add_argument("--work", type=Path, default=Path("/tmp/nvc"))
    ap.add_argument("--seconds", type=float, default=12)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--clips", type=Path, nargs="*", help="check these instead of rendering")
    args = ap.parse_args()
    import PyNvVideoCodec as nvc
    import torch

    out: dict = {"pynvvideocodec": nvc.__version__, "torch": torch.__version__,
                 "ffmpeg": subprocess.run([args.ffmpeg, "-version"], capture_output=True, text=True).stdout[:60]}
    clips = args.clips
    if not clips:
        import gpu_footage

        args.work.mkdir(parents=True, exist_ok=True)
        silence = args.work / "silence.m4a"
        subprocess.run([args.ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "5",
                        "-c:a", "aac", str(silence)], check=True)
        clips = []
        for seed in (0, 100):
            path = args.work / f"seed{seed}.mp4"
            gpu_footage.render_clip(args.ffmpeg, path, args.seconds, seed, silence, os.cpu_count() or 4, "16M")
            clips.append(path)
    out["clips"] = []
    for clip in clips:
        try:
            out["clips"].append(check(clip))
        except Exception:  # noqa: BLE001 - report and go on to the next clip
            import traceback

            out["clips"].append({"clip": clip.name, "error": traceback.format_exc()[-1500:]})
        print(json.dumps(out["clips"][-1]), flush=True)
    args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
