"""The decord FrameSource reads exactly what ``read_frames`` reads (same indices, same pixels), with one
reader kept open for all of a file's windows."""

from __future__ import annotations

import numpy as np
import pytest

from cogvlm_media.analysis.windows import plan_windows
from cogvlm_media.media.frame_source import DecordSource, UnknownFrameSource, get_frame_source
from cogvlm_media.media.frames import FrameReadError, decoded_frame_times, read_frames
from cogvlm_media.media.probe import probe


def test_decord_source_equals_read_frames_window_by_window(cut_clip):
    info = probe(cut_clip.path)
    times = decoded_frame_times(cut_clip.path, info.frame_count)
    windows = plan_windows([], times, info.duration, 6.0)
    assert len(windows) >= 3
    reader = get_frame_source("decord").open(cut_clip.path)
    try:
        for w in windows:  # in window order through one open reader, as the vision analyser reads them
            got = reader.read(list(w.frame_indices))
            want = read_frames(cut_clip.path, w.frame_indices)
            assert got.dtype == np.uint8 and got.shape == want.shape == (len(w.frame_indices), 240, 320, 3)
            assert np.array_equal(got, want)
        # out of order and repeated indices too
        picks = [windows[-1].frame_indices[0], 0, windows[1].frame_indices[2], 0]
        assert np.array_equal(reader.read(picks), read_frames(cut_clip.path, picks))
        assert not np.array_equal(reader.read([0]), reader.read([cut_clip.shot_starts[1]]))
        with pytest.raises(FrameReadError, match="outside"):
            reader.read([info.frame_count + 5])
    finally:
        reader.close()


def test_unknown_source_is_one_line():
    assert isinstance(get_frame_source(""), DecordSource)
    with pytest.raises(UnknownFrameSource, match="unknown frame source 'nvdecx'"):
        get_frame_source("nvdecx")
