"""Volatility baselines: EWMA (RiskMetrics), GARCH(1,1) and HAR-RV.

They forecast the realised variance of each of the next ``horizon`` bars (the ``rv`` column of
:func:`cryptodesk.features.volatility.volatility_frame`), for runs with the ``volatility``
target; ``naive`` (the last realised value) is the baseline they are scored against.

- ``ewma``: RiskMetrics, ``s2[t+1] = lambda s2[t] + (1 - lambda) v[t]`` with lambda 0.94, as
  a normalised weighted mean of the last ``window`` values (0.94**100 = 0.002, so the cut is
  invisible, and a forecast depends on a fixed tail only); flat over the horizon.
- ``garch``: GARCH(1,1) on the demeaned log returns of the close, fitted by Gaussian maximum
  likelihood on the training window; multi-step forecasts revert to the unconditional variance
  at rate ``alpha + beta``. Between refits the variance filter re-runs over the last
  ``filter_tail`` returns, from the unconditional variance.
- ``har``: HAR-RV (Corsi 2009), one least-squares regression per step of ``v[t+h]`` on the last
  value and its 5- and 22-bar means; forecasts floored at a small positive variance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.errors import ModelError
from cryptodesk.features.volatility import RV_COLUMN, future_values, har_features
from cryptodesk.jobs import TaskContext
from cryptodesk.models.base import Forecast, Forecaster
from cryptodesk.models.config import ModelConfig, param

VAR_FLOOR = 1e-12


def realised(frame: pd.DataFrame, who: str) -> np.ndarray:
    """The ``rv`` column of a volatility frame (ModelError naming the model without it)."""
    if RV_COLUMN not in frame.columns:
        raise ModelError(f"{who}: the data have no realised-variance column; run it with the "
                         "volatility target")
    return frame[RV_COLUMN].to_numpy(dtype=np.float64)


def last_finite(values: np.ndarray) -> float:
    """The newest finite value (NaN if none)."""
    ok = np.flatnonzero(np.isfinite(values))
    return float(values[ok[-1]]) if ok.size else math.nan


def ewma_variance(values: np.ndarray, lam: float, window: int) -> float:
    """Normalised EWMA of the last ``window`` finite values (newest weighs most)."""
    tail = values[-window:]
    tail = tail[np.isfinite(tail)]
    if tail.size == 0:
        return math.nan
    w = lam ** np.arange(tail.size - 1, -1, -1, dtype=np.float64)
    return float(np.dot(w, tail) / w.sum())


# ---------------------------------------------------------------------- EWMA
@dataclass(frozen=True)
class EwmaConfig(ModelConfig):
    """RiskMetrics settings."""

    lam: float = param(0.94, min=0.5, max=0.9999, label="Decay (lambda)",
                       help="RiskMetrics uses 0.94 for daily data.")
    window: int = param(100, min=1, max=10_000, advanced=True, label="Window (bars)")


class EwmaForecaster(Forecaster):
    """RiskMetrics exponentially weighted realised variance."""

    name = "ewma"
    config_cls = EwmaConfig
    config: EwmaConfig

    def _fit(self, train: pd.DataFrame, ctx: TaskContext, horizon: int) -> None:
        realised(train, self.name)  # nothing to learn: lambda is fixed

    def min_history(self) -> int:
        return 1

    def _predict(self, history: pd.DataFrame, horizon: int) -> Forecast:
        v = ewma_variance(realised(history, self.name), self.config.lam, self.config.window)
        return Forecast(point=np.full(horizon, max(v, VAR_FLOOR)))


# ---------------------------------------------------------------------- GARCH(1,1)
@dataclass(frozen=True)
class GarchConfig(ModelConfig):
    """GARCH(1,1) estimation settings."""

    filter_tail: int = param(500, min=20, max=1_000_000, advanced=True,
                             label="Filter tail (bars)",
                             help="Returns re-filtered at each forecast for the latest variance.")


@dataclass(frozen=True)
class GarchFit:
    """Fitted GARCH(1,1): mean return, omega, alpha, beta, log-likelihood."""

    mu: float
    omega: float
    alpha: float
    beta: float
    llf: float

    @property
    def unconditional(self) -> float:
        return self.omega / max(1.0 - self.alpha - self.beta, 1e-6)


def garch_filter(eps: np.ndarray, omega: float, alpha: float, beta: float,
                 start: float) -> np.ndarray:
    """Conditional variances ``s2[0..n]``: ``s2[0] = start``, ``s2[t+1] = omega + alpha
    eps[t]^2 + beta s2[t]`` (one more than ``eps``: the last is the one-step forecast)."""
    from scipy.signal import lfilter

    drive = omega + alpha * eps * eps
    s2 = np.empty(eps.shape[0] + 1)
    s2[0] = start
    s2[1:] = lfilter([1.0], [1.0, -beta], drive, zi=[beta * start])[0]
    return s2


def fit_garch(ret: np.ndarray) -> GarchFit:
    """Gaussian maximum likelihood of GARCH(1,1) on ``ret`` (mean estimated as the sample
    mean; variance started at the sample variance), with omega, alpha, beta > 0 and
    alpha + beta < 1."""
    from scipy.optimize import minimize

    mu = float(ret.mean())
    eps = ret - mu
    var = float(eps.var())
    if not var > 0:
        raise ModelError("garch: the returns have no variance")

    def nll(theta: np.ndarray) -> float:
        omega, alpha, beta = theta[0] * var, theta[1], theta[2]
        if alpha + beta >= 0.9999:
            return 1e10
        s2 = garch_filter(eps, omega, alpha, beta, var)[:-1]
        if np.any(s2 <= 0):
            return 1e10
        return 0.5 * float(np.sum(np.log(s2) + eps * eps / s2))

    best = None
    for start in ((0.05, 0.10, 0.85), (0.01, 0.05, 0.94)):
        sol = minimize(nll, np.array(start), method="L-BFGS-B",
                       bounds=[(1e-6, 10.0), (1e-6, 0.9999), (0.0, 0.9999)])
        if best is None or sol.fun < best.fun:
            best = sol
    assert best is not None
    n = eps.shape[0]
    llf = -best.fun - 0.5 * n * math.log(2 * math.pi)
    return GarchFit(mu, float(best.x[0] * var), float(best.x[1]), float(best.x[2]), llf)


class GarchForecaster(Forecaster):
    """GARCH(1,1) variance forecasts of the log returns."""

    name = "garch"
    config_cls = GarchConfig
    config: GarchConfig

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.fit_result: GarchFit | None = None

    def _fit(self, train: pd.DataFrame, ctx: TaskContext, horizon: int) -> None:
        ret = _log_returns(train["close"].to_numpy(np.float64))
        ret = ret[np.isfinite(ret)]
        if ret.size < 50:
            raise ModelError("garch: fewer than 50 finite returns in the training window")
        ctx.check_cancelled()
        self.fit_result = fit_garch(ret)

    def min_history(self) -> int:
        return 2

    def _predict(self, history: pd.DataFrame, horizon: int) -> Forecast:
        fit = self.fit_result
        assert fit is not None
        close = history["close"].to_numpy(np.float64)[-(self.config.filter_tail + 1):]
        eps = _log_returns(close) - fit.mu
        eps = np.where(np.isfinite(eps), eps, 0.0)
        uncond = fit.unconditional
        next_var = garch_filter(eps, fit.omega, fit.alpha, fit.beta, uncond)[-1]
        decay = (fit.alpha + fit.beta) ** np.arange(horizon, dtype=np.float64)
        return Forecast(point=np.maximum(uncond + decay * (next_var - uncond), VAR_FLOOR))

    def fit_summary(self) -> dict[str, Any]:
        fit = self.fit_result
        return {} if fit is None else {"omega": fit.omega, "alpha": fit.alpha, "beta": fit.beta}

    def get_state(self) -> dict[str, Any]:
        fit = self.fit_result
        return {} if fit is None else {"mu": fit.mu, "omega": fit.omega, "alpha": fit.alpha,
                                       "beta": fit.beta, "llf": fit.llf}

    def set_state(self, state: dict[str, Any]) -> None:
        self.fit_result = GarchFit(float(state["mu"]), float(state["omega"]),
                                   float(state["alpha"]), float(state["beta"]),
                                   float(state["llf"]))


def _log_returns(close: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.diff(np.log(close))


# ---------------------------------------------------------------------- HAR-RV
@dataclass(frozen=True)
class HarConfig(ModelConfig):
    """HAR-RV has no settings: the 1/5/22-bar components are the model."""


class HarForecaster(Forecaster):
    """HAR-RV: direct least squares per step on the 1-, 5- and 22-bar realised variance."""

    name = "har"
    config_cls = HarConfig

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.coef: list[list[float]] = []  # per step: intercept, daily, weekly, monthly
        self.floor = VAR_FLOOR

    def min_history(self) -> int:
        return 22

    def _fit(self, train: pd.DataFrame, ctx: TaskContext, horizon: int) -> None:
        v = realised(train, self.name)
        x = har_features(v)
        y = future_values(v, horizon)
        self.coef = []
        for h in range(horizon):
            ok = np.all(np.isfinite(x), axis=1) & np.isfinite(y[:, h])
            if ok.sum() < 30:
                raise ModelError(f"har: only {int(ok.sum())} usable rows for step {h + 1}")
            design = np.column_stack([np.ones(int(ok.sum())), x[ok]])
            beta, *_ = np.linalg.lstsq(design, y[ok, h], rcond=None)
            self.coef.append([float(b) for b in beta])
        finite = v[np.isfinite(v) & (v > 0)]
        self.floor = max(float(np.quantile(finite, 0.01)) if finite.size else VAR_FLOOR, VAR_FLOOR)

    def _predict(self, history: pd.DataFrame, horizon: int) -> Forecast:
        v = realised(history, self.name)[-22:]
        row = har_features(v)[-1]
        if not np.all(np.isfinite(row)):
            row = np.array([last_finite(v), np.nanmean(v[-5:]), np.nanmean(v)])
        out = np.array([c[0] + float(np.dot(c[1:], row)) for c in self.coef[:horizon]])
        return Forecast(point=np.maximum(out, self.floor))

    def get_state(self) -> dict[str, Any]:
        return {"coef": self.coef, "floor": self.floor}

    def set_state(self, state: dict[str, Any]) -> None:
        self.coef = [[float(b) for b in c] for c in state["coef"]]
        self.floor = float(state["floor"])
