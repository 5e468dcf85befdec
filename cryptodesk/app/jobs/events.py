"""The typed events a job streams while it runs, and the wire registrations of what they carry.

A job (run, forecast, save, tune, study cell) reports through its
:class:`~cryptodesk.jobs.TaskContext`; wherever it runs, the context turns each report into one
of these events. The GUI draws them, the CLI prints them, a test reads them:

- :class:`Progress`: fraction done (or None) and a message;
- :class:`ModelStarted`: a model's walk-forward began (the table's status follows it);
- :class:`~cryptodesk.app.run.ModelScored`: a model finished and was scored against naive;
- :class:`~cryptodesk.models.epochs.EpochReport`: an epoch's losses (the live loss curves);
- :class:`~cryptodesk.evaluation.walkforward.ForecastBatch`: one origin's forecasts;
- :class:`~cryptodesk.evaluation.tuning_spec.TrialDone` / ``TuningDone``:
  a tuning trial finished (the live trial table and best-so-far curve) / a refit's tuning did;
- :class:`LogLine`: a warning or error logged inside the job;
- :class:`Done` / :class:`Failed` / :class:`Cancelled`: how the job ended (exactly one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptodesk.app.jobs import wire


@dataclass(frozen=True)
class Progress:
    """Fraction done in [0, 1] (None when unknown) and what is happening."""

    fraction: float | None
    message: str


@dataclass(frozen=True)
class ModelStarted:
    """Model ``name`` (``index`` of ``total`` in the run) starts its walk-forward."""

    name: str
    index: int
    total: int


@dataclass(frozen=True)
class LogLine:
    """A log record emitted inside the job (warnings and errors)."""

    level: str
    logger: str
    message: str


@dataclass(frozen=True)
class Done:
    """The job finished; ``result`` is its pickle-free result."""

    result: Any


@dataclass(frozen=True)
class Failed:
    """The job failed. ``kind``: ``"error"`` (bad input: ``message`` is for the user),
    ``"bug"`` (an unexpected exception; ``details`` has the traceback) or ``"crash"`` (the
    worker process died; ``details`` has its last stderr lines)."""

    message: str
    details: str = ""
    kind: str = "error"


@dataclass(frozen=True)
class Cancelled:
    """The job stopped because it was cancelled; ``note`` says how (e.g. terminated)."""

    note: str = ""


TERMINAL = (Done, Failed, Cancelled)


def is_terminal(event: object) -> bool:
    """True for the event that ends a job."""
    return isinstance(event, TERMINAL)


def register_core_types() -> None:
    """Allow the core's partial results and settings objects on the wire (idempotent)."""
    from cryptodesk.evaluation.strategy import StrategySpec
    from cryptodesk.evaluation.tuning_spec import TrialDone, TuningDone
    from cryptodesk.evaluation.walkforward import ForecastBatch, WalkForwardSpec
    from cryptodesk.models.epochs import EpochReport

    for cls in (Progress, ModelStarted, LogLine, Done, Failed, Cancelled, ForecastBatch,
                EpochReport, WalkForwardSpec, StrategySpec, TrialDone, TuningDone):
        if cls not in wire._TAGS:
            wire.register(cls)


register_core_types()
