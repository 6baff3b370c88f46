"""GPU machine check for the NVDEC decode path (issue 14): what is there, and whether NVDEC frames match decord's.

Renders ``--clips`` 1080p25 clips with the benchmark's footage generator (measuring render speed and
bitrate), then on the first clip compares, at the frames today's sampler picks:

* NVDEC RGB (PyNvVideoCodec's own conversion) against decord's RGB, full resolution;
* NV12 from NVDEC converted here (the stream's tagged matrix and range, as decord's swscale; and BT.601
  regardless, for comparison) against decord's RGB, with the best-matching decord index of each frame;
* the model-ready 224x224 frames of ``media.nvdec.decode_once`` against the same conversion of decord's
  frames, and its 48x27 frames against the CPU path's ``media.decode.decode_small`` (ffmpeg);

and times ``decode_once`` on one clip and on several at once (threads, one decoder each).

    python bench/gpu_check.py --ffmpeg /tmp/bin/ffmpeg --speech .gpu/speech.m4a --work /tmp/check --out $OUT/check.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def sh(cmd: str) -> str:
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()


def mad(a: np.ndarray, b: np.ndarray) -> dict:
    d = np.abs(a.astype(np.int16) - b.astype(np.int16))
    per = d.reshape(len(d), -1).mean(axis=1)
    return {"mean": round(float(d.mean()), 4), "max_frame": round(float(per.max()), 4),
            "p99_pixel": float(np.percentile(d, 99)), "max_pixel": int(d.max())}


def compare(clip: Path, out: dict) -> None:
    import PyNvVideoCodec as nvc
    import torch

    from cogvlm_media.analysis.windows import plan_windows
    import nvdec_diag as nvdiag

    from cogvlm_media.media import nvdec, yuv
    from cogvlm_media.media.decode import decode_small
    from cogvlm_media.media.frames import decoded_frame_times as frame_times, read_frames

    times = frame_times(clip)
    windows = plan_windows([], times, float(len(times)) / 25, 24.0)
    indices = sorted({i for w in windows for i in w.frame_indices})[:48]
    out["frames"] = len(times)
    ref = read_frames(clip, indices)  # decord RGB
    dec = nvc.SimpleDecoder(str(clip), gpu_id=0, use_device_memory=True, output_color_type=nvc.OutputColorType.RGB)
    out["nvdec_len"] = len(dec)
    got = dec.get_batch_frames_by_index(indices)
    rgb = torch.stack([torch.from_dlpack(f) for f in got]).cpu().numpy()
    out["nvdec_rgb_shape"] = list(rgb.shape)
    out["mad_rgb_nvc_vs_decord"] = mad(rgb, ref)
    try:
        nat = nvc.SimpleDecoder(str(clip), gpu_id=0, use_device_memory=True,
                                output_color_type=nvc.OutputColorType.NATIVE)
        frames = nat.get_batch_frames_by_index(indices)
        t = torch.from_dlpack(frames[0])
        out["nv12_shape"] = list(t.shape)
        h, w = ref.shape[1:3]
        colour = yuv.colour_of(clip) or yuv.BT601
        out["colour"] = {"matrix": colour.matrix, "full_range": colour.full_range}
        nv12 = torch.stack([torch.from_dlpack(f) for f in frames])
        out["mad_rgb_nv12_bt601_vs_decord"] = mad(nvdec.nv12_to_rgb(nv12, h, w).cpu().numpy(), ref)
        conv = nvdec.nv12_to_rgb(nv12, h, w, colour)
        out["mad_rgb_nv12_tagged_vs_decord"] = mad(conv.cpu().numpy(), ref)
        # which decord frame each one is (decord read in order, no seeking): 0 everywhere when aligned
        seq = torch.from_numpy(read_frames(clip, list(range(min(indices[-1] + 4, len(times)))))).cuda()
        out["nv12_by_index_offsets"] = nvdiag.compare(conv, seq, indices)
    except Exception as exc:  # noqa: BLE001
        out["nv12_error"] = f"{type(exc).__name__}: {exc}"[:300]

    t0 = time.perf_counter()
    video = nvdec.decode_once(clip, expected_frames=len(times))
    out["decode_once_s"] = round(time.perf_counter() - t0, 3)
    out["decode_once_frames"] = len(video)
    conv = nvdec.FrameConverter(ref.shape[1], ref.shape[2])
    _, ref_model = conv(torch.from_numpy(ref).cuda())
    out["mad_model224_nvdec_vs_decord"] = mad(video.frames(indices), ref_model.cpu().numpy())
    small_cpu = decode_small(clip)
    out["small_frames_cpu"] = len(small_cpu)
    out["mad_small48x27_nvdec_vs_ffmpeg"] = mad(video.small[:len(small_cpu)], small_cpu)
    # other filters for the small frames, against the same ffmpeg frames
    import torch.nn.functional as F

    sel = list(range(0, min(len(small_cpu), len(video)), 25))[:40]
    full = nvc.SimpleDecoder(str(clip), gpu_id=0, use_device_memory=True, output_color_type=nvc.OutputColorType.RGB)
    x = torch.stack([torch.from_dlpack(f) for f in full.get_batch_frames_by_index(sel)]).permute(0, 3, 1, 2).float()
    for name, kw in {"bilinear_aa": dict(mode="bilinear", antialias=True, align_corners=False),
                     "bicubic_aa": dict(mode="bicubic", antialias=True, align_corners=False)}.items():
        s = F.interpolate(x, size=(27, 48), **kw).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
        out[f"mad_small48x27_nvdec_{name}_vs_ffmpeg"] = mad(s.cpu().numpy(), small_cpu[sel])


def throughput(clips: list[Path], out: dict, threads: list[int], modes: list[str]) -> None:
    from cogvlm_media.media import nvdec
    from cogvlm_media.media.frames import decoded_frame_times as frame_times

    counts = {c: len(frame_times(c)) for c in clips}
    nvdec.decode_once(clips[0], counts[clips[0]])  # warm-up
    for mode in modes:
        for n in threads:
            t0 = time.perf_counter()
            with ThreadPoolExecutor(n) as pool:
                done = list(pool.map(lambda c: len(nvdec.decode_once(c, counts[c], threaded=mode == "threaded")),
                                     clips[:n]))
            wall = time.perf_counter() - t0
            key = f"decode_once_{mode}_{n}_threads"
            out[key] = {"frames": sum(done), "wall_s": round(wall, 2), "fps": round(sum(done) / wall, 1)}
            print(key, out[key], flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ffmpeg", required=True)
    ap.add_argument("--speech", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=Path("/tmp/check"))
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--existing", type=Path, default=None, help="decode checks only, on the .mp4 files here")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--modes", nargs="+", default=["simple"])
    args = ap.parse_args()
    out: dict = {"nvidia_smi": sh("nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv"),
                 "cpus": os.cpu_count(), "df_tmp": sh("df -h /tmp | tail -1"), "df_shm": sh("df -h /dev/shm | tail -1"),
                 "mem": sh("free -g | head -2 | tail -1"), "python": sys.version.split()[0],
                 "cublas12": sh("find / -name 'libcublas.so.12*' -not -path '/proc/*' 2>/dev/null | head -3"),
                 "cudnn": sh("find / -name 'libcudnn.so.9*' -not -path '/proc/*' 2>/dev/null | head -2"),
                 "nvdec_engines": sh("nvidia-smi -q | grep -i -A2 'Decoder' | head -6")}
    import torch

    out["torch"] = torch.__version__
    import PyNvVideoCodec as nvc

    out["pynvvideocodec"] = nvc.__version__
    print(json.dumps(out), flush=True)
    if args.existing:
        paths = sorted(args.existing.glob("*.mp4"))
        compare(paths[0], out)
        print(json.dumps({k: v for k, v in out.items() if k.startswith(("mad", "decode", "comp"))}), flush=True)
        throughput(paths, out, args.threads, args.modes)
        args.out.write_text(json.dumps(out, indent=1))
        return
    import gpu_footage

    args.work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.clips) as pool:
        clips = list(pool.map(lambda k: gpu_footage.render_clip(args.ffmpeg, args.work / f"k{k}.mp4", args.seconds,
                                                                 k, args.speech, 2, "18M"), range(args.clips)))
    wall = time.perf_counter() - t0
    out["render"] = {"clips": len(clips), "wall_s": round(wall, 1),
                     "fps": round(sum(c["frames"] for c in clips) / wall, 1),
                     "mbit_per_s": [c["mbit_per_s"] for c in clips]}
    print(json.dumps(out["render"]), flush=True)
    paths = [args.work / c["file"] for c in clips]
    try:
        compare(paths[0], out)
    except Exception as exc:  # noqa: BLE001 - report and go on to the timings
        import traceback

        out["compare_error"] = traceback.format_exc()[-1500:]
    print(json.dumps({k: v for k, v in out.items() if k.startswith(("mad", "nv", "decode", "small", "frames", "comp"))}),
          flush=True)
    try:
        throughput(paths, out, args.threads, args.modes)
    except Exception:  # noqa: BLE001
        import traceback

        out["throughput_error"] = traceback.format_exc()[-1500:]
    args.out.write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
