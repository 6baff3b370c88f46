"""What a worker's crash (a kill, a segfault, a lost lease) counts for, kept in the run's error note.

A crash counts against the file only when the same file crashed its worker in the same stage before;
then the earlier crash in that stage counts too. Any other crash is given back (``max_attempts`` goes
up by one). The note keeps the file's crashes by stage (``...; crashes so far: shots 2, analyse 1``),
so a crash in another stage in between (an unrelated kill, or one of the stages that run side by side
reporting last) does not hide a repeat, and a file that kills its worker every time ends quarantined
whichever of those stages each crash was recorded in.
"""

from __future__ import annotations

import re

MARK = "stopped during the job in stage"  # every crash note holds this (a claim keeps such notes)
_HEAD = re.compile(MARK + r" (\S+) \(crash, kill or lost lease\)(; not counted)?")
_SO_FAR = re.compile(r"; crashes so far: (.+)$")


def crashes_by_stage(note: str | None) -> dict[str, int]:
    """The file's crashes so far, by stage, from the run's last error note (empty when it is none)."""
    head = _HEAD.search(note or "")
    if head is None:
        return {}
    so_far = _SO_FAR.search(note)
    if so_far is None:  # a note written before the tally: its one stage, a repeat unless "not counted"
        return {head.group(1): 1 if head.group(2) else 2}
    tally: dict[str, int] = {}
    for part in so_far.group(1).split(", "):
        stage, _, count = part.rpartition(" ")
        if stage and count.isdigit():
            tally[stage] = int(count)
    return tally


def count_crash(note: str | None, worker: str | None, stage: str) -> tuple[int, str]:
    """A crash in ``stage`` after the crashes in ``note``: (change to ``max_attempts``, the new note)."""
    tally = crashes_by_stage(note)
    before = tally.get(stage, 0)
    tally[stage] = before + 1
    # the first crash in a stage is given back; the second takes the first's back again; later ones count
    change = 1 if before == 0 else (-1 if before == 1 else 0)
    text = (f"worker {worker} {MARK} {stage} (crash, kill or lost lease)" + ("; not counted" if before == 0 else "")
            + "; crashes so far: " + ", ".join(f"{s} {n}" for s, n in tally.items()))
    return change, text
