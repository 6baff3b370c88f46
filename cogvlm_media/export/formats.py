"""The export formats, one registry. Each format is one :class:`Format` record: its name, file
suffixes, help text, what it writes (a whole timeline, or chapters of one asset), and, for the formats
that round-trip, how a file in it is recognised and read back. The CLI help (``export``,
``import-markers``), the server's ``/exports`` routes and the tests all read this registry.

Adding a format: write its module (a writer ``Plan -> str``, maybe a reader) and return its record
from a ``register_export_formats`` hook implementation: the built-ins below are one, a plugin's are
another (docs/plugins.md). The registry is assembled by :func:`_assemble`, on each read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cogvlm_media.export import adapters, chapters, lists, markers_import, resolve_edl, subtitles
from cogvlm_media.export.collisions import resolve_plan
from cogvlm_media.export.markers_import import ImportFailed
from cogvlm_media.export.timeline import ExportError, Placement, Plan, placement
from cogvlm_media.hookspecs import hookimpl
from cogvlm_media.media.timecode import is_smpte_rate
from cogvlm_media.store.marker_edits import ImportSet
from cogvlm_media.store.models import Asset

# reader(text, asset, clip, start timecode label) -> the markers the file holds
Reader = Callable[[str, Asset, Placement, str], ImportSet]
# detector(path, text) -> how sure: 0 not this format, 1 a text pattern, 2 its XML root, 3 its suffix or schema
Detector = Callable[[Path, str], int]


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str  # of the files written
    description: str  # the help text
    write: Callable[[Plan], str] | None = None  # a whole timeline
    chapter_writer: Callable[[Placement], tuple[str, list[str]]] | None = None  # one asset: (text, notes)
    read: Reader | None = None  # formats that round-trip
    detect: Detector | None = None
    other_suffixes: tuple[str, ...] = ()  # also taken for this format's files
    media_type: str = "text/plain"
    resolve_imports: bool = False  # DaVinci Resolve imports it: markers first start on distinct frames
    carries_ids: bool = False  # a marker missing from an imported file then counts as deleted
    smpte_only: bool = False  # the format (or its OpenTimelineIO adapter) knows only SMPTE frame rates

    @property
    def suffixes(self) -> tuple[str, ...]:
        return (self.suffix, *self.other_suffixes)

    @property
    def timeline(self) -> bool:
        """Whole timelines (several assets); otherwise one file per asset."""
        return self.write is not None

    @property
    def round_trips(self) -> bool:
        return self.read is not None


def _chapters(fn) -> Callable[[Placement], tuple[str, list[str]]]:
    return lambda clip: (fn(chapters.chapters_for(clip)), [])


def _youtube(clip: Placement) -> tuple[str, list[str]]:
    items, notes = chapters.youtube_chapters(chapters.chapters_for(clip))
    return chapters.youtube(items), notes


@cache
def builtin_formats() -> tuple[Format, ...]:
    """The formats cogvlm-media ships, in the order help texts and ``/exports`` list them (made once)."""
    read = markers_import
    return (
        Format("otio", ".otio", "OpenTimelineIO timeline", adapters.write_otio, read=read.read_otio,
               detect=read.detect_otio, media_type="application/json", resolve_imports=True, carries_ids=True),
        Format("edl-resolve", ".edl", "DaVinci Resolve timeline-marker EDL", resolve_edl.write,
               read=read.read_resolve_edl, detect=read.detect_resolve_edl, resolve_imports=True,
               carries_ids=True),
        Format("edl", ".edl", "CMX 3600 EDL with * LOC: locators (Avid)", adapters.write_edl,
               read=read.read_cmx_edl, detect=read.detect_cmx_edl, smpte_only=True),
        Format("fcp7xml", ".xml", "FCP 7 XML (xmeml) for Premiere Pro", adapters.write_fcp7xml,
               read=read.read_fcp7xml, detect=read.detect_fcp7xml, media_type="application/xml",
               resolve_imports=True, carries_ids=True, smpte_only=True),
        Format("fcpxml", ".fcpxml", "FCPXML for Final Cut Pro and Resolve", adapters.write_fcpxml,
               read=read.read_fcpxml, detect=read.detect_fcpxml, media_type="application/xml",
               resolve_imports=True, carries_ids=True),
        Format("ffmetadata", ".ffmetadata.txt", "FFmpeg metadata chapters",
               chapter_writer=_chapters(chapters.ffmetadata)),
        Format("vtt", ".chapters.vtt", "WebVTT chapters", chapter_writer=_chapters(chapters.webvtt),
               media_type="text/vtt"),
        Format("youtube", ".youtube.txt", "YouTube description chapter lines", chapter_writer=_youtube),
        Format("mkvxml", ".chapters.xml", "Matroska chapters XML (mkvmerge --chapters)",
               chapter_writer=_chapters(chapters.mkvxml), media_type="application/xml"),
        Format("srt", ".srt", "SubRip subtitles from the transcript", chapter_writer=subtitles.srt,
               media_type="application/x-subrip"),
        Format("vtt-captions", ".captions.vtt", "WebVTT captions from the transcript (<v> speaker voice tags)",
               chapter_writer=subtitles.webvtt, media_type="text/vtt"),
        Format("json", ".markers.json", "JSON marker list", lists.to_json, read=read.read_json,
               detect=read.detect_json, other_suffixes=(".json",), media_type="application/json", carries_ids=True),
        Format("csv", ".markers.csv", "CSV marker list", lists.to_csv, media_type="text/csv"),
    )


@hookimpl
def register_export_formats() -> list[Format]:
    return list(builtin_formats())


def _assemble() -> dict[str, Format]:
    """The registry, name -> record, in order: the built-ins, then the plugins' in registration order; a later
    record of a name replaces the earlier one in place."""
    from cogvlm_media.plugin_manager import get_plugin_manager

    registry: dict[str, Format] = {}
    for batch in reversed(get_plugin_manager().hook.register_export_formats()):  # pluggy calls the last first
        registry.update((fmt.name, fmt) for fmt in batch)
    return registry


def all_formats() -> list[Format]:
    return list(_assemble().values())


def get_format(name: str) -> Format | None:
    return _assemble().get(name)


def format_names(*, readable: bool = False) -> list[str]:
    """Every format's name, or (``readable``) those ``import-markers`` reads."""
    return [f.name for f in all_formats() if f.round_trips or not readable]


def detect(path: Path, text: str | None = None) -> Format:
    """The readable format of a file: the surest detector's answer, the registry's order among equals."""
    path = Path(path)
    if text is None:
        text = path.read_text(encoding="utf-8-sig")
    scored = [(f.detect(path, text), -i, f) for i, f in enumerate(all_formats()) if f.round_trips and f.detect]
    best = max(scored, key=lambda s: s[:2], default=None)
    if best is None or best[0] <= 0:
        raise ImportFailed(f"{path}: not a marker file cogvlm-media can read ({', '.join(format_names(readable=True))})")
    return best[2]


def render(fmt: Format, p: Plan, collisions: str = "nudge") -> list[tuple[int | None, str, list[str]]]:
    """[(asset id or None for a whole-timeline file, text, notes)]."""
    if fmt.smpte_only and not is_smpte_rate(p.rate):
        raise ExportError(f"{fmt.name} needs a SMPTE frame rate (23.976, 24, 25, 29.97, 30, 48, 50, 59.94, 60); "
                          f"this timeline runs at {float(p.rate):g} fps: export otio, fcpxml, edl-resolve, json or csv")
    if fmt.resolve_imports:
        p = resolve_plan(p, collisions)
    if fmt.write is not None:
        return [(None, fmt.write(p), list(p.notes))]
    return [(c.asset_id, *fmt.chapter_writer(c)) for c in p.clips]


def read_markers(path: Path, asset: Asset, *, fmt: str | None = None, start_tc: str | None = None,
                 default_start_tc: str = "01:00:00:00") -> ImportSet:
    """The markers of an NLE file for ``asset``, in the format given or detected; ImportFailed otherwise."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFailed(f"{path}: cannot read ({exc.__class__.__name__}: {exc})") from None
    spec = get_format(fmt) if fmt else detect(Path(path), text)
    if spec is None or not spec.round_trips:
        raise ImportFailed(f"unknown import format {fmt!r} (choose from {', '.join(format_names(readable=True))})")
    clip = placement(asset, ())
    try:
        return spec.read(text, asset, clip, start_tc or asset.start_timecode or default_start_tc)
    except ImportFailed:
        raise
    except Exception as exc:  # adapters raise many types on malformed input
        first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:200]
        raise ImportFailed(f"{path}: not a readable {spec.name} file ({first})") from None
