"""DaVinci Resolve keeps one marker per frame: a second marker starting on an occupied frame is dropped
at import. Before writing a format Resolve imports, every clip's markers are made to start on distinct
frames, either by nudging the later one to the nearest free frame (default) or by merging it into the
marker already there. Verified markers and scenes keep their frame; the others move.
"""

from __future__ import annotations

from dataclasses import replace

from cogvlm_media.export.timeline import Mark, Plan, with_marks

POLICIES = ("nudge", "merge")
MAX_NUDGE = 12  # frames searched either side before falling back to merging


def _merge(into: Mark, other: Mark) -> Mark:
    name = into.name if other.name.casefold() == into.name.casefold() else f"{into.name} / {other.name}"
    notes = [n for n in (into.note, other.note) if n]
    note = "\n".join(dict.fromkeys(notes))
    return replace(into, ids=into.ids + other.ids, name=name, note=note,
                   frames=max(into.frames, other.frames), verified=into.verified or other.verified)


def resolve(marks: list[Mark], frame_count: int, policy: str = "nudge", label=str) -> tuple[list[Mark], list[str]]:
    """Marks starting on distinct frames, and one message per change (``label`` formats a frame)."""
    if policy not in POLICIES:
        raise ValueError(f"unknown collision policy {policy!r}")
    order = sorted(marks, key=lambda k: (k.frame, not k.verified, k.kind != "scene", k.id or 0))
    taken: dict[int, Mark] = {}
    notes: list[str] = []
    last = max(frame_count - 1, 0)
    for mk in order:
        if mk.frame not in taken:
            taken[mk.frame] = mk
            continue
        free = None
        if policy == "nudge":
            for step in range(1, MAX_NUDGE + 1):
                for cand in (mk.frame + step, mk.frame - step):
                    if 0 <= cand <= last and cand not in taken:
                        free = cand
                        break
                if free is not None:
                    break
        occupant = taken[mk.frame]
        if free is None:
            taken[mk.frame] = _merge(occupant, mk)
            notes.append(f"merged marker {mk.name!r} into {occupant.name!r} at {label(mk.frame)} "
                         f"(Resolve keeps one marker per frame)")
        else:
            taken[free] = replace(mk, frame=free, frames=max(0, mk.frames - (free - mk.frame)) if mk.frames else 0)
            notes.append(f"moved marker {mk.name!r} from {label(mk.frame)} to {label(free)} "
                         f"(Resolve keeps one marker per frame; {occupant.name!r} is there)")
    return [taken[f] for f in sorted(taken)], notes


def resolve_plan(p: Plan, policy: str = "nudge") -> Plan:
    marks, notes = [], []
    for c in p.clips:
        def label(frame: int, c=c) -> str:
            return p.label(p.record_start + c.record_offset + frame)
        kept, said = resolve(c.marks, c.frame_count, policy, label)
        marks.append(kept)
        notes += [f"{c.name}: {n}" for n in said]
    return with_marks(p, marks, notes)
