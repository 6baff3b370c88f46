"""probe() on rendered clips: exact rates, counts, geometry, rotation, timecode, audio, VFR, bad input."""

from __future__ import annotations

import subprocess

import mediagen
import numpy as np
import pytest

from cogvlm_media.media.probe import ProbeError, probe


@pytest.mark.parametrize("fps, num, den", [("24000/1001", 24000, 1001), ("25", 25, 1), ("30000/1001", 30000, 1001)])
def test_exact_rational_rate_and_frame_count(media_dir, fps, num, den):
    clip = mediagen.silent_clip(media_dir / f"rate_{num}_{den}.mp4", fps=fps, frames=37, size="160x120")
    info = probe(clip.path)
    assert (info.fps_num, info.fps_den) == (num, den)
    assert info.frame_count == 37
    assert (info.width, info.height) == (160, 120)
    assert info.duration == pytest.approx(37 * den / num, abs=0.002)
    assert info.variable_frame_rate is False
    assert info.rotation == 0 and info.start_timecode is None


def test_clip_geometry_and_audio(cut_clip, tone_clip):
    info = probe(cut_clip.path)
    assert (info.width, info.height, info.frame_count) == (320, 240, cut_clip.frame_count)
    assert info.has_audio is False and info.video_codec == "h264"
    assert probe(tone_clip.path).has_audio is True


def test_audio_channels_rate_bits_and_pixel_aspect(media_dir, cut_clip, tone_clip):
    """The first audio stream's channels, sample rate and bit depth (PCM carries one, AAC none), and the
    video's sample (pixel) aspect ratio; a file without sound has no audio details."""
    stereo = mediagen.tone_clip(media_dir / "stereo_s24.mov", frames=25, size="720x576", channels=2,
                                extra_args=("-c:a", "pcm_s24le", "-ar", "44100", "-aspect", "4:3"))
    info = probe(stereo.path)
    assert (info.audio_channels, info.audio_sample_rate, info.audio_bits) == (2, 44100, 24)
    assert (info.pixel_aspect_num, info.pixel_aspect_den) == (16, 15)  # 720x576 shown at 4:3
    mono = probe(tone_clip.path)  # 48 kHz mono AAC
    assert (mono.audio_channels, mono.audio_sample_rate, mono.audio_bits) == (1, 48000, None)
    assert (mono.pixel_aspect_num, mono.pixel_aspect_den) == (1, 1)
    silent = probe(cut_clip.path)
    assert (silent.audio_channels, silent.audio_sample_rate, silent.audio_bits) == (None, None, None)


def _first_frame(path, autorotate: bool) -> np.ndarray:
    cmd = ["ffmpeg", "-v", "error"] + ([] if autorotate else ["-noautorotate"])
    cmd += ["-i", str(path), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"]
    out = subprocess.run(cmd, capture_output=True, check=True).stdout
    return np.frombuffer(out, np.uint8)


def test_rotation_matches_how_ffmpeg_displays_it(media_dir):
    clip = mediagen.rotated_clip(media_dir / "rotated.mp4")
    info = probe(clip.path)
    raw = _first_frame(clip.path, False).reshape(240, 320)
    shown = _first_frame(clip.path, True).reshape(320, 240)
    # which clockwise quarter turn of the stored picture gives what ffmpeg displays?
    turns = [k for k in (1, 3) if np.abs(np.rot90(raw, -k).astype(int) - shown).mean() < 2]
    assert len(turns) == 1
    assert info.rotation == 90 * turns[0]
    assert (info.width, info.height) == (320, 240)  # stored size; rotation says how to show it


def test_start_timecode_tag(media_dir):
    clip = mediagen.timecode_clip(media_dir / "timecode.mp4", "01:00:00:00")
    assert probe(clip.path).start_timecode == "01:00:00:00"
    ndf = mediagen.timecode_clip(media_dir / "timecode_df.mov", "00:59:59;28", fps="30000/1001")
    info = probe(ndf.path)
    assert info.start_timecode == "00:59:59;28" and info.drop_frame


def test_variable_frame_rate_flagged(media_dir):
    info = probe(mediagen.vfr_clip(media_dir / "vfr.mp4"))
    assert info.variable_frame_rate is True
    assert info.frame_count == 80


@pytest.mark.parametrize("case, reason", [
    ("missing", "file not found"),
    ("zero_byte", "empty file"),
    ("random_bytes", "not a readable media file"),
    ("truncated", "not a readable media file"),
    ("audio_only", "audio-only"),
    ("directory", "is a directory"),
])
def test_bad_inputs_one_line_reason(bad_inputs, case, reason):
    with pytest.raises(ProbeError) as err:
        probe(bad_inputs[case])
    message = str(err.value)
    assert reason in message and "\n" not in message
    assert isinstance(err.value, ValueError)
