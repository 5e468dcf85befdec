"""The typed events a study reports while it runs (registered on the job wire).

Wherever a study runs (inline in the CLI, or as the ``study`` job in a worker process for the
GUI), its context hands out these partial results; the CLI prints them, the GUI's Study panel
draws them:

- :class:`StudyStarted`: how many cells, how many were already done (resume), where it runs;
- :class:`CellStarted` / :class:`CellFinished` / :class:`CellFailed`: one cell's life;
- :class:`StudyProgress`: cells done, running and left, failures, and the ETA (the bar);
- :class:`StudyLeaderboard`: mean ± std over seeds per series, target and model, after each
  finished cell;
- :class:`StudyVerdicts`: the comparisons' verdicts so far (``final`` once every cell they
  need has finished and the Holm family is complete).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptodesk.app.jobs import wire


@dataclass(frozen=True)
class StudyStarted:
    """A study began: ``cells`` in all, ``skipped`` already done in the output folder."""

    name: str
    out: str
    cells: int
    skipped: int
    runner: str
    workers: int


@dataclass(frozen=True)
class CellStarted:
    """A cell was handed to a worker (locally) or submitted as a task (Ray)."""

    cell: str
    title: str


@dataclass(frozen=True)
class CellFinished:
    """A cell finished and its files are in the output folder."""

    cell: str
    title: str
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CellFailed:
    """A cell failed (``kind`` as in :class:`~cryptodesk.app.jobs.events.Failed`)."""

    cell: str
    title: str
    message: str
    kind: str = "error"


@dataclass(frozen=True)
class StudyProgress:
    """Where the study stands; ``eta_s`` is None until a cell has finished."""

    done: int
    running: int
    left: int
    failed: int
    total: int
    eta_s: float | None
    message: str = ""

    @property
    def fraction(self) -> float:
        return 1.0 if not self.total else (self.done + self.failed) / self.total


@dataclass(frozen=True)
class StudyLeaderboard:
    """Summary rows (one per series, target and model), as in ``summary.csv``."""

    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class StudyVerdicts:
    """The verdicts so far, as in ``verdicts.json``: one row per comparison and per pair
    (model vs one baseline, with ``because``: the numbers that decide it) and every test
    (series x metric: % change, CI, DM and Holm p, decision); ``final`` once every cell has
    finished (until then the verdicts are provisional)."""

    comparisons: list[dict[str, Any]]
    pairs: list[dict[str, Any]]
    tests: list[dict[str, Any]]
    final: bool = False


for _cls in (StudyStarted, CellStarted, CellFinished, CellFailed, StudyProgress,
             StudyLeaderboard, StudyVerdicts):
    wire.register(_cls)
