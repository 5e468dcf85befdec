"""What a run has produced so far, kept for drawing: growing numpy buffers (no Qt).

Forecast batches arrive in bursts from the worker; :class:`ForecastBuffer` appends them into
preallocated arrays, and a chart reads views of those arrays on its ~10 Hz timer (never one
redraw per batch). Loss reports of epoch-trained models go into :class:`LossBuffer`. The
session (:mod:`cryptodesk.app.session`) keeps one of each per model of a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

COLUMNS = ("x", "point", "lower", "upper", "actual")


class ForecastBuffer:
    """One model's one-step-ahead forecasts (target time, point, q10, q90, actual), growing."""

    def __init__(self, capacity: int = 256) -> None:
        self.n = 0
        self._cols = {k: np.full(max(capacity, 16), np.nan) for k in COLUMNS}
        self.has_band = False

    def _grow(self, need: int) -> None:
        cap = self._cols["x"].shape[0]
        if need <= cap:
            return
        new = max(need, cap * 2)
        for k, arr in self._cols.items():
            grown = np.full(new, np.nan)
            grown[: self.n] = arr[: self.n]
            self._cols[k] = grown

    def add_batch(self, batch: Any) -> None:
        """Append the first step of a ``ForecastBatch`` (target time in epoch seconds)."""
        if len(batch.target_times) == 0:
            return
        self._grow(self.n + 1)
        i = self.n
        c = self._cols
        c["x"][i] = batch.target_times[0].value / 1e9
        c["point"][i] = batch.forecast[0]
        c["actual"][i] = batch.actual[0]
        if batch.lower is not None and batch.upper is not None:
            c["lower"][i] = batch.lower[0]
            c["upper"][i] = batch.upper[0]
            self.has_band = True
        self.n += 1

    def set_frame(self, forecasts: Any) -> None:
        """Replace with the final forecasts table of a walk-forward (its horizon-1 rows)."""
        import pandas as pd

        part = forecasts[forecasts["horizon"] == 1]
        n = len(part)
        self.n = 0
        self._grow(n)
        c = self._cols
        c["x"][:n] = pd.DatetimeIndex(part["target_time"]).as_unit("ns").asi8 / 1e9
        for key, col in (("point", "forecast"), ("lower", "lower"), ("upper", "upper"),
                         ("actual", "actual")):
            c[key][:n] = part[col].to_numpy(np.float64)
        self.has_band = bool(np.isfinite(c["lower"][:n]).any())
        self.n = n

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None,
                              np.ndarray]:
        """Views of the filled part: x, point, lower, upper (None without a band), actual."""
        n, c = self.n, self._cols
        lo = c["lower"][:n] if self.has_band else None
        hi = c["upper"][:n] if self.has_band else None
        return c["x"][:n], c["point"][:n], lo, hi, c["actual"][:n]


@dataclass
class LossBuffer:
    """Per-epoch training and validation losses of one model (the latest fit's curve)."""

    epochs: list[float] = field(default_factory=list)
    train: list[float] = field(default_factory=list)
    val: list[float] = field(default_factory=list)
    naive: float | None = None
    fits: int = 0

    def add(self, epoch: float, train: float, val: float | None,
            naive: float | None = None) -> None:
        """Append one epoch; an epoch number that does not increase starts a new fit (refit),
        whose curve replaces the previous one."""
        if not self.epochs or epoch <= self.epochs[-1]:
            self.epochs, self.train, self.val = [], [], []
            self.fits += 1
        self.epochs.append(float(epoch))
        self.train.append(float(train))
        self.val.append(float("nan") if val is None else float(val))
        if naive is not None:
            self.naive = float(naive)

    def add_report(self, report: Any) -> None:
        """Append an :class:`~cryptodesk.models.epochs.EpochReport`."""
        self.add(report.epoch, report.train_loss, report.val_loss, report.naive_val_loss)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.asarray(self.epochs), np.asarray(self.train), np.asarray(self.val)
