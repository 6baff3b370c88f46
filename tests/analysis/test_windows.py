"""Window plan: ≤ 24 s, starts on shot boundaries, reference 'chat' sampling, ordinal → absolute time."""

from __future__ import annotations

import subprocess
from fractions import Fraction

import numpy as np
import pytest

from cogvlm_media.records import Shot
from cogvlm_media.analysis.windows import plan_windows, sample_ordinals
from cogvlm_media.media.frames import decoded_frame_times


def reference_sampler(timestamps: list[float]) -> list[int]:
    """The sampling rule written out literally: for s in 0..round(t_last), the closest frame, ≤ 24."""
    picks = []
    for second in range(round(timestamps[-1]) + 1):
        closest = min(timestamps, key=lambda x: abs(x - second))
        picks.append(timestamps.index(closest))
        if len(picks) == 24:
            break
    return picks


def shots_at(starts: list[int], total: int, rate: Fraction) -> list[Shot]:
    bounds = starts + [total]
    return [Shot(i, a, b - 1, float(a / rate), float(b / rate), "start" if i == 0 else "cut")
            for i, (a, b) in enumerate(zip(bounds, bounds[1:]))]


@pytest.mark.parametrize("rate", [Fraction(24000, 1001), Fraction(25), Fraction(30000, 1001), Fraction(60000, 1001)])
def test_plan_properties(rate):
    total = int(115 * rate)  # 115 s
    # shots: 5 s, 12 s, 3 s, 61 s (must be split), 20 s, rest
    lengths = [5, 12, 3, 61, 20]
    starts = [0]
    for seconds in lengths:
        starts.append(starts[-1] + int(seconds * rate))
    times = np.arange(total) / float(rate)
    shots = shots_at(starts, total, rate)
    windows = plan_windows(shots, times, total / float(rate))

    assert windows[0].first_frame == 0 and windows[-1].last_frame == total - 1
    for a, b in zip(windows, windows[1:]):
        assert b.first_frame == a.last_frame + 1  # contiguous, no gaps or overlaps
        assert b.start == pytest.approx(a.end)
    boundary_frames = set(starts)
    long_shot = shots[3]
    for w in windows:
        assert w.duration <= 24.0 + 1e-9
        inside_long = long_shot.start_frame < w.first_frame <= long_shot.end_frame
        assert w.first_frame in boundary_frames or inside_long, "window must start on a cut unless splitting"
        assert 1 <= len(w.frame_indices) <= 24
        own = list(times[w.first_frame:w.last_frame + 1] - times[w.first_frame])
        expected = [w.first_frame + p for p in reference_sampler(own)]
        assert list(w.frame_indices) == expected
        for i, (idx, t) in enumerate(zip(w.frame_indices, w.frame_times)):
            assert w.first_frame <= idx <= w.last_frame
            assert t == pytest.approx(times[idx])
            assert w.ordinal_time(i) == pytest.approx(times[idx])
            if w.start + i <= times[w.last_frame]:  # ~1 frame per second, on the frame nearest each second
                assert abs(t - (w.start + i)) <= 0.5 / float(rate) + 1e-9
            else:  # round(t_last) may lie past the last frame: the last frame stands in for it
                assert idx == w.last_frame
    # the 61 s shot is split into 3 equal parts, nothing else splits
    parts = [w for w in windows if w.shot_indices == (3,)]
    assert len(parts) == 3
    assert max(p.duration for p in parts) - min(p.duration for p in parts) < 1.0
    # the first three shots (20 s) share one window
    assert windows[0].shot_indices == (0, 1, 2)


def test_reference_examples():
    # 10.6 s at 25 fps: t_last = 10.56 → 12 frames, the last one being the final frame
    t = np.arange(265) / 25
    picks = sample_ordinals(t)
    assert len(picks) == 12 and picks[-1] == 264 and picks[:3] == [0, 25, 50]
    # more than 24 s of frames: stops after 24
    assert len(sample_ordinals(np.arange(40 * 25) / 25)) == 24
    # half-way ties go to the earlier frame, as list.index of the first minimum does
    assert sample_ordinals(np.array([0.0, 0.5, 1.5, 2.0])) == reference_sampler([0.0, 0.5, 1.5, 2.0])


def test_ordinal_time_fractional_and_clamped():
    times = np.arange(250) / 25
    w = plan_windows([Shot(0, 0, 249, 0.0, 10.0, "start")], times + 30.0, 40.0)[0]
    assert w.ordinal_time(0) == pytest.approx(30.0)
    assert w.ordinal_time(2.5) == pytest.approx(32.5)
    assert w.ordinal_time(-3) == pytest.approx(30.0)
    assert w.ordinal_time(50) <= w.end


def test_window_frames_match_the_window_cut_out_as_its_own_file(cut_clip, tmp_path):
    """Cut each window out as its own file; the reference sampler on that file picks the same frames."""
    path = str(cut_clip.path)
    times = decoded_frame_times(path, expected_frames=cut_clip.frame_count)
    rate = cut_clip.fps
    starts = list(cut_clip.shot_starts)
    windows = plan_windows(shots_at(starts, cut_clip.frame_count, rate), times, cut_clip.duration, max_seconds=6.0)
    assert len(windows) >= 3
    for w in windows:
        out = tmp_path / f"w{w.index}.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", path, "-vf",
                        f"trim=start_frame={w.first_frame}:end_frame={w.last_frame + 1},setpts=PTS-STARTPTS",
                        "-an", "-c:v", "libx264", "-preset", "ultrafast", str(out)], check=True)
        own = decoded_frame_times(out)
        assert len(own) == w.last_frame - w.first_frame + 1
        picked = reference_sampler([float(x) for x in own])
        assert [w.first_frame + p for p in picked] == list(w.frame_indices)
