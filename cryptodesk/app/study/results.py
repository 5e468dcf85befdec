"""A study's finished cells as data: the leaderboard (mean ± std over seeds) and the errors
the verdicts are computed from.

:class:`StudyResults` reads what the output folder holds for the cells of the current spec
(nothing else: cells of an older spec left in the folder are ignored), keeps each cell's
metrics in memory and loads forecasts only when a verdict needs them. The same object serves
the live leaderboard while a study runs, ``summary.csv`` at the end and ``cryptodesk study
show``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.app.study.cells import Cell
from cryptodesk.app.study.folder import StudyFolder
from cryptodesk.app.study.spec import StudySpec

BASELINE = "naive"
# price runs score MAE, RMSE, Theil's U, MAPE, direction; volatility runs QLIKE and MZ R²
SUMMARY_METRICS = ("mae", "rmse", "theils_u", "mape", "directional_accuracy", "qlike", "mz_r2")
SUMMARY_COLUMNS = ("series", "target", "model", "seeds", "cells", "failed", "n",
                   *[f"{m}_{s}" for m in SUMMARY_METRICS for s in ("mean", "std")])


@dataclass
class StudyResults:
    """The finished cells of one study (see module docstring)."""

    spec: StudySpec
    cells: list[Cell]
    folder: StudyFolder
    metrics: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    _forecasts: dict[str, pd.DataFrame] = field(default_factory=dict)

    @classmethod
    def load(cls, spec: StudySpec, cells: list[Cell], folder: StudyFolder) -> StudyResults:
        """The results already in ``folder`` for these cells."""
        out = cls(spec, cells, folder)
        for cell in cells:
            if folder.is_done(cell):
                out.metrics[cell.id] = folder.metrics(cell.id)
        return out

    def add(self, cell: Cell, metrics: dict[str, dict[str, Any]]) -> None:
        self.metrics[cell.id] = metrics
        self.failed.pop(cell.id, None)

    def fail(self, cell: Cell, message: str) -> None:
        self.failed[cell.id] = message

    def done(self, cells: Iterable[Cell]) -> bool:
        return all(c.id in self.metrics for c in cells)

    # ---------------------------------------------------------------- selections
    def cells_of(self, series: str, model: str, target: str) -> list[Cell]:
        """The cells of one model on one series and target (one per seed, or one for a
        deterministic model); for naive, the first cell of that series and target."""
        if model == BASELINE and not any(m.label == BASELINE for m in self.spec.models):
            first = next((c for c in self.cells if c.series_label == series
                          and c.target == target and c.id in self.metrics), None)
            return [first] if first is not None else []
        return [c for c in self.cells
                if c.series_label == series and c.model == model and c.target == target]

    def model_metrics(self, cell: Cell, model: str) -> dict[str, Any]:
        """Metrics of ``model`` (a study label, or naive) in a finished cell."""
        return self.metrics[cell.id][BASELINE if model == BASELINE else run_key(cell)]

    def errors(self, series: str, model: str, target: str, qlike: bool = False) -> pd.DataFrame:
        """Forecast errors (actual - forecast) of a model, or with ``qlike`` each forecast's
        QLIKE loss (variance forecasts): one column per seed (a single column for a
        deterministic model), indexed by (origin, horizon)."""
        columns = {}
        for cell in self.cells_of(series, model, target):
            frame = self._cell_forecasts(cell.id)
            name = BASELINE if model == BASELINE else run_key(cell)
            part = frame[frame["model"] == name].set_index(["origin", "horizon"])
            actual, forecast = part["actual"], part["forecast"]
            if qlike:
                values = pd.Series(qlike_points(actual.to_numpy(), forecast.to_numpy()),
                                   index=part.index)
            else:
                values = actual - forecast
            # naive is deterministic: one column, whichever cell it came from (labelled by
            # that cell's seed it would pair with that seed only)
            deterministic = model == BASELINE or cell.seed is None
            columns[-1 if deterministic else cell.seed] = values
        return pd.DataFrame(columns).sort_index()

    def _cell_forecasts(self, cell_id: str) -> pd.DataFrame:
        if cell_id not in self._forecasts:
            self._forecasts[cell_id] = self.folder.forecasts(cell_id)
        return self._forecasts[cell_id]

    # ---------------------------------------------------------------- leaderboard
    def leaderboard(self) -> list[dict[str, Any]]:
        """One row per series, target and model (naive first): seeds done, cells done and
        failed, forecasts scored, and each summary metric's mean and std over seeds."""
        rows = []
        labels = [BASELINE, *[m.label for m in self.spec.models if m.label != BASELINE]]
        for series in dict.fromkeys(c.series_label for c in self.cells):
            for target in self.spec.targets:
                for model in labels:
                    rows.append(self._row(series, target, model))
        return [r for r in rows if r["cells"] or r["failed"]]

    def _row(self, series: str, target: str, model: str) -> dict[str, Any]:
        cells = self.cells_of(series, model, target)
        done = [c for c in cells if c.id in self.metrics]
        values = [self.model_metrics(c, model) for c in done]
        # naive, like every model without a seed, stands for all seeds (read from one cell)
        fixed = bool(done) and (model == BASELINE or done[0].seed is None)
        row: dict[str, Any] = {
            "series": series, "target": target, "model": model,
            "seeds": len(self.spec.seeds) if fixed else len(done),
            "cells": len(done), "failed": sum(c.id in self.failed for c in cells),
            "n": values[0].get("n") if values else None,
        }
        for metric in SUMMARY_METRICS:
            mean, std = mean_std([v.get(metric) for v in values], deterministic=fixed)
            row[f"{metric}_mean"], row[f"{metric}_std"] = mean, std
        return row


def qlike_points(actual: np.ndarray, forecast: np.ndarray) -> np.ndarray:
    """Each variance forecast's QLIKE loss ``a/f - log(a/f) - 1`` (Patton's normalised form,
    as :func:`cryptodesk.evaluation.vol_metrics.qlike` averages it; NaN where a or f is not
    positive, so those points drop out of a comparison)."""
    a, f = np.asarray(actual, np.float64), np.asarray(forecast, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = a / f
        out = ratio - np.log(ratio) - 1.0
    return np.where((a > 0) & (f > 0) & np.isfinite(out), out, np.nan)


def headline_metrics(target: str) -> tuple[str, ...]:
    """The metrics tables show for a target: MAE, RMSE, Theil's U for prices; QLIKE and
    MZ R² for volatility (where MAE and RMSE of variances say little)."""
    return ("qlike", "mz_r2") if target == "volatility" else ("mae", "rmse", "theils_u")


def run_key(cell: Cell) -> str:
    """The name a cell's model carries in its report and forecasts (its run-spec label when it
    has one, else its registry name)."""
    model = cell.run["models"][-1]
    return str(model.get("label") or model["name"])


def mean_std(values: list[Any], deterministic: bool = False) -> tuple[float | None, float | None]:
    """Mean and sample std (ddof 1) of the finite values; a deterministic model's single
    value has std 0 (the same forecasts for every seed), a lone seed's std is None."""
    arr = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if arr.size == 0:
        return None, None
    if arr.size == 1:
        return float(arr[0]), (0.0 if deterministic else None)
    return float(arr.mean()), float(arr.std(ddof=1))


def summary_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Leaderboard rows as the ``summary.csv`` table."""
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
