"""Inner walk-forward folds cut from one training window: out-of-fold forecasts.

Two things learn from forecasts a model made on data it was not fitted on, *inside* a training
window: the nested tuner (each trial is scored on inner folds) and the ensemble combiners
(inverse-error weights and stacking learn from out-of-fold forecasts). Both use
:func:`out_of_fold`, so both cut folds the same way:

The last ``folds * fold_bars`` rows of the frame are split into ``folds`` consecutive blocks.
For block j the model is fitted on every row *before* the block and then forecasts, from each
origin o = (block start - 1) .. (block end - 2), the ``horizon`` closes after o, exactly as the
outer walk-forward does (``predict(frame.iloc[:o + 1])``). Targets past the frame's end are not
evaluated. The frame handed in is the outer training window, so nothing after the outer origin
is ever seen: the outer test block cannot reach a trial or a combiner's weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cryptodesk.errors import ModelError
from cryptodesk.jobs import TaskContext, null_context
from cryptodesk.models.base import Forecaster


@dataclass
class FoldForecasts:
    """Forecasts made on inner folds: one row per origin, one column per step.

    ``point`` is the forecast close, ``log_return`` its log return from ``last`` (the close at
    the origin), ``actual`` the realised close (NaN past the frame's end), ``fold`` the block
    each origin belongs to."""

    origins: np.ndarray
    fold: np.ndarray
    last: np.ndarray
    point: np.ndarray
    actual: np.ndarray

    @property
    def log_return(self) -> np.ndarray:
        """Forecast log return of each row and step from the close at the origin."""
        return np.log(self.point / self.last[:, None])

    @property
    def actual_log_return(self) -> np.ndarray:
        """Realised log return of each row and step (NaN where unknown)."""
        return np.log(self.actual / self.last[:, None])

    def theils_u(self) -> float:
        """RMSE over the naive forecast's RMSE on the same points (inf when undefined)."""
        ok = np.isfinite(self.actual) & np.isfinite(self.point)
        if not ok.any():
            return float("inf")
        naive = np.broadcast_to(self.last[:, None], self.actual.shape)
        num = float(np.sum((self.point[ok] - self.actual[ok]) ** 2))
        den = float(np.sum((naive[ok] - self.actual[ok]) ** 2))
        return float(np.sqrt(num / den)) if den > 0 else float("inf")


def fold_rows(n_rows: int, folds: int, fold_bars: int) -> list[int]:
    """First row of each inner block (the first bar a fold forecasts), oldest first."""
    if folds < 1 or fold_bars < 1:
        raise ModelError("inner folds need at least one fold of at least one bar")
    starts = [n_rows - (folds - j) * fold_bars for j in range(folds)]
    if starts[0] < 2:
        raise ModelError(f"{folds} inner folds of {fold_bars} bars need more than "
                         f"{folds * fold_bars} training bars; there are {n_rows}")
    return starts


def out_of_fold(
    make: Callable[[], Forecaster],
    frame: pd.DataFrame,
    folds: int,
    fold_bars: int,
    horizon: int,
    ctx: TaskContext | None = None,
    on_fold: Callable[[int, FoldForecasts], None] | None = None,
) -> FoldForecasts:
    """Fit a fresh ``make()`` per inner block on the rows before it and forecast the block
    (see module docstring). ``on_fold(j, so_far)`` runs after each block (pruning hooks);
    cancellation is checked per origin and inside fits."""
    ctx = ctx or null_context()
    n = len(frame)
    starts = fold_rows(n, folds, fold_bars)
    close = frame["close"].to_numpy(dtype=np.float64)
    origins: list[int] = []
    fold_ids: list[int] = []
    points: list[np.ndarray] = []
    for j, start in enumerate(starts):
        model = make()
        model.fit(frame.iloc[:start], ctx.child(j / folds, (j + 0.8) / folds), horizon)
        for o in range(start - 1, min(start - 1 + fold_bars, n - 1)):
            ctx.check_cancelled()
            points.append(np.asarray(model.predict(frame.iloc[: o + 1], horizon).point))
            origins.append(o)
            fold_ids.append(j)
        ctx.progress((j + 1) / folds, f"inner fold {j + 1}/{folds}")
        if on_fold is not None:
            on_fold(j, _collect(origins, fold_ids, points, close, horizon))
    return _collect(origins, fold_ids, points, close, horizon)


def _collect(origins: list[int], fold_ids: list[int], points: list[np.ndarray],
             close: np.ndarray, horizon: int) -> FoldForecasts:
    o = np.asarray(origins, dtype=np.int64)
    target = o[:, None] + np.arange(1, horizon + 1)[None, :]
    actual = np.full(target.shape, np.nan)
    inside = target < close.shape[0]
    actual[inside] = close[target[inside]]
    point = np.vstack(points) if points else np.empty((0, horizon))
    return FoldForecasts(o, np.asarray(fold_ids, dtype=np.int64), close[o], point, actual)
