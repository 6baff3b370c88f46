"""The NVDEC decode-once path, tested where it can be without a GPU: its pixel geometry against the
model's own preprocessing, its NV12 conversion against decord on real ffmpeg output, and the choice of
source and the fallback to the CPU decode when CUDA or PyNvVideoCodec is absent."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

import mediagen
from cogvlm_media.media import nvdec, yuv
from nv12kit import Decoder, Frame, nv12_of
from cogvlm_media.media.decode import decode_small
from cogvlm_media.media.frame_source import DecordReader, DecordSource, get_frame_source
from cogvlm_media.media.frames import decoded_frame_times as frame_times, read_frames
from cogvlm_media.model.inputs import CLIP_STD, preprocess_frames


@pytest.mark.parametrize("shape", [(3, 120, 200), (2, 200, 120), (2, 1080, 1920)])
def test_model_frames_are_what_preprocessing_makes_of_the_full_frames(shape):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    small, model = nvdec.FrameConverter(shape[1], shape[2])(torch.from_numpy(frames))
    assert tuple(model.shape) == (shape[0], 224, 224, 3) and model.dtype == torch.uint8
    assert tuple(small.shape) == (shape[0], 27, 48, 3)
    ours, reference = preprocess_frames(model.numpy()), preprocess_frames(frames)
    # the only difference is the rounding of the resized picture to whole levels (at most half a level)
    limit = 0.5 / 255 / min(CLIP_STD) + 1e-5
    assert float((ours - reference).abs().max()) <= limit
    assert float((ours - reference).abs().max()) > 0  # rounding happened: the comparison can fail


def _nv12(path, width, height, count) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-frames:v", str(count), "-pix_fmt", "nv12",
                          "-f", "rawvideo", "pipe:1"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(count, height * 3 // 2, width)


def test_nv12_conversion_matches_decord(tmp_path):
    info = mediagen.render(tmp_path / "c.mp4", [mediagen.Segment("testsrc2", 10), mediagen.Segment("smptebars", 10)],
                           size="320x240")
    nv12 = torch.from_numpy(_nv12(info.path, 320, 240, 20).copy())
    rgb = nvdec.nv12_to_rgb(nv12, 240, 320).numpy()
    ref = read_frames(info.path, list(range(20)))
    diff = np.abs(rgb.astype(np.int16) - ref.astype(np.int16))
    assert rgb.shape == ref.shape
    assert diff.mean() <= 2.0  # the tolerance: 2 levels of 255
    wrong = nvdec.nv12_to_rgb(torch.from_numpy(np.ascontiguousarray(np.flip(_nv12(info.path, 320, 240, 20), 0))),
                              240, 320).numpy()
    assert np.abs(wrong.astype(np.int16) - ref.astype(np.int16)).mean() > 5  # other frames do not pass


def _no_cuda(monkeypatch):
    nvdec._reason.clear()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_without_cuda_auto_is_decord_and_nvdec_falls_back(monkeypatch, cut_clip):
    _no_cuda(monkeypatch)
    assert nvdec.unavailable_reason() == "no CUDA device"
    assert get_frame_source("auto").name == "decord" and get_frame_source("").name == "decord"
    source = get_frame_source("nvdec")
    n = len(frame_times(cut_clip.path))
    assert source.decode_file(cut_clip.path, n) is None  # the CPU decode is used instead
    assert source.fallbacks == [(str(cut_clip.path), "no CUDA device")]
    reader = source.open(cut_clip.path)
    assert isinstance(reader, DecordReader)
    assert np.array_equal(reader.read([0, 61]), read_frames(cut_clip.path, [0, 61]))
    nvdec._reason.clear()


def test_without_pynvvideocodec_the_reason_says_so(monkeypatch):
    nvdec._reason.clear()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setitem(sys.modules, "PyNvVideoCodec", None)  # import fails as if not installed
    reason = nvdec.unavailable_reason()
    assert reason.startswith("PyNvVideoCodec cannot be loaded")
    assert nvdec.default_source_name() == "decord"
    nvdec._reason.clear()


class CpuDecodeOnce(nvdec.NvdecSource):
    """The NVDEC source with its one decode on the CPU: the NV12 a decoder hands over (ffmpeg's planes, in
    batches with timestamps) through the product's own ``read_all`` and conversion."""

    def __init__(self):
        super().__init__()
        self.decoded: list[str] = []

    def _decode(self, path, expected_frames, progress):
        self.decoded.append(path)
        height, width = read_frames(path, [0]).shape[1:3]
        nv12 = nv12_of(path, width, height)
        decoder = Decoder(Frame(nv12[i].clone(), 512 * i) for i in range(len(nv12)))
        return nvdec.read_all(decoder, len(nv12), width, height, "cpu", yuv.colour_of(path) or yuv.BT601,
                              expected_frames, progress)


def test_decode_once_serves_shots_and_windows_with_todays_frame_indices(tmp_path, cut_clip, monkeypatch):
    from cogvlm_media.analysis import shots as shots_mod
    from cogvlm_media.analysis.vision_analyser import VisionAnalyser
    from cogvlm_media.config import AnalysisSettings, ModelSettings, Settings
    from cogvlm_media.ingest.stages import analyse_file

    class Recorder:
        """Answers every question with its window's first frame's mean level, and records the frames."""

        def __init__(self):
            self.frames = []

        def answer_stream(self, items, max_new_tokens=None, progress=None):
            out = []
            for it in items:
                if it.frames is None:  # a scene summary (text only)
                    out.append(["A summary." for _ in it.queries])
                    continue
                self.frames.append(np.asarray(it.frames))
                out.append([f"level {np.asarray(it.frames).mean():.1f}" for _ in it.queries])
            return out

    seen_small = []
    original = shots_mod.detect_shots_with_stats

    def spy(path, media, settings, frames=None, *a, **kw):
        seen_small.append(frames)
        return original(path, media, settings, frames, *a, **kw)

    monkeypatch.setattr(shots_mod, "detect_shots_with_stats", spy)
    settings = Settings(home=tmp_path, model=ModelSettings(path="unused"), analysis=AnalysisSettings(window_seconds=6.0))
    runs = {}
    for name, source in (("cpu", DecordSource()), ("once", CpuDecodeOnce())):
        answers = Recorder()
        analyser = VisionAnalyser(settings, chat=type("C", (), {"name": "fake"})(), answerer=answers,
                                  frame_source=source)
        runs[name] = (analyse_file(str(cut_clip.path), settings, analyser=analyser), answers, source)
    cpu, once = runs["cpu"][0], runs["once"][0]
    assert runs["once"][2].decoded == [str(cut_clip.path)]  # decoded exactly once, for everything
    assert seen_small[0] is None and seen_small[1] is not None and len(seen_small[1]) == cut_clip.frame_count
    assert [s.start_frame for s in once.shots] == [s.start_frame for s in cpu.shots]
    assert len(once.shots) >= 6
    assert [w.frame_indices for w in once.windows] == [w.frame_indices for w in cpu.windows]
    assert len(once.windows) >= 3
    # the window frames the model got are the decode's model-ready frames of exactly those indices, and
    # those are decord's pictures (the NV12 conversion is within 1.5 levels of decord's RGB, as test_nvdec_colour)
    video = CpuDecodeOnce()._decode(str(cut_clip.path), cut_clip.frame_count, None)
    for w, got, full in zip(once.windows, runs["once"][1].frames, runs["cpu"][1].frames):
        assert got.shape == (len(w.frame_indices), 224, 224, 3)
        assert np.array_equal(got, video.frames(w.frame_indices))
        _, want = nvdec.FrameConverter(full.shape[1], full.shape[2])(torch.from_numpy(full))
        assert np.abs(got.astype(np.int16) - want.numpy().astype(np.int16)).mean() <= 1.5
    assert runs["once"][2]._decoded == {}  # released after the file


def test_frames_are_put_in_presentation_order_by_timestamp():
    # decode order of an IBBP stream with B-pyramid (the footage's x264 settings): pts 0, 4, 2, 1, 3, 8, 6, 5, 7
    pts = [0, 2048, 1024, 512, 1536, 4096, 3072, 2560, 3584]
    order = nvdec.presentation_order(pts)
    assert [pts[i] for i in order] == sorted(pts)
    assert nvdec.presentation_order(sorted(pts)) is None  # already in order: nothing to move
    assert nvdec.presentation_order([0, None, 512]) is None  # no timestamps: arrival order is kept
    assert nvdec.presentation_order([]) is None


@pytest.mark.parametrize("size", ["320x240", "240x320"])
def test_nv12_converter_gives_the_model_frames_of_the_full_conversion(tmp_path, size):
    """NVDEC's frames are converted without a full-size RGB picture: the same model frames (up to the float
    order of one multiply-add, a level at most); the small frames are the CPU decode's (ffmpeg's scale)."""
    w, h = (int(v) for v in size.split("x"))
    info = mediagen.render(tmp_path / "c.mp4", [mediagen.Segment("testsrc2", 8), mediagen.Segment("smptebars", 8),
                                                mediagen.Segment("colour:0xc03020", 8)], size=size)
    nv12 = torch.from_numpy(_nv12(info.path, w, h, 24).copy())
    small, model = nvdec.Nv12Converter(h, w, "cpu")(nv12)
    want_small, want_model = nvdec.FrameConverter(h, w)(nvdec.nv12_to_rgb(nv12, h, w))
    assert model.shape == want_model.shape == (24, 224, 224, 3) and small.shape == want_small.shape
    diff = (model.int() - want_model.int()).abs()
    assert int(diff.max()) <= 1 and float((diff > 0).float().mean()) < 1e-3
    cpu_small = torch.from_numpy(decode_small(info.path))
    assert float((small.int() - cpu_small.int()).abs().float().mean()) <= 2.0
    shifted, _ = nvdec.Nv12Converter(h, w, "cpu")(torch.roll(nv12, 1, dims=0))
    assert float((shifted.int() - cpu_small.int()).abs().float().mean()) > 2  # other frames do not pass
