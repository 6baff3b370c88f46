"""The Resolve plugin's logic, with no Resolve import: rates and timecode, asset frame ↔ timeline frameId,
which markers go where (one marker per frame), what a second run must change, and what to send back.
Everything here works on plain values; ``host.py`` reads them from Resolve's objects.

Time model (DaVinci Resolve scripting README, Timeline / TimelineItem sections):
- ``Timeline.GetStartFrame()`` and ``TimelineItem.GetStart()`` are absolute frame numbers; a timeline
  marker's ``frameId`` counts from the timeline's start.
- ``TimelineItem.GetLeftOffset()`` is the clip's source in-point in timeline frames (the media before it);
  ``GetDuration()`` is the used length in timeline frames.
- So a marker at media frame ``f`` of an asset at rate ``ra`` on a timeline at rate ``rt`` goes to
  ``frameId = (GetStart() - GetStartFrame()) + round(f * rt / ra) - GetLeftOffset()``, and is skipped when
  it falls outside ``[0, GetDuration())`` of that use.

Runs on Python 3.6+ (Resolve's supported range) with the standard library only.
"""

from __future__ import absolute_import, division

import json
import uuid
from collections import namedtuple
from fractions import Fraction

KEY_PREFIX = "cogvlm-media:"
MAX_NUDGE = 12  # frames searched either side of an occupied frame

# timelineFrameRate strings → exact rates
_RATES = {
    "23.976": Fraction(24000, 1001), "23.98": Fraction(24000, 1001), "24": Fraction(24), "25": Fraction(25),
    "29.97": Fraction(30000, 1001), "30": Fraction(30), "47.952": Fraction(48000, 1001), "48": Fraction(48),
    "50": Fraction(50), "59.94": Fraction(60000, 1001), "60": Fraction(60), "119.88": Fraction(120000, 1001),
    "120": Fraction(120),
}

Use = namedtuple("Use", "key track name path record_start in_point duration")
"""One use of a clip: ``record_start`` absolute frame; ``in_point`` and ``duration`` in timeline frames."""
Wanted = namedtuple("Wanted", "frame_id color name note duration key mark_id use_key asset_id verified kind")
Change = namedtuple("Change", "action key frame_id wanted note")


class PluginError(Exception):
    """A message for the editor, one line."""


# --- rates and timecode ----------------------------------------------------------------------------------

def parse_rate(text, drop_setting=None):
    """(exact rate, drop-frame) from ``GetSetting("timelineFrameRate")`` and
    ``GetSetting("timelineDropFrameTimecode")`` ("1" or "0"). Accepts "29.97 DF" and "29.970" too."""
    raw = str(text or "").strip()
    drop = raw.upper().endswith("DF") or str(drop_setting or "0").strip() in ("1", "true", "True")
    number = raw.upper().replace("DF", "").replace("NDF", "").strip()
    try:
        value = Fraction(number)
    except (ValueError, ZeroDivisionError):
        raise PluginError("cannot read the timeline frame rate {!r}".format(text))
    for label, rate in _RATES.items():
        if abs(float(rate) - float(value)) < 0.0015:
            value = rate
            break
    nominal = int(round(float(value)))
    drop = drop and nominal in (30, 60) and value.denominator == 1001
    return value, drop


def timecode(frame, rate, drop=False):
    """Label of an absolute frame number: ``HH:MM:SS:FF``, or ``HH:MM:SS;FF`` counting drop-frame."""
    nominal = int(round(float(rate)))
    frame = int(frame)
    if drop:
        skip = 2 if nominal == 30 else 4
        per_10min = nominal * 600 - skip * 9
        per_min = nominal * 60 - skip
        tens, rest = divmod(frame, per_10min)
        if rest > skip:
            frame += skip * 9 * tens + skip * ((rest - skip) // per_min)
        else:
            frame += skip * 9 * tens
    ff = frame % nominal
    ss = (frame // nominal) % 60
    mm = (frame // (nominal * 60)) % 60
    hh = (frame // (nominal * 3600)) % 24  # timecode wraps at 24 h
    return "{:02d}:{:02d}:{:02d}{}{:02d}".format(hh, mm, ss, ";" if drop else ":", ff)


def _round(value):
    """Round half up on an exact Fraction."""
    return int((value + Fraction(1, 2)) // 1)


def asset_to_timeline(frames, asset_rate, timeline_rate):
    """Asset frames → timeline frames (the same number when the rates agree)."""
    if asset_rate == timeline_rate:
        return int(frames)
    return _round(Fraction(frames) * timeline_rate / asset_rate)


def timeline_to_asset(frames, asset_rate, timeline_rate):
    if asset_rate == timeline_rate:
        return int(frames)
    return _round(Fraction(frames) * asset_rate / timeline_rate)


def rate_of(asset):
    return Fraction(int(asset["fps_num"]), int(asset["fps_den"]))


# --- keys ------------------------------------------------------------------------------------------------

def new_key():
    return uuid.uuid4().hex[:16]


def custom_data(key, frame_id, duration):
    """What goes into a marker's customData: our key and where we put it (to tell an editor's move from
    a collision nudge on the next run)."""
    return KEY_PREFIX + json.dumps({"k": key, "f": int(frame_id), "d": int(duration)}, separators=(",", ":"))


def parse_custom_data(text):
    """(key, placed frameId, placed duration) or (None, None, None) for markers that are not ours."""
    text = str(text or "")
    if not text.startswith(KEY_PREFIX):
        return None, None, None
    try:
        data = json.loads(text[len(KEY_PREFIX):])
        return str(data["k"]), int(data["f"]), int(data["d"])
    except (ValueError, KeyError, TypeError):
        return None, None, None


# --- placement -------------------------------------------------------------------------------------------

def place(mark, use, asset, timeline_rate, timeline_start):
    """(frameId, duration in timeline frames) of an asset marker on one use of its clip, or None when the
    marker falls outside the used part of the clip. Durations are at least 1 (Resolve's smallest)."""
    ra = rate_of(asset)
    offset = asset_to_timeline(mark["frame"], ra, timeline_rate) - use.in_point
    if offset < 0 or offset >= use.duration:
        return None
    frame_id = use.record_start - timeline_start + offset
    frames = asset_to_timeline(mark.get("frames") or 0, ra, timeline_rate)
    duration = max(1, min(frames, use.duration - offset)) if frames else 1
    return frame_id, duration


def use_at(frame_id, uses, timeline_start, asset_of_use):
    """The topmost use (highest track) with a matched asset that covers a timeline frameId."""
    for use in sorted(uses, key=lambda u: -u.track):
        start = use.record_start - timeline_start
        if use.key in asset_of_use and start <= frame_id < start + use.duration:
            return use
    return None


def _free_frame(frame, taken, low, high):
    if frame not in taken:
        return frame
    for step in range(1, MAX_NUDGE + 1):
        for cand in (frame + step, frame - step):
            if low <= cand < high and cand not in taken:
                return cand
    return None


def resolve_collisions(wanted, taken, uses, timeline_start, label):
    """Give every wanted marker a frame of its own: Resolve keeps one marker per frame. Verified markers
    and scenes keep their frame first; the others move to the nearest free frame inside the same use
    (within MAX_NUDGE frames), else they are skipped. Returns (placed, notes)."""
    taken = set(taken)
    by_use = dict((u.key, u) for u in uses)
    placed, notes = [], []
    for w in sorted(wanted, key=lambda w: (w.frame_id, not w.verified, w.kind != "scene", w.mark_id)):
        use = by_use[w.use_key]
        low = use.record_start - timeline_start
        free = _free_frame(w.frame_id, taken, low, low + use.duration)
        if free is None:
            notes.append("skipped marker {!r} at {}: no free frame nearby (Resolve keeps one marker per frame)"
                         .format(w.name, label(w.frame_id)))
            continue
        if free != w.frame_id:
            notes.append("moved marker {!r} from {} to {} (Resolve keeps one marker per frame)"
                         .format(w.name, label(w.frame_id), label(free)))
            w = w._replace(frame_id=free, duration=max(1, w.duration - (free - w.frame_id)) if w.duration > 1 else 1)
        taken.add(free)
        placed.append(w)
    return placed, notes


# --- a pull: what to add, replace and remove -------------------------------------------------------------

def plan_pull(uses, asset_of_use, marks_of_asset, assets, links, existing, timeline_rate, timeline_start,
              drop=False):
    """Decide the changes that bring the server's markers onto the timeline.

    ``asset_of_use``: use key → asset id; ``marks_of_asset``: asset id → marks (``/nle/assets/{id}/marks``);
    ``assets``: asset id → asset brief; ``links``: rows of ``/nle/links``; ``existing``: the timeline's
    ``GetMarkers()`` (frameId → info). Returns (changes, new_links, notes) where changes are
    ``Change("add"|"replace"|"delete", key, frame_id, wanted, note)``.
    """
    def label(frame_id):
        return timecode(timeline_start + frame_id, timeline_rate, drop)

    ours = {}  # key -> (frameId, info)
    for frame, info in existing.items():
        key, _f, _d = parse_custom_data(info.get("customData"))
        if key:
            ours[key] = (int(frame), info)
    by_use_mark = {}
    for link in links:
        by_use_mark.setdefault((link["use_key"], link["live_marker_id"]), link)
    changes, notes, wanted, freed = [], [], [], set()
    live_ids = set()
    for use in uses:
        asset_id = asset_of_use.get(use.key)
        if asset_id is None:
            continue
        asset = assets[asset_id]
        for mark in marks_of_asset[asset_id]:
            spot = place(mark, use, asset, timeline_rate, timeline_start)
            if spot is None:
                continue  # outside the used part of the clip
            live_ids.add((use.key, mark["id"]))
            w = Wanted(spot[0], mark["resolve_color"], mark["name"], mark["note"], spot[1], None, mark["id"],
                       use.key, asset_id, bool(mark.get("verified")), mark.get("kind", ""))
            link = by_use_mark.get((use.key, mark["id"]))
            if link is None:
                wanted.append(w._replace(key=new_key()))
                continue
            present = ours.get(link["nle_key"])
            if present is None:
                notes.append("{!r} at {} was deleted on the timeline; not added again"
                             .format(mark["name"], label(spot[0])))
                continue
            if link["marker_id"] != link["live_marker_id"]:  # edited on the server since it was placed
                freed.add(present[0])
                changes.append(Change("delete", link["nle_key"], present[0], None, "updated from the archive"))
                wanted.append(w._replace(key=link["nle_key"]))
                continue
            frame_now, info = present
            _k, placed_frame, placed_dur = parse_custom_data(info.get("customData"))
            if (frame_now != placed_frame or int(info.get("duration") or 1) != placed_dur
                    or info.get("name") != mark["name"] or info.get("note", "") != mark["note"]
                    or info.get("color") != mark["resolve_color"]):
                notes.append("{!r} at {} was edited in Resolve: kept; send your edits to store it"
                             .format(info.get("name"), label(frame_now)))
    for link in links:  # deleted on the server (review page or import): remove from the timeline
        if link["live_marker_id"] is None and link["nle_key"] in ours:
            frame_now = ours[link["nle_key"]][0]
            freed.add(frame_now)
            changes.append(Change("delete", link["nle_key"], frame_now, None, "deleted in the archive"))
    taken = set(int(f) for f in existing) - freed
    placed, said = resolve_collisions(wanted, taken, uses, timeline_start, label)
    notes.extend(said)
    new_links = []
    for w in placed:
        replacing = any(c.action == "delete" and c.key == w.key for c in changes)
        changes.append(Change("replace" if replacing else "add", w.key, w.frame_id, w, ""))
        new_links.append({"nle_key": w.key, "marker_id": w.mark_id, "use_key": w.use_key})
    return changes, new_links, notes


# --- a push: what changed on the timeline ----------------------------------------------------------------

def otio_colour(resolve_name, config):
    """Resolve colour name → OTIO colour name through the server's one table."""
    name = str(resolve_name or "").strip()
    for otio_name, row in config["colours"].items():
        if row["resolve"].lower() == name.lower():
            return otio_name
    return config.get("resolve_extra", {}).get(name.capitalize())


def plan_push(existing, uses, asset_of_use, assets, marks_of_asset, links, config, timeline_rate, timeline_start):
    """Markers changed or added on the timeline → ``/nle/sync`` items, plus the customData to write back
    (frameId → customData) once the server has them, and notes. Unchanged markers are not sent."""
    by_key = dict((l["nle_key"], l) for l in links)
    by_use = dict((u.key, u) for u in uses)
    marks_by_id = {}
    for asset_id, marks in marks_of_asset.items():
        for mk in marks:
            marks_by_id[mk["id"]] = mk
    items, tags, notes = [], {}, []
    for frame, info in sorted(existing.items()):
        frame = int(frame)
        key, placed_frame, placed_dur = parse_custom_data(info.get("customData"))
        link = by_key.get(key) if key else None
        use = by_use.get(link["use_key"]) if link else None
        if use is None or asset_of_use.get(use.key) != (link or {}).get("asset_id"):
            use = use_at(frame, uses, timeline_start, asset_of_use)
        if use is None:
            if not key:
                notes.append("marker {!r} at frame {} is not over a clip from the archive; not sent"
                             .format(info.get("name"), frame))
            continue
        asset_id = asset_of_use[use.key]
        asset = assets[asset_id]
        ra = rate_of(asset)
        tl_offset = frame - (use.record_start - timeline_start) + use.in_point
        asset_frame = min(max(timeline_to_asset(tl_offset, ra, timeline_rate), 0), asset["frame_count"] - 1)
        duration = int(info.get("duration") or 1)
        live = marks_by_id.get(link["live_marker_id"]) if link else None
        if live is not None and live["frames"] == 0 and duration <= 1:
            frames = 0
        elif live is None and duration <= 1:
            frames = 0
        else:
            frames = min(timeline_to_asset(duration, ra, timeline_rate), asset["frame_count"] - asset_frame)
        if link is not None and live is None and link["live_marker_id"] is None:
            notes.append("{!r} was deleted in the archive; not sent".format(info.get("name")))
            continue
        colour = otio_colour(info.get("color"), config)
        name = (info.get("name") or "").strip() or "Marker"
        note = info.get("note") or ""
        if link is not None and live is not None:
            moved = frame != placed_frame or duration != placed_dur
            same = (not moved and name == live["name"] and note == live["note"]
                    and (colour is None or colour == live["colour"].upper()))
            if same:
                continue
            if not moved:  # only text or colour changed: keep the stored timing exactly
                asset_frame, frames = live["frame"], live["frames"]
        send_key = key or new_key()
        items.append({"nle_key": send_key, "use_key": use.key, "asset_id": asset_id, "frame": asset_frame,
                      "frames": max(0, frames), "name": name, "note": note, "colour": colour})
        tags[frame] = custom_data(send_key, frame, duration)
    return items, tags, notes


def present_keys(existing, links):
    """Our keys still on the timeline, sent as ``present`` so that markers deleted in Resolve are deleted
    in the archive too; ``(None, notes)`` when no linked marker is left on the timeline at all, since a
    timeline whose marker data did not come back cannot be told from one where everything was deleted:
    then nothing is deleted."""
    keys = set()
    for info in existing.values():
        key, _f, _d = parse_custom_data(info.get("customData"))
        if key:
            keys.add(key)
    linked = [l for l in links if l["live_marker_id"] is not None]
    if linked and not any(l["nle_key"] in keys for l in linked):
        return None, ["none of the archive's markers is on this timeline any more: nothing deleted in the "
                      "archive (delete them on the review page if that was meant)"]
    return sorted(keys), []


def deletions(present, links):
    """How many linked markers ``present`` leaves out (what the server will look at)."""
    if present is None:
        return 0
    keep = set(present)
    return sum(1 for l in links if l["live_marker_id"] is not None and l["nle_key"] not in keep)


__all__ = ["Use", "Wanted", "Change", "PluginError", "parse_rate", "timecode", "place", "plan_pull",
           "plan_push", "resolve_collisions", "custom_data", "parse_custom_data", "asset_to_timeline",
           "timeline_to_asset", "otio_colour", "present_keys", "deletions"]
