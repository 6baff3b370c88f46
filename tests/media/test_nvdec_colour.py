"""The NVDEC path's pixels against decord and ffmpeg on the CPU: NV12 exactly as a decoder hands it over
(ffmpeg's own decoded planes, repacked), converted with the matrix and range the stream is tagged with,
padded surfaces, the small frames against the CPU decode's ffmpeg scale, and the order of the frames
(``read_all`` with a decoder that hands over frames in batches, with timestamps)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import torch

from cogvlm_media.media import nvdec, yuv
from cogvlm_media.media.decode import decode_small
from cogvlm_media.media.frames import read_frames
from cogvlm_media.media.sws_scale import SmallFrames
from nv12kit import Decoder, Frame, nv12_of

W, H, N = 320, 240, 12


def _clip(path, source, tags=()):
    """N frames of a saturated test pattern under temporal noise (as the benchmark's footage), H.264 with B-frames."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"{source}=size={W}x{H}:rate=25",
                    "-vf", "noise=alls=6:allf=t,format=yuv420p", "-frames:v", str(N), "-c:v", "libx264",
                    "-preset", "superfast", "-bf", "3", *tags, str(path)], check=True)
    return path


def _mad(a, b) -> float:
    return float(np.abs(np.asarray(a).astype(np.int16) - np.asarray(b).astype(np.int16)).mean())


TAGS = {"untagged": (), "bt709": ("-colorspace", "bt709"), "smpte170m": ("-colorspace", "smpte170m"),
        "full": ("-pix_fmt", "yuvj420p", "-color_range", "pc")}


@pytest.mark.parametrize("tag", list(TAGS))
def test_rgb_is_decords_for_the_streams_colour_tags(tmp_path, tag):
    path = _clip(tmp_path / "c.mp4", "rgbtestsrc", TAGS[tag])
    colour = yuv.colour_of(path)
    assert colour == {"untagged": yuv.BT601, "bt709": yuv.Colour("bt709"), "smpte170m": yuv.Colour("smpte170m"),
                      "full": yuv.Colour("unknown", True)}[tag]
    nv12, ref = nv12_of(path, W, H), read_frames(path, list(range(N)))
    assert _mad(nvdec.nv12_to_rgb(nv12, H, W, colour), ref) <= 1.0
    _, model = nvdec.Nv12Converter(H, W, "cpu", colour=colour)(nv12)
    _, want = nvdec.FrameConverter(H, W)(torch.from_numpy(ref))
    assert _mad(model, want) <= 1.0
    if tag != "untagged":  # the untagged conversion on a tagged stream is what the H200 runs saw: ~5 levels off
        assert _mad(nvdec.nv12_to_rgb(nv12, H, W, yuv.BT601 if tag != "smpte170m" else yuv.Colour("bt709")),
                    ref) > 3


def test_padded_surfaces_give_the_same_picture(tmp_path):
    """A decoder surface with rows beyond the picture (1088 for 1080p) and a wider pitch: the chroma plane
    starts after the surface's luma rows."""
    nv12 = nv12_of(_clip(tmp_path / "c.mp4", "smptehdbars"), W, H)
    pad_rows, pitch = 8, W + 64
    padded = torch.full((N, (H + pad_rows) * 3 // 2, pitch), 77, dtype=torch.uint8)
    padded[:, :H, :W] = nv12[:, :H]
    padded[:, H + pad_rows:H + pad_rows + H // 2, :W] = nv12[:, H:]
    want = nvdec.nv12_to_rgb(nv12, H, W)
    assert torch.equal(nvdec.nv12_to_rgb(padded, H, W), want)
    assert torch.equal(nvdec.Nv12Converter(H, W, "cpu")(padded)[1], nvdec.Nv12Converter(H, W, "cpu")(nv12)[1])
    naive = padded[:, :H * 3 // 2, :W]  # the chroma taken right after the picture's rows: wrong colours
    assert _mad(nvdec.nv12_to_rgb(naive.contiguous(), H, W), want) > 3


@pytest.mark.parametrize("source,tag", [("testsrc2", "untagged"), ("smptehdbars", "bt709"), ("rgbtestsrc", "full")])
def test_small_frames_are_the_cpu_decodes(tmp_path, source, tag):
    path = _clip(tmp_path / "c.mp4", source, TAGS[tag])
    nv12, ffmpeg_small = nv12_of(path, W, H), decode_small(path)
    small = SmallFrames(H, W, 27, 48, "cpu", yuv.colour_of(path))(nv12)
    assert small.shape == ffmpeg_small.shape == (N, 27, 48, 3)
    assert _mad(small, ffmpeg_small) <= 2.0  # the tolerance (mostly a +1 level offset of swscale's tables)
    area = torch.nn.functional.interpolate(torch.from_numpy(read_frames(path, list(range(N)))).permute(0, 3, 1, 2)
                                           .float(), size=(27, 48), mode="area").round().permute(0, 2, 3, 1)
    assert _mad(small, ffmpeg_small) < _mad(area, ffmpeg_small)  # closer than a plain area average


# decode order of an IBBP stream with a B-pyramid, as (display index, pts)
DECODE_ORDER = [0, 4, 2, 1, 3, 8, 6, 5, 7, 11, 10, 9]


@pytest.mark.parametrize("order,pts_of", [
    ("display", lambda i: 512 * i + 1024),            # NVDEC's own order, timestamps with a start offset
    ("decode", lambda i: 512 * i),                    # handed over in decode order: the timestamps sort them
    ("display", lambda i: 0),                         # one timestamp for all (a build without them): kept
])
def test_read_all_gives_frame_i_as_decords_frame_i(tmp_path, order, pts_of):
    path = _clip(tmp_path / "c.mp4", "testsrc2", TAGS["bt709"])
    nv12 = nv12_of(path, W, H)
    sequence = DECODE_ORDER if order == "decode" else list(range(N))
    decoder = Decoder(Frame(nv12[i].clone(), pts_of(i)) for i in sequence)
    video = nvdec.read_all(decoder, N, W, H, "cpu", yuv.colour_of(path), expected_frames=N, batch=5)
    assert len(video) == N and video.colour == yuv.Colour("bt709")
    ref = read_frames(path, list(range(N)))
    _, want = nvdec.FrameConverter(H, W)(torch.from_numpy(ref))
    per_frame = [_mad(video.model[i], want[i]) for i in range(N)]
    assert max(per_frame) <= 1.5, per_frame
    assert _mad(video.small, decode_small(path)) <= 2.0
    # each frame matches its own index and not its neighbours (testsrc2 moves): misalignment would show
    assert all(_mad(video.model[i], want[i + 1]) > 3 * per_frame[i] + 1 for i in range(N - 1))


def test_read_all_refuses_a_short_decode(tmp_path):
    nv12 = nv12_of(_clip(tmp_path / "c.mp4", "smptebars"), W, H)
    decoder = Decoder(Frame(nv12[i].clone(), i) for i in range(N - 3))
    with pytest.raises(nvdec.NvdecError, match=f"decoded {N - 3} frames but {N} were expected"):
        nvdec.read_all(decoder, N, W, H, "cpu", expected_frames=N)
