"""The export formats, one registry: name → suffix, what it writes, whether DaVinci Resolve imports it
(then markers are made to start on distinct frames first) and whether it carries marker ids (then a
marker missing from an imported file counts as deleted).

Formats come from the ``register_export_formats`` hook: the built-ins below, then any plugin's.
``FORMATS`` is read afresh from the plugins on each access."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cogvlm_media.export import adapters, chapters, lists, resolve_edl
from cogvlm_media.export.collisions import resolve_plan
from cogvlm_media.export.timeline import ExportError, Placement, Plan
from cogvlm_media.hookspecs import hookimpl
from cogvlm_media.media.timecode import is_smpte_rate


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    description: str
    write: Callable[[Plan], str] | None = None  # whole timeline
    chapter_writer: Callable[[Placement], tuple[str, list[str]]] | None = None  # one asset
    resolve_imports: bool = False
    carries_ids: bool = False
    smpte_only: bool = False  # the format (or its OpenTimelineIO adapter) knows only SMPTE frame rates


def _chapters(fn) -> Callable[[Placement], tuple[str, list[str]]]:
    return lambda clip: (fn(chapters.chapters_for(clip)), [])


def _youtube(clip: Placement) -> tuple[str, list[str]]:
    items, notes = chapters.youtube_chapters(chapters.chapters_for(clip))
    return chapters.youtube(items), notes


BUILTIN_FORMATS: tuple[Format, ...] = (
    Format("otio", ".otio", "OpenTimelineIO timeline", adapters.write_otio, resolve_imports=True, carries_ids=True),
    Format("edl-resolve", ".edl", "DaVinci Resolve timeline-marker EDL", resolve_edl.write,
           resolve_imports=True, carries_ids=True),
    Format("edl", ".edl", "CMX 3600 EDL with * LOC: locators (Avid)", adapters.write_edl, smpte_only=True),
    Format("fcp7xml", ".xml", "FCP 7 XML (xmeml) for Premiere Pro", adapters.write_fcp7xml,
           resolve_imports=True, carries_ids=True, smpte_only=True),
    Format("fcpxml", ".fcpxml", "FCPXML for Final Cut Pro and Resolve", adapters.write_fcpxml,
           resolve_imports=True, carries_ids=True),
    Format("ffmetadata", ".ffmetadata.txt", "FFmpeg metadata chapters", chapter_writer=_chapters(chapters.ffmetadata)),
    Format("vtt", ".chapters.vtt", "WebVTT chapters", chapter_writer=_chapters(chapters.webvtt)),
    Format("youtube", ".youtube.txt", "YouTube description chapter lines", chapter_writer=_youtube),
    Format("mkvxml", ".chapters.xml", "Matroska chapters XML (mkvmerge --chapters)",
           chapter_writer=_chapters(chapters.mkvxml)),
    Format("json", ".markers.json", "JSON marker list", lists.to_json, carries_ids=True),
    Format("csv", ".markers.csv", "CSV marker list", lists.to_csv),
)


@hookimpl
def register_export_formats() -> list[Format]:
    return list(BUILTIN_FORMATS)


def registered_formats() -> dict[str, Format]:
    """Every registered format by name, built-ins first; a later plugin's format replaces one of the same name."""
    from cogvlm_media.plugin_manager import get_plugin_manager

    found: dict[str, Format] = {}
    for batch in reversed(get_plugin_manager().hook.register_export_formats()):
        found.update((f.name, f) for f in batch)
    return found


def __getattr__(name: str):
    if name == "FORMATS":  # FORMATS: dict[str, Format]
        return registered_formats()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
