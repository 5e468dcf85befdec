"""Fit a model and its conformal calibration copy at the same time, on two cores.

Why: with the default conformal interval, every fit of a refitting model (LightGBM) trains
twice: the calibration copy on the window before its held-back tail, then the model on the
whole window. The two fits share nothing, and LightGBM trains outside the GIL, so on a machine
with a spare core the copy trains in a second thread while the model trains in the caller's:
the fit takes the time of the longer of the two instead of their sum. The result is the same
as one after the other (separate model instances, a fixed seed, and deterministic boosters).

Only the caller's thread reports progress (two threads must not interleave one job's events):
the mean of the two fits' progress, each time the model's fit reports and while it waits for
the copy. Both check the job's cancellation, and a failure in either stops the other.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pandas as pd

from cryptodesk.jobs import TaskContext
from cryptodesk.models.conformal import Calibration, out_of_fold_scores

if TYPE_CHECKING:
    from cryptodesk.models.base import Forecaster

JOIN_POLL_S = 0.05  # how often the caller passes the job's cancellation on while it waits


def fit_beside_calibration(model: Forecaster, train: pd.DataFrame, ctx: TaskContext,
                           horizon: int) -> Calibration | None:
    """Fit ``model`` on ``train`` in this thread while its calibration copy is fitted and
    scored in another; returns the calibration (None when the window is too short for one)."""
    stop = threading.Event()  # cancels the copy only: the job's own event stays untouched
    done = {"model": 0.0, "copy": 0.0}  # each fit's progress; the copy's written by its thread

    def copy_progress(fraction: float | None, message: str) -> None:
        del message
        if fraction is not None:
            done["copy"] = max(done["copy"], fraction)

    def model_progress(fraction: float | None, message: str) -> None:
        if fraction is not None:
            done["model"] = max(done["model"], fraction)
        ctx.progress((done["model"] + done["copy"]) / 2, message)

    copy_ctx = TaskContext(copy_progress, cancel_event=stop)
    outcome: dict[str, object] = {}

    def calibrate() -> None:
        try:
            outcome["calibration"] = out_of_fold_scores(model, train, horizon, copy_ctx)
        except BaseException as exc:  # handed to the caller, which re-raises it
            outcome["error"] = exc

    worker = threading.Thread(target=calibrate, name=f"{model.name} calibration", daemon=True)
    worker.start()
    try:
        model._fit(train, ctx.with_progress(model_progress), horizon)
    except BaseException:
        stop.set()
        worker.join()
        raise
    while worker.is_alive():
        worker.join(JOIN_POLL_S)
        if ctx.cancelled():
            stop.set()
        ctx.progress((1.0 + done["copy"]) / 2, "calibrating")
    ctx.check_cancelled()
    error = outcome.get("error")
    if isinstance(error, BaseException):
        raise error
    calibration = outcome.get("calibration")
    return calibration if isinstance(calibration, Calibration) else None
