"""Stage 1: what a media file is, read with ffprobe (through ffmpeg-python)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import ffmpeg

from cogvlm_media.media.ffmpeg_tools import require


class ProbeError(ValueError):
    """The file is not a video cogvlm-media can analyse. The message is the reason."""


@dataclass(frozen=True)
class MediaInfo:
    path: str
    size: int
    duration: float  # seconds of the video stream
    fps_num: int
    fps_den: int
    frame_count: int
    width: int
    height: int
    rotation: int  # degrees clockwise the picture must be turned for display (0, 90, 180, 270)
    start_timecode: str | None  # the file's timecode tag, e.g. "01:00:00:00" or "00:59:59;28"
    has_audio: bool
    variable_frame_rate: bool
    video_codec: str
    container: str
    start_time: float  # presentation time of the first video frame in the container
    audio_start_time: float | None = None  # presentation time of the first audio stream's first sample
    # the first audio stream (None without sound): channels, samples per second, bits per sample (only
    # where the codec has one, e.g. PCM or FLAC; AAC and other lossy codecs have none)
    audio_channels: int | None = None
    audio_sample_rate: int | None = None
    audio_bits: int | None = None
    # the video's sample (pixel) aspect ratio, e.g. 16:15 for 720x576 shown at 4:3; 1:1 where the file
    # states none (ffmpeg and the NLEs show such a picture with square pixels)
    pixel_aspect_num: int | None = None
    pixel_aspect_den: int | None = None

    @property
    def fps(self) -> Fraction:
        return Fraction(self.fps_num, self.fps_den)

    @property
    def drop_frame(self) -> bool:
        return bool(self.start_timecode and ";" in self.start_timecode)

    @property
    def audio_offset(self) -> float:
        """Seconds from the first video frame to the first decoded audio sample.

        ffmpeg decodes the audio stream from its own first sample, so times measured on the sound count
        from there; stored times count from the first video frame. The two differ when a camera, a
        recorder or an edit starts the sound late (an empty edit in MP4/MOV), or the picture late."""
        if self.audio_start_time is None:
            return 0.0
        return self.audio_start_time - self.start_time

    def as_dict(self) -> dict:
        return asdict(self)


def _seconds(text: str | None) -> float | None:
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):  # absent or "N/A"
        return None


def _rate(text: str | None) -> Fraction | None:
    if not text or text in ("0/0", "0"):
        return None
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def _count(value) -> int | None:
    """A positive whole number from ffprobe (an int, or text such as "48000"); None for 0, "N/A" or absent."""
    text = str(value if value is not None else "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def _pixel_aspect(video: dict) -> tuple[int, int]:
    num, _, den = str(video.get("sample_aspect_ratio") or "").partition(":")
    n, d = _count(num), _count(den)
    if n is None or d is None:  # absent, "N/A" or "0:1" (unknown): square
        return 1, 1
    ratio = Fraction(n, d)
    return ratio.numerator, ratio.denominator


def _audio_details(audio: dict | None) -> dict:
    if audio is None:
        return {}
    bits = _count(audio.get("bits_per_raw_sample")) or _count(audio.get("bits_per_sample"))
    return dict(audio_channels=_count(audio.get("channels")), audio_sample_rate=_count(audio.get("sample_rate")),
                audio_bits=bits)


def _rotation(stream: dict) -> int:
    angle = 0.0
    for side in stream.get("side_data_list", []) or []:
        if "rotation" in side:
            # ffprobe reports the display matrix rotation counter-clockwise
            angle = -float(side["rotation"])
    if not angle and "rotate" in (stream.get("tags") or {}):
        angle = float(stream["tags"]["rotate"])
    return int(round(angle)) % 360


def _timecode(data: dict, video: dict) -> str | None:
    candidates = [video.get("tags") or {}, (data.get("format") or {}).get("tags") or {}]
    candidates += [s.get("tags") or {} for s in data.get("streams", []) if s.get("codec_tag_string") == "tmcd"]
    for tags in candidates:
        for key, value in tags.items():
            if key.lower() == "timecode" and value:
                return str(value)
    return None


def _frame_count(path: str, video: dict, duration: float, fps: Fraction) -> int:
    if str(video.get("nb_frames", "")).isdigit() and int(video["nb_frames"]) > 0:
        return int(video["nb_frames"])
    # Matroska/WebM and raw streams carry no frame count: count packets (no decoding needed).
    try:
        counted = ffmpeg.probe(path, cmd=require("ffprobe"), select_streams="v:0", count_packets=None,
                               show_entries="stream=nb_read_packets")
        packets = counted["streams"][0].get("nb_read_packets")
        if packets and str(packets).isdigit():
            return int(packets)
    except (ffmpeg.Error, KeyError, IndexError):
        pass
    return int(round(duration * fps))


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Probe ``path``; raise :class:`ProbeError` with a one-line reason when it cannot be analysed."""
    p = Path(path)
    if not p.exists():
        raise ProbeError("file not found")
    if p.is_dir():
        raise ProbeError("is a directory")
    size = p.stat().st_size
    if size == 0:
        raise ProbeError("empty file (0 bytes)")
    try:
        data = ffmpeg.probe(str(p), cmd=require("ffprobe"))
    except ffmpeg.Error as exc:
        lines = [ln.strip() for ln in (exc.stderr or b"").decode("utf-8", "replace").splitlines() if ln.strip()]
        detail = lines[-1].split(": ", 1)[-1] if lines else "unreadable"
        raise ProbeError(f"not a readable media file ({detail})") from None
    streams = data.get("streams", [])
    videos = [s for s in streams if s.get("codec_type") == "video"
              and not (s.get("disposition") or {}).get("attached_pic")]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    has_audio = bool(audios)
    if not videos:
        raise ProbeError("no video stream (audio-only file)" if has_audio else "no video stream")
    video = videos[0]
    fmt = data.get("format") or {}

    r_rate, avg_rate = _rate(video.get("r_frame_rate")), _rate(video.get("avg_frame_rate"))
    fps = r_rate or avg_rate
    if fps is None:
        raise ProbeError("video stream has no frame rate")
    # Containers often report an average that differs slightly by rounding; only a real gap means VFR.
    vfr = bool(r_rate and avg_rate and abs(float(r_rate - avg_rate)) / float(r_rate) > 0.01)
    if vfr and avg_rate:
        fps = avg_rate.limit_denominator(1001)

    duration = _seconds(video.get("duration") or fmt.get("duration"))
    if duration is None:
        raise ProbeError("video stream has no duration (truncated file?)")
    if duration <= 0:
        raise ProbeError("video stream has zero duration")
    frame_count = _frame_count(str(p), video, duration, fps)
    if frame_count <= 0:
        raise ProbeError("video stream has no frames")

    sar_num, sar_den = _pixel_aspect(video)
    return MediaInfo(
        path=str(p),
        size=size,
        duration=duration,
        fps_num=fps.numerator,
        fps_den=fps.denominator,
        frame_count=frame_count,
        width=int(video.get("width") or 0),
        height=int(video.get("height") or 0),
        rotation=_rotation(video),
        start_timecode=_timecode(data, video),
        has_audio=has_audio,
        variable_frame_rate=vfr,
        video_codec=str(video.get("codec_name", "")),
        container=str(fmt.get("format_name", "")),
        start_time=_seconds(video.get("start_time")) or 0.0,
        audio_start_time=_seconds(audios[0].get("start_time")) if audios else None,
        pixel_aspect_num=sar_num,
        pixel_aspect_den=sar_den,
        **_audio_details(audios[0] if audios else None),
    )
