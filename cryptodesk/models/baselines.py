"""Baselines every model must beat: naive (last close) and drift (mean log return).

They are the yardstick of the evaluation (Theil's U and the Diebold–Mariano test compare every
model with ``naive``), so they are as simple as they can be and fit in microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.jobs import TaskContext
from cryptodesk.models.base import Forecast, Forecaster
from cryptodesk.models.config import ModelConfig


@dataclass(frozen=True)
class NaiveConfig(ModelConfig):
    """The naive model has no settings."""


class NaiveForecaster(Forecaster):
    """Random-walk forecast: every future close equals the last known close.

    For a martingale price it is the best point forecast there is; on crypto closes it is hard
    to beat, which is exactly why every model is reported next to it.
    """

    name = "naive"
    config_cls = NaiveConfig

    def _fit(self, train: pd.DataFrame, ctx: TaskContext, horizon: int) -> None:
        del train, ctx, horizon  # nothing to learn

    def _predict(self, history: pd.DataFrame, horizon: int) -> Forecast:
        if self.target == "volatility":  # the last realised variance
            from cryptodesk.models.volatility import VAR_FLOOR, last_finite, realised

            value = last_finite(realised(history, self.name)[-100:])
            return Forecast(point=np.full(horizon, max(value, VAR_FLOOR)))
        last = float(history["close"].iat[-1])
        return Forecast(point=np.full(horizon, last))

    def calibration_paths(self, train: pd.DataFrame, origins: np.ndarray, horizon: int) -> np.ndarray:
        return np.zeros((len(origins), horizon))  # no change, from every origin


@dataclass(frozen=True)
class DriftConfig(ModelConfig):
    """The drift model has no settings: it uses its whole training window."""


class DriftForecaster(Forecaster):
    """Random walk with drift on log prices: ``close[t+h] = close[t] * exp(h * mu)``.

    ``mu`` and ``sigma`` are the mean and sd of one-bar log returns over the training window
    (the slope of the line from the first to the last log close, as in Hyndman's drift method).
    The predictive distribution of the h-step log return is N(h mu, h sigma^2), which gives the
    80 % interval and P(up).
    """

    name = "drift"
    config_cls = DriftConfig

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.mu = 0.0
        self.sigma = 0.0

    def _fit(self, train: pd.DataFrame, ctx: TaskContext, horizon: int) -> None:
        close = train["close"].to_numpy(dtype=np.float64)
        ret = np.diff(np.log(close))
        ret = ret[np.isfinite(ret)]
        self.mu = float(ret.mean()) if ret.size else 0.0
        self.sigma = float(ret.std(ddof=1)) if ret.size > 1 else 0.0

    def _predict(self, history: pd.DataFrame, horizon: int) -> Forecast:
        steps = np.arange(1, horizon + 1, dtype=np.float64)
        last = float(history["close"].iat[-1])
        return Forecast.from_log_returns(last, steps * self.mu, np.sqrt(steps) * self.sigma)

    def calibration_paths(self, train: pd.DataFrame, origins: np.ndarray, horizon: int) -> np.ndarray:
        steps = np.arange(1, horizon + 1, dtype=np.float64)
        return np.tile(steps * self.mu, (len(origins), 1))  # the same path from every origin

    def get_state(self) -> dict[str, Any]:
        return {"mu": self.mu, "sigma": self.sigma}

    def set_state(self, state: dict[str, Any]) -> None:
        self.mu = float(state["mu"])
        self.sigma = float(state["sigma"])
