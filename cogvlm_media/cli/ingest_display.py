"""What `ingest` and `demo` show while files are ingested: rich progress bars per stage, a summary table."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cogvlm_media.cli.context import err_console
from cogvlm_media.ingest import IngestCallbacks, Outcome
from cogvlm_media.store.fspath import shown

STAGES = ("probe", "shots", "speech", "text", "windows", "analyse", "store")


class IngestProgress:
    """A rich progress display (on stderr) fed by :class:`IngestCallbacks`; use it as a context manager."""

    def __init__(self, show: bool = True) -> None:
        self.progress = Progress(TextColumn("{task.description}", justify="left"), BarColumn(),
                                 TaskProgressColumn(), TimeElapsedColumn(), console=err_console,
                                 disable=not show, transient=False)
        self.tasks: dict[str, dict[str, int]] = {}  # path -> stage -> task (the GPU path runs files side by side)
        self.callbacks = IngestCallbacks(file_started=self._started, file_stage=self._stage, file_done=self._done)

    def __enter__(self) -> "IngestProgress":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def _started(self, number: int, total: int, path: str) -> None:
        name = Path(path).name
        self.tasks[path] = {s: self.progress.add_task(f"[{number}/{total}] {escape(shown(name)[:40])} · {s}", total=1,
                                                      visible=False)
                            for s in STAGES}

    def _stage(self, path: str, stage: str, done: float, total: float) -> None:
        task = self.tasks.get(path, {}).get(stage)
        if task is not None:
            self.progress.update(task, completed=done, total=max(total, 1e-9), visible=True)

    def _done(self, outcome: Outcome) -> None:
        for task in self.tasks.pop(outcome.path, {}).values():
            self.progress.remove_task(task)


def summary_table(outcomes: list[Outcome]) -> Table:
    table = Table(title="Ingest summary", show_lines=False)
    for col in ("file", "result", "asset", "shots", "scenes", "markers", "seconds"):
        table.add_column(col, justify="right" if col not in ("file", "result") else "left")
    for o in outcomes:
        result = o.outcome if o.status == "done" else f"[red]{o.status}[/]: {escape(o.error or '')}"
        c = o.counts
        table.add_row(escape(shown(Path(o.path).name)), result, str(o.asset_id or ""), str(c.get("shots", "")),
                      str(c.get("scenes", "")), str(c.get("markers", "")), f"{o.seconds:.1f}")
    return table
