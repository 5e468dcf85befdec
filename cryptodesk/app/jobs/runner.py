"""Which function a job runs, and running one to its final event.

A job is named by a kind from :data:`JOBS` (or a ``"module:function"`` target under an allowed
package) and takes a JSON-able payload dict plus a :class:`~cryptodesk.jobs.TaskContext`. The
function returns a pickle-free result (plain data, frames, registered dataclasses). Targets are
checked against :data:`ALLOWED_PREFIXES`, so a job message can only ever name CryptoDesk's own
job functions (tests add their package through ``CRYPTODESK_EXTRA_JOB_MODULES``).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import traceback
from collections.abc import Callable
from typing import Any

from cryptodesk.app.jobs.events import Cancelled, Done, Failed
from cryptodesk.errors import CryptoDeskError
from cryptodesk.jobs import Cancelled as CancelledError
from cryptodesk.jobs import TaskContext

JobFn = Callable[[dict[str, Any], TaskContext], Any]

JOBS: dict[str, str] = {
    "run": "cryptodesk.app.run:run_job",
    "save_model": "cryptodesk.app.library:save_model_job",
    "forecast_bundle": "cryptodesk.app.forecast:forecast_bundle_job",
    "forecast_future": "cryptodesk.app.future:forecast_future_job",
    "retrain": "cryptodesk.app.retrain:retrain_job",
    "retrain_suggestions": "cryptodesk.app.retrain:retrain_suggestions_job",
    "warm_up": "cryptodesk.app.jobs.runner:warm_up_job",
    "study_cell": "cryptodesk.app.study.cell_job:study_cell_job",
    "study": "cryptodesk.app.study.job:study_job",
    "tune": "cryptodesk.app.tune:tune_job",
    "explain": "cryptodesk.app.explain:explain_job",
}
ALLOWED_PREFIXES = ("cryptodesk.app.",)
EXTRA_MODULES_ENV = "CRYPTODESK_EXTRA_JOB_MODULES"
# Modules whose import registers the result types of JOBS on the wire. A receiver decodes only
# registered classes, so the process that reads results (the GUI) imports these first.
RESULT_MODULES = ("cryptodesk.app.run", "cryptodesk.app.forecast", "cryptodesk.app.signals",
                  "cryptodesk.app.future", "cryptodesk.app.retrain",
                  "cryptodesk.app.explanation")


def register_result_types() -> None:
    """Make every job's result and partial types decodable in this process (idempotent).
    Light: none of these modules imports a model library."""
    for name in RESULT_MODULES:
        importlib.import_module(name)


def resolve(kind: str) -> JobFn:
    """The function of job ``kind`` (a name in :data:`JOBS` or an allowed target)."""
    target = JOBS.get(kind, kind)
    module_name, sep, func_name = target.partition(":")
    extra = tuple(p.strip() + "." for p in os.environ.get(EXTRA_MODULES_ENV, "").split(",")
                  if p.strip())
    if not sep or not (module_name + ".").startswith(ALLOWED_PREFIXES + extra):
        raise CryptoDeskError(f"unknown job {kind!r}")
    fn = getattr(importlib.import_module(module_name), func_name, None)
    if not callable(fn):
        raise CryptoDeskError(f"unknown job {kind!r}")
    return fn


def run_to_end(kind: str, payload: dict[str, Any], ctx: TaskContext) -> Done | Failed | Cancelled:
    """Run the job and return its final event; never raises (a bug becomes ``Failed``)."""
    try:
        result = resolve(kind)(payload, ctx)
    except CancelledError:
        return Cancelled()
    except CryptoDeskError as exc:
        return Failed(str(exc), traceback.format_exc(), "error")
    except Exception as exc:  # a bug in a job must not take its worker down: report it
        return Failed(f"{type(exc).__name__}: {exc}", traceback.format_exc(), "bug")
    return Done(result)


# what scoring the first model needs (scipy.stats for the Diebold-Mariano test) and its
# forecasts need on their way back (the wire's frame codec): imported by the first run
# otherwise, a pause of half a second or more between naive and the next model
SCORING_MODULES = ("scipy.stats", "pyarrow", "pyarrow.parquet")


def warm_up_job(payload: dict[str, Any], ctx: TaskContext) -> list[str]:
    """Import the modules a model's first fit would import (``payload["modules"]``) and those
    scoring needs, so the run does not wait for them; best effort, returns the asked-for ones
    that loaded."""
    for name in SCORING_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    loaded = []
    for name in payload.get("modules", []):
        ctx.check_cancelled()
        try:
            importlib.import_module(str(name))
        except ImportError:
            continue
        loaded.append(str(name))
    return loaded
