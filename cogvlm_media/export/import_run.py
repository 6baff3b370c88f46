"""One ``import-markers`` run: read the file (:func:`~cogvlm_media.export.formats.read_markers`), check
it belongs to the asset and fits its media (:mod:`cogvlm_media.export.import_checks`), plan
(:func:`~cogvlm_media.store.import_plan.plan_import`) and, unless it is a dry run, store the plan and
log it (:mod:`cogvlm_media.store.import_log`) so that ``undo-import`` can take it back."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from sqlalchemy.orm import Session

from cogvlm_media.export import import_checks
from cogvlm_media.export.formats import read_markers
from cogvlm_media.export.timeline import placement
from cogvlm_media.store.import_log import record_import
from cogvlm_media.store.import_plan import ImportPlan, apply_plan, plan_import
from cogvlm_media.store.models import Asset

ImportRefused = import_checks.ImportRefused


@dataclass
class ImportReport:
    asset: str  # "asset 3 (clip.mp4)"
    plan: ImportPlan
    rate: Fraction
    dry_run: bool
    import_id: int | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        head = f"{self.plan.format} into {self.asset}: {self.plan.counts()}"
        if self.dry_run:
            return f"dry run, nothing written: {head}"
        if self.import_id is None:
            return f"{head} (nothing stored)"
        return f"import {self.import_id}: {head} (undo: cogvlm-media undo-import {self.import_id})"

    def plan_lines(self) -> list[str]:
        """Each marker the import adds, changes or deletes, one line each."""
        def at(frame: int) -> str:
            return f"{float(Fraction(frame) / self.rate):8.2f} s"
        out = [f"add     {at(inc.frame)}  {inc.name!r}" for inc in self.plan.additions]
        for mark, inc in self.plan.changes:
            moved = f" -> {at(inc.frame).strip()}" if inc.frame != mark.frame else ""
            renamed = f" -> {inc.name!r}" if inc.name != mark.name else ""
            out.append(f"change  {at(mark.frame)}  marker {mark.id} {mark.name!r}{renamed}{moved}")
        out += [f"delete  {at(mark.frame)}  marker {mark.id} {mark.name!r}" for mark in self.plan.deletions]
        return out


def _start(asset: Asset, start_tc: str | None, default_start_tc: str) -> tuple[str, str]:
    if start_tc:
        return start_tc, "--start-tc"
    if asset.start_timecode:
        return asset.start_timecode, "the file's timecode"
    return default_start_tc, "export.start_timecode"


def run_import(session: Session, path: Path, asset: Asset, *, fmt: str | None = None, start_tc: str | None = None,
               default_start_tc: str = "01:00:00:00", force: bool = False, allow_delete: bool = True,
               dry_run: bool = False, editor_colour: str = "RED") -> ImportReport:
    """Import one NLE file's markers into ``asset``; ImportFailed/ImportRefused/ExportError when it cannot."""
    path = Path(path)
    start_label, origin = _start(asset, start_tc, default_start_tc)
    data = read_markers(path, asset, fmt=fmt, start_tc=start_label)
    placed = placement(asset, ())
    ident = import_checks.check_media(session, asset, data, placed.source_start, placed.source_drop)
    if ident.mismatches and not force:
        raise ImportRefused(import_checks.mismatch_line(path, asset, ident))
    data, notes = import_checks.place_on_timeline(session, asset, data, start_label=start_label, origin=origin,
                                                  explicit=start_tc is not None)
    data, refused, present, cut = import_checks.split_outside(asset, data)
    notes += cut
    plan = plan_import(session, asset, data, allow_delete=allow_delete, proven=ident.proven, present=present)
    plan.refused[:0] = refused
    if ident.mismatches:
        notes.append(import_checks.mismatch_line(path, asset, ident).replace("(--force imports it anyway)",
                                                                             "(imported: --force)"))
    report = ImportReport(asset=f"asset {asset.id} ({placed.name})", plan=plan, rate=placed.rate,
                          dry_run=dry_run, notes=notes)
    if dry_run or plan.empty:
        return report
    created, superseded = apply_plan(session, asset, plan, editor_colour=editor_colour)
    logged = record_import(session, asset, fmt=plan.format, file=str(path.resolve()), forced=bool(ident.mismatches),
                           added=len(plan.additions), changed=len(plan.changes), deleted=len(plan.deletions),
                           refused=len(plan.refused), created=created, superseded=superseded)
    report.import_id = logged.id
    return report
