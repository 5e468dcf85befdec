"""What a Study panel shows while a study runs, built from the ``study`` job's events.

Qt-free, like the GUI's Session: the panel submits the job (:func:`study_payload` builds and
checks its payload in the GUI process, without importing torch, LightGBM or Ray), feeds every
event of the job's stream to :meth:`StudyState.apply`, and redraws from the state when
``apply`` says something changed: the progress bar (done, running, left, ETA), each cell's
status, the live leaderboard (mean ± std over seeds) and the verdicts as they settle; at the
end, the outcome, the error or the cancellation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptodesk.app.jobs.events import Cancelled, Done, Failed
from cryptodesk.app.study.engine import StudyOutcome
from cryptodesk.app.study.events import (
    CellFailed,
    CellFinished,
    CellStarted,
    StudyLeaderboard,
    StudyProgress,
    StudyStarted,
    StudyVerdicts,
)


def study_payload(*, spec_path: Path | None = None, spec_text: str | None = None,
                  base: Path | None = None, builtin: str | None = None, out: Path | None = None,
                  workers: int | None = None, ray: str | None = None) -> dict[str, Any]:
    """The ``study`` job's payload, the spec validated first (a one-line StudySpecError for
    the panel to show before anything starts)."""
    from cryptodesk.app.study.opening import open_spec

    if builtin is None:  # a built-in spec is resolved against the store in the job
        open_spec(spec_path, None, spec_text, base)
    payload: dict[str, Any] = {}
    if spec_path is not None:
        payload["spec_path"] = str(spec_path)
    if spec_text is not None:
        payload.update(spec_text=spec_text, base=str(base) if base else None)
    if builtin is not None:
        payload["builtin"] = builtin
    if out is not None:
        payload["out"] = str(out)
    if workers:
        payload["workers"] = int(workers)
    if ray:
        payload["ray"] = ray
    return payload


@dataclass
class StudyState:
    """The live state of one study run (see module docstring)."""

    name: str = ""
    out: str = ""
    total: int = 0
    skipped: int = 0
    runner: str = ""
    workers: int = 0
    progress: StudyProgress | None = None
    cells: dict[str, str] = field(default_factory=dict)  # id -> running | done | failed
    titles: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    leaderboard: list[dict[str, Any]] = field(default_factory=list)
    verdicts: StudyVerdicts | None = None
    outcome: StudyOutcome | None = None
    error: str | None = None
    cancelled: bool = False

    @property
    def finished(self) -> bool:
        return self.outcome is not None or self.error is not None or self.cancelled

    def apply(self, event: Any) -> bool:
        """Take one event of the job's stream; True when the view should redraw."""
        if isinstance(event, StudyStarted):
            self.name, self.out, self.total = event.name, event.out, event.cells
            self.skipped, self.runner, self.workers = event.skipped, event.runner, event.workers
        elif isinstance(event, StudyProgress):
            self.progress = event
        elif isinstance(event, CellStarted):
            self.cells[event.cell], self.titles[event.cell] = "running", event.title
        elif isinstance(event, CellFinished):
            self.cells[event.cell], self.titles[event.cell] = "done", event.title
        elif isinstance(event, CellFailed):
            self.cells[event.cell], self.titles[event.cell] = "failed", event.title
            self.failures[event.cell] = event.message
        elif isinstance(event, StudyLeaderboard):
            self.leaderboard = event.rows
        elif isinstance(event, StudyVerdicts):
            self.verdicts = event
        elif isinstance(event, Done):
            self.outcome = outcome = event.result
            self.leaderboard = outcome.leaderboard
            v = outcome.verdicts
            self.verdicts = StudyVerdicts(v["comparisons"], v["pairs"], v["tests"] + v["pooled"],
                                          v["final"])
        elif isinstance(event, Failed):
            self.error = event.message
        elif isinstance(event, Cancelled):
            self.cancelled = True
        else:
            return False
        return True
