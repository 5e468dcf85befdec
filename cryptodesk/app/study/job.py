"""The ``study`` job: a whole study run in a worker process, for the GUI's Study panel.

The GUI process never imports torch, LightGBM or Ray, so it cannot orchestrate a study itself:
it submits this job to its :class:`~cryptodesk.app.jobs.pool.WorkerPool` with a JSON payload,
and the worker runs :func:`~cryptodesk.app.study.engine.run_study` (which starts its own cell
workers, or connects to the Ray cluster). The study's events (progress with the ETA, cells,
the live leaderboard, the verdicts as they settle) come back on the job's event stream;
cancelling the job stops the study and keeps every finished cell.

Payload (JSON)::

    {"spec_path": "/path/study.toml"}              # or
    {"spec_text": "...toml...", "base": "/dir"}    # an editor's buffer; or
    {"builtin": "seed-claims"}
    # and optionally:
    "out": "/path/to/folder"      (default: <user data>/studies/<name>)
    "workers": 4                  (local cells at once; default every core)
    "ray": "10.0.0.5:6379"        (run the cells on this Ray cluster instead)

Result: a :class:`~cryptodesk.app.study.engine.StudyOutcome`. The process that submits the job imports this module (light:
no torch, LightGBM or Ray), which registers the study's events and result on the job wire.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptodesk.app.study import events as _events  # noqa: F401  (the study's events on the wire)
from cryptodesk.app.study.engine import StudyOutcome
from cryptodesk.jobs import TaskContext


def study_job(payload: dict[str, Any], ctx: TaskContext) -> StudyOutcome:
    """Job ``study`` (see module docstring)."""
    from cryptodesk.app.study.api import default_out, make_runner, open_spec
    from cryptodesk.app.study.engine import run_study

    path = payload.get("spec_path")
    base = payload.get("base")
    spec, text, notes = open_spec(
        Path(path) if path else None, payload.get("builtin"), payload.get("spec_text"),
        Path(base) if base else None)
    out = Path(payload["out"]) if payload.get("out") else default_out(spec.name)
    workers = payload.get("workers")
    runner = make_runner(int(workers) if workers else None, payload.get("ray"), spec.threads)
    return run_study(spec, out, runner, ctx, spec_text=text, notes=notes)
