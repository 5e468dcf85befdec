"""Running a study: spec in, output folder and verdicts out, on any :class:`CellRunner`.

:func:`run_study` loads the series, expands the spec into cells, skips the cells the output
folder already holds with the same key (resume), hands the rest to the runner (local worker
processes or a Ray cluster) and writes each result the moment it comes back. While it runs it
reports typed events through its context (:mod:`cryptodesk.app.study.events`): progress with
the ETA, each cell's start, end or failure, the leaderboard and the verdicts as they settle.
However it ends (finished, a cell failed, Ctrl+C, Cancel), it writes the summary, the verdicts,
the combined forecasts and the HTML report of what is finished; a cancelled study then raises
:class:`~cryptodesk.jobs.Cancelled` and resumes later from where it stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptodesk.app.jobs import wire
from cryptodesk.app.study.cells import Cell, SeriesData, expand, load_series
from cryptodesk.app.study.dispatch import CellEvent, CellRunner
from cryptodesk.app.study.environment import environment_doc
from cryptodesk.app.study.events import (
    CellFailed,
    CellFinished,
    CellStarted,
    StudyLeaderboard,
    StudyStarted,
    StudyVerdicts,
)
from cryptodesk.app.study.folder import StudyFolder
from cryptodesk.app.study.progress import Tracker
from cryptodesk.app.study.results import StudyResults
from cryptodesk.app.study.spec import StudySpec
from cryptodesk.app.study.verdicts import VerdictBook
from cryptodesk.jobs import Cancelled, TaskContext, null_context


@dataclass
class StudyOutcome:
    """How a study ended: its folder, counts, the leaderboard rows, the verdict document
    (as in ``verdicts.json``), the files written and notes for the user (synthetic data,
    claims not checked). Also the ``study`` job's result (on the job wire)."""

    out: str
    cells: int
    done: int
    skipped: int
    failed: dict[str, str]
    leaderboard: list[dict[str, Any]]
    verdicts: dict[str, Any]
    seconds: float
    cancelled: bool = False
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return Path(self.out)

    @property
    def report(self) -> Path:
        return Path(self.out) / "report.html"


wire.register(StudyOutcome)


@dataclass
class Plan:
    """A study ready to run: its series (loaded) and cells, and which are done already."""

    spec: StudySpec
    series: list[SeriesData]
    cells: list[Cell]
    folder: StudyFolder
    results: StudyResults
    notes: list[str] = field(default_factory=list)

    @property
    def todo(self) -> list[Cell]:
        """The cells still to run, seed by seed (deterministic models first): every model
        finishes a cell early, so the ETA knows each one's cost soon and a first full picture
        (one seed of everything) comes before the other seeds. Within a seed the costliest
        cells go first, so the study does not end on one long cell while the other workers
        sit idle. Results do not depend on the order."""
        left = [c for c in self.cells if c.id not in self.results.metrics]
        return sorted(left, key=lambda c: (-1 if c.seed is None else c.seed,
                                           -self.expected_seconds(c)))

    def expected_seconds(self, cell: Cell) -> float:
        """A cell's rough cost (:mod:`cryptodesk.app.cost`): only its rank among the others
        matters."""
        from cryptodesk.app.cost import expected_cost, test_bars
        from cryptodesk.app.runspec import RunSpec

        run = RunSpec.from_dict(cell.run)
        candles = next(s.candles for s in self.series if s.index == cell.series)
        forecasts = test_bars(run.protocol, len(candles), candles.index)
        return sum(expected_cost(m, run.protocol, len(candles), forecasts).total
                   for m in run.models)


def plan_study(spec: StudySpec, out: Path, store: Any = None) -> Plan:
    """Load the series, expand the cells and read what ``out`` already holds."""
    series = load_series(spec, store)
    cells = expand(spec, series)
    folder = StudyFolder(out)
    return Plan(spec, series, cells, folder, StudyResults.load(spec, cells, folder))


def run_study(spec: StudySpec, out: Path, runner: CellRunner, ctx: TaskContext | None = None,
              *, spec_text: str | None = None, store: Any = None,
              notes: list[str] | None = None) -> StudyOutcome:
    """Run ``spec`` into the folder ``out`` on ``runner`` (see module docstring); ``notes``
    for the user (synthetic data, claims not checked) go into the report and the outcome."""
    ctx = ctx or null_context()
    started = time.perf_counter()
    ctx.progress(None, "loading the series")
    plan = plan_study(spec, out, store)
    plan.notes = list(notes or [])
    ctx.progress(None, f"connecting to the {runner.name} runner")
    runner.connect()
    try:
        return _run(plan, runner, ctx, spec_text, started)
    finally:
        runner.close()


def _run(plan: Plan, runner: CellRunner, ctx: TaskContext, spec_text: str | None,
         started: float) -> StudyOutcome:
    spec = plan.spec
    folder, results = plan.folder, plan.results
    folder.write_spec(spec.to_dict(), spec_text)
    folder.write_json("environment.json", environment_doc(runner.describe()))
    todo = plan.todo
    skipped = len(plan.cells) - len(todo)
    tracker = Tracker(plan.cells, skipped, runner.workers, _prior_seconds(plan))
    book = VerdictBook(results)
    ctx.partial(StudyStarted(spec.name, str(folder.root), len(plan.cells), skipped,
                             runner.name, runner.workers))
    _report(ctx, tracker, "resuming" if skipped else "starting")
    cancelled = False
    events = runner.run(todo, plan.series, ctx)
    try:
        for event in events:
            _handle(event, folder, results, tracker, book, ctx)
    except Cancelled:
        cancelled = True
    finally:
        events.close()  # Ctrl+C between two events: the runner still stops its workers now
        folder.write_json("environment.json", environment_doc(runner.describe()))
        outcome = finish(plan, book, started, skipped, cancelled)
    if cancelled:
        raise Cancelled(f"cancelled; {outcome.done} of {outcome.cells} cells are kept in "
                        f"{folder.root}")
    return outcome


def _handle(event: CellEvent, folder: StudyFolder, results: StudyResults, tracker: Tracker,
            book: VerdictBook, ctx: TaskContext) -> None:
    cell = event.cell
    if event.kind == "started":
        tracker.start(cell)
        ctx.partial(CellStarted(cell.id, cell.title))
        _report(ctx, tracker, f"{cell.title} started")
        return
    if event.kind == "progress":
        tracker.progress(cell, event.fraction)
        _report(ctx, tracker, cell.title)
        return
    if event.kind == "done":
        folder.save_cell(cell, event.result)
        metrics = {m["model"]: m["metrics"] for m in event.result.report["models"]}
        results.add(cell, metrics)
        tracker.finish(cell, event.result.info.get("seconds"))
        mine = results.model_metrics(cell, cell.model)
        ctx.partial(CellFinished(cell.id, cell.title, float(event.result.info.get("seconds", 0)),
                                 {k: mine.get(k) for k in ("mae", "rmse", "theils_u")}))
        ctx.partial(StudyLeaderboard(results.leaderboard()))
        document = book.update()
        ctx.partial(StudyVerdicts(document["comparisons"], document["pairs"],
                                  document["tests"] + document["pooled"], document["final"]))
        _report(ctx, tracker, f"{cell.title} done")
        return
    folder.save_failure(cell, event.message, event.failure)
    results.fail(cell, event.message)
    tracker.fail(cell)
    ctx.partial(CellFailed(cell.id, cell.title, event.message, event.failure))
    _report(ctx, tracker, f"{cell.title} failed")


def _report(ctx: TaskContext, tracker: Tracker, message: str) -> None:
    snapshot = tracker.snapshot(message)
    ctx.partial(snapshot)
    ctx.progress(snapshot.fraction, message)


def _prior_seconds(plan: Plan) -> dict[str, list[float]]:
    """Compute times of cells finished in an earlier run (for the ETA)."""
    out: dict[str, list[float]] = {}
    for cell in plan.cells:
        if cell.id in plan.results.metrics:
            seconds = ((plan.folder.record(cell.id) or {}).get("ran") or {}).get("seconds")
            if seconds is not None:
                out.setdefault(cell.model, []).append(float(seconds))
    return out


def finish(plan: Plan, book: VerdictBook, started: float, skipped: int,
           cancelled: bool = False) -> StudyOutcome:
    """Write summary, verdicts, combined forecasts and report of what is finished."""
    from cryptodesk.app.study.report import write_outputs

    verdicts = book.update()
    leaderboard = plan.results.leaderboard()
    files = write_outputs(plan, leaderboard, verdicts)
    return StudyOutcome(str(plan.folder.root), len(plan.cells), len(plan.results.metrics), skipped,
                        dict(plan.results.failed), leaderboard, verdicts,
                        time.perf_counter() - started, cancelled, files, list(plan.notes))
