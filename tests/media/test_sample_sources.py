"""Test media is the same on every render: each shot source of media/sample.py gives identical pixels twice
(ffmpeg's gradients ignored its seed for its points and colours, so a dissolve's frames changed from one
test session to the next and a shot test that compares two decoders on them passed or failed by chance)."""

from __future__ import annotations

import hashlib
import subprocess

import pytest

from cogvlm_media.media.sample import SOURCES, Segment, _source_chain


def pixels(source: str) -> str:
    chain = _source_chain(Segment(source, 6), 64, 48, "25")
    raw = subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", chain, "-frames:v", "6", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    assert len(raw) == 6 * 64 * 48 * 3
    return hashlib.sha256(raw).hexdigest()


@pytest.mark.parametrize("source", sorted(SOURCES) + ["colour:0xc03020"])
def test_every_source_renders_the_same_pixels_twice(source):
    assert pixels(source) == pixels(source)
