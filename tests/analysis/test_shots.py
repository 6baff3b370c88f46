"""Shot detection on rendered clips with frame-exact ground truth (see mediagen.py)."""

from __future__ import annotations

from fractions import Fraction

import mediagen
import numpy as np
import pytest

from cogvlm_media.analysis import shots as shot_detection
from cogvlm_media.analysis.shots import ShotDetectionError, detect_shots, detect_shots_with_stats
from cogvlm_media.config import Settings
from cogvlm_media.media.decode import decode_small
from cogvlm_media.media.probe import probe


@pytest.fixture(scope="module")
def cut_result(cut_clip):
    media = probe(cut_clip.path)
    frames = decode_small(cut_clip.path, media.frame_count)
    shots, stats = detect_shots_with_stats(cut_clip.path, media, Settings(), frames=frames)
    return media, frames, shots, stats


def _contiguous(shots, n_frames, duration):
    assert shots[0].start_frame == 0 and shots[0].transition == "start" and shots[0].start == 0.0
    assert shots[-1].end_frame == n_frames - 1
    assert shots[-1].end == pytest.approx(duration, abs=1e-9)
    for k, (a, b) in enumerate(zip(shots, shots[1:])):
        assert a.index == k and b.index == k + 1
        assert b.start_frame == a.end_frame + 1
        assert a.end == b.start
        assert a.start < a.end


def test_cuts_within_one_frame(cut_clip, cut_result):
    _, _, shots, _ = cut_result
    found = [s.start_frame for s in shots[1:] if s.transition == "cut"]
    for truth in cut_clip.cuts:
        assert any(abs(f - truth) <= 1 for f in found), f"cut at frame {truth} missed: {found}"
    for f in found:
        assert any(abs(f - t) <= 1 for t in cut_clip.cuts), f"spurious cut at frame {f}"
    assert len(found) == len(cut_clip.cuts)


def test_dissolve_found_in_its_middle(cut_clip, cut_result):
    _, _, shots, _ = cut_result
    (first, last), = cut_clip.dissolves
    dissolves = [s for s in shots if s.transition == "dissolve"]
    assert len(dissolves) == 1
    d = dissolves[0]
    assert first <= d.start_frame <= last
    # documented: the boundary lies in the middle of the dissolve, not at its start
    assert abs(d.start_frame - (first + last) / 2) <= (last - first) / 4


def test_fast_pan_not_cut(cut_clip, cut_result):
    _, frames, shots, _ = cut_result
    (first, last), = cut_clip.pans
    # the pan really is fast: consecutive small frames differ a lot
    diffs = np.abs(np.diff(frames[first:last + 1].astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    assert diffs.min() > 10
    inside = [s.start_frame for s in shots if first + 1 < s.start_frame < last - 1]
    assert inside == []


def test_shots_cover_file_contiguously(cut_clip, cut_result):
    media, _, shots, _ = cut_result
    assert len(shots) == len(cut_clip.shot_starts)
    _contiguous(shots, cut_clip.frame_count, cut_clip.duration)
    for s in shots:
        assert s.start == pytest.approx(s.start_frame / 25, abs=1e-9)
        assert 0 < s.confidence <= 1


def test_gated_network_equals_full_network(cut_clip, cut_result):
    media, frames, shots, stats = cut_result
    full, full_stats = detect_shots_with_stats(cut_clip.path, media, Settings(), frames=frames, full=True)
    assert full == shots
    assert full_stats.windows_run == full_stats.windows_total
    mask = shot_detection.candidates(frames)
    wanted = shot_detection._windows_needed(mask)
    gated = shot_detection.predict(frames, wanted)
    reference = shot_detection.predict(frames, None)
    for j in wanted:
        sl = slice(j * shot_detection.STEP, (j + 1) * shot_detection.STEP)
        np.testing.assert_allclose(gated[0][sl], reference[0][sl], atol=1e-5)
        np.testing.assert_allclose(gated[1][sl], reference[1][sl], atol=1e-5)
    skipped = [j for j in range(stats.windows_total) if j not in wanted]
    for j in skipped:  # where the network was skipped, the full network finds nothing either
        assert reference[0][j * shot_detection.STEP:(j + 1) * shot_detection.STEP].max() < 0.5


def test_candidate_pass_skips_steady_footage(media_dir):
    """Steady shots (static bars, a noisy flat colour) need the network only around their cut."""
    clip = mediagen.render(media_dir / "steady.mp4",
                           [mediagen.Segment("smptebars", 250), mediagen.Segment("colour:0x808040", 250)],
                           size="160x120", keyint=50)
    media = probe(clip.path)
    shots, stats = detect_shots_with_stats(clip.path, media, Settings())
    assert [s.start_frame for s in shots] == [0, 250]
    assert stats.windows_total == 10
    assert stats.windows_run <= 3
    assert stats.network_share < 0.35


def test_ntsc_rate_times_are_exact(media_dir):
    segments = [mediagen.Segment("smptebars", 40), mediagen.Segment("testsrc2", 40)]
    clip = mediagen.render(media_dir / "ntsc.mp4", segments, fps="30000/1001", size="160x120")
    media = probe(clip.path)
    shots = detect_shots(clip.path, media, Settings())
    assert [s.start_frame for s in shots] == [0, 40]
    assert shots[1].start == pytest.approx(float(Fraction(40 * 1001, 30000)), abs=1e-9)
    assert shots[1].end == pytest.approx(float(Fraction(80 * 1001, 30000)), abs=1e-9)


def test_progress_reaches_total(silent_clip):
    media = probe(silent_clip.path)
    seen = []
    shots = detect_shots(silent_clip.path, media, Settings(), progress=lambda d, t: seen.append((d, t)))
    assert len(shots) == 1 and shots[0].end_frame == silent_clip.frame_count - 1
    assert seen and seen[-1][0] == seen[-1][1]
    assert all(d <= t for d, t in seen)


def test_wrong_frame_shape_is_a_clear_error(silent_clip):
    media = probe(silent_clip.path)
    with pytest.raises(ShotDetectionError, match="frames must be"):
        detect_shots(silent_clip.path, media, Settings(), frames=np.zeros((5, 10, 10, 3), np.uint8))
    assert issubclass(ShotDetectionError, ValueError)


def test_hard_cuts_into_noise_like_content_are_exact(media_dir):
    """Cuts into and out of fractals and Life: Life's first frame is dense random noise, a one-frame
    transient at the cut, which made TransNetV2 split the cut over two frames (both below the
    threshold: missed) or put it after the transient (one frame late)."""
    segments = [mediagen.Segment("testsrc2", 40), mediagen.Segment("sierpinski", 55),
                mediagen.Segment("life", 60), mediagen.Segment("mandelbrot", 55),
                mediagen.Segment("noise", 50), mediagen.Segment("cellauto", 45),
                mediagen.Segment("life", 50), mediagen.Segment("sierpinski", 40)]
    clip = mediagen.render(media_dir / "noise_cuts.mp4", segments, size="320x240", keyint=48)
    media = probe(clip.path)
    shots = detect_shots(clip.path, media, Settings())
    assert [s.start_frame for s in shots[1:]] == list(clip.cuts)
    assert all(s.transition == "cut" for s in shots[1:])
    _contiguous(shots, clip.frame_count, clip.duration)
