"""Which decord frame each NVDEC frame is (by least mean absolute difference), in decode order and by PTS."""
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import decord  # noqa: E402
import PyNvVideoCodec as nvc  # noqa: E402

from cogvlm_media.media import nvdec  # noqa: E402

p = sys.argv[1]
n = 60
ref = decord.VideoReader(p).get_batch(list(range(n))).asnumpy()
M = lambda a, b: float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())  # noqa: E731
for kind in ("NATIVE", "RGB"):
    d = nvc.SimpleDecoder(p, gpu_id=0, use_device_memory=True, output_color_type=getattr(nvc.OutputColorType, kind))
    fr = d.get_batch_frames(n)
    pts = [int(f.getPTS()) for f in fr]
    t = torch.stack([torch.from_dlpack(f) for f in fr])
    x = (nvdec.nv12_to_rgb(t, 1080, 1920) if kind == "NATIVE" else t).cpu().numpy()
    best = [min(range(max(0, i - 4), min(n, i + 5)), key=lambda j: M(x[i], ref[j])) for i in range(12)]
    print(kind, "pts", pts[:12], "best decord index of 0..11:", best, "MAD same index:",
          [round(M(x[i], ref[i]), 2) for i in range(0, 12, 3)], flush=True)
v = nvdec.decode_once(p, len(decord.VideoReader(p)))
idx = list(range(0, len(v), 25))[:40]
full = decord.VideoReader(p).get_batch(idx).asnumpy()
_, want = nvdec.FrameConverter(1080, 1920)(torch.from_numpy(full).cuda())
print("decode_once model224 MAD vs decord:", round(M(v.frames(idx), want.cpu().numpy()), 3), flush=True)
