"""Marker lists for asset managers (JSON, carries ids: importable) and spreadsheets (CSV)."""

from __future__ import annotations

import csv
import io
import json

from cogvlm_media.export.timeline import Plan, premiere_colour_index, resolve_colour

LIST_FORMAT = "cogvlm-media-markers"
LIST_VERSION = 1
CSV_COLUMNS = ("asset_id", "file", "marker_id", "kind", "timecode", "frame", "seconds", "duration_frames",
               "duration_seconds", "name", "note", "colour", "resolve_colour", "premiere_colour_index",
               "source", "verified")


def rows(p: Plan) -> list[dict]:
    out = []
    for c in p.clips:
        for mk in c.marks:
            out.append({
                "asset_id": c.asset_id, "file": c.path, "marker_id": mk.id, "ids": list(mk.ids), "kind": mk.kind,
                "timecode": p.label(c.source_start + mk.frame, c.source_drop), "frame": mk.frame,
                "seconds": float(mk.frame / c.rate), "duration_frames": mk.frames,
                "duration_seconds": float(mk.frames / c.rate), "name": mk.name, "note": mk.note,
                "colour": mk.colour, "resolve_colour": resolve_colour(mk.colour),
                "premiere_colour_index": premiere_colour_index(mk.colour), "source": mk.source,
                "verified": mk.verified, "scene_id": mk.scene_id})
    return out


def to_json(p: Plan) -> str:
    """Timecodes here are the file's own (source) timecode; ``frame`` counts from the first frame.
    Each asset also lists its people's appearances and its speaker turns (seconds from the first frame;
    added within schema version 1: readers ignore keys they do not know, the importer among them)."""
    data = {"format": LIST_FORMAT, "schema_version": LIST_VERSION, "kinds": list(p.kinds),
            "assets": [{"id": c.asset_id, "file": c.path, "fps": {"num": c.rate.numerator, "den": c.rate.denominator},
                        "frame_count": c.frame_count, "start_frame": c.source_start,
                        "markers": [r for r in rows(p) if r["asset_id"] == c.asset_id],
                        "appearances": [dict(a) for a in c.appearances],
                        "speaker_turns": [dict(t) for t in c.speaker_turns]} for c in p.clips]}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def to_csv(p: Plan) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for r in rows(p):
        writer.writerow({**r, "verified": "yes" if r["verified"] else "no"})
    return "\ufeff" + buf.getvalue()  # BOM: spreadsheets then read the file as UTF-8
