"""A clip's media beyond its frames, as an NLE file describes it: the sound's channels, sample rate and bit
depth, and the pixel aspect ratio (FCP 7 XML's ``channelcount``, ``samplerate``, ``depth`` and
``pixelaspectratio``, with ``anamorphic``).

The archive keeps them from the probe since migration 0011. An asset stored before that holds NULL in
those columns. Its file is then probed again if it is still at its path; nothing is written back, because
an export only reads the archive. If the file is gone or unreadable, Premiere's own defaults stand in:
2 channels, 48000 Hz and square pixels. A codec with no bit depth (AAC and other lossy codecs) is given
Premiere's 16 bits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction

from cogvlm_media.export.timeline import Placement
from cogvlm_media.media.ffmpeg_tools import MissingFFmpeg
from cogvlm_media.media.probe import MediaInfo, ProbeError, probe

PREMIERE_CHANNELS = 2
PREMIERE_SAMPLE_RATE = 48000
PREMIERE_DEPTH = 16

# a non-square frame size -> FCP 7 XML's name for its pixels, and the pixel aspect ratio above which that
# frame is 16:9 anamorphic (None: the format has no anamorphic variant)
_NON_SQUARE: dict[tuple[int, int], tuple[str, Fraction | None]] = {
    (720, 480): ("NTSC-601", Fraction(1)),  # 10:11 (4:3) or 40:33 (16:9)
    (720, 486): ("NTSC-601", Fraction(1)),
    (704, 480): ("NTSC-601", Fraction(1)),
    (720, 576): ("PAL-601", Fraction(5, 4)),  # 16:15 or 12:11 (4:3), 64:45 or 16:11 (16:9)
    (704, 576): ("PAL-601", Fraction(5, 4)),
    (960, 720): ("HD-(960x720)", None),  # 4:3 pixels
    (1280, 1080): ("HD-(1280x1080)", None),  # 3:2 pixels
    (1440, 1080): ("HD-(1440x1080)", None),  # 4:3 pixels
}


@dataclass(frozen=True)
class MediaDetails:
    channels: int | None  # None: the file has no sound
    sample_rate: int
    depth: int
    pixel_aspect: Fraction


def _needs_probe(c: Placement) -> bool:
    return c.pixel_aspect is None or (c.has_audio and (c.audio_channels is None or c.audio_sample_rate is None))


def _probe_again(path: str) -> MediaInfo | None:
    if not os.path.isfile(path):
        return None
    try:
        return probe(path)
    except (ProbeError, MissingFFmpeg):
        return None


def media_details(c: Placement) -> MediaDetails:
    channels, rate, bits, aspect = c.audio_channels, c.audio_sample_rate, c.audio_bits, c.pixel_aspect
    if _needs_probe(c):  # stored before migration 0011: probe the file again, else Premiere's defaults
        info = _probe_again(c.path)
        if info is not None:
            channels, rate, bits = info.audio_channels, info.audio_sample_rate, info.audio_bits
            if info.pixel_aspect_num and info.pixel_aspect_den:
                aspect = Fraction(info.pixel_aspect_num, info.pixel_aspect_den)
    return MediaDetails(channels=(channels or PREMIERE_CHANNELS) if c.has_audio else None,
                        sample_rate=rate or PREMIERE_SAMPLE_RATE, depth=bits or PREMIERE_DEPTH,
                        pixel_aspect=aspect or Fraction(1))


def fcp_pixel_aspect(aspect: Fraction, width: int, height: int) -> tuple[str, bool]:
    """FCP 7 XML's ``pixelaspectratio`` and ``anamorphic`` for a frame. FCP 7 names only square pixels and
    the SD and HD formats' own; any other ratio has no name there and is written as square."""
    if aspect == 1 or (width, height) not in _NON_SQUARE:
        return "square", False
    name, wide_above = _NON_SQUARE[(width, height)]
    return name, wide_above is not None and aspect > wide_above
