"""Forecast targets: the log return from a bar's close to the close ``h`` bars later.

Models learn and forecast log returns, not prices: returns are roughly stationary, scale-free
across price regimes (BTC at 400 and at 100,000) and sum over steps. A price forecast is derived
as ``close[t] * exp(forecast)`` (:meth:`cryptodesk.models.base.Forecast.from_log_returns`).
Targets look forward by definition; they are only ever computed inside a training window, whose
last ``h`` rows therefore have no target (NaN) and are dropped by the model.
"""

from __future__ import annotations

import numpy as np


def future_log_returns(close: np.ndarray, horizon: int) -> np.ndarray:
    """``(n, horizon)`` array: column h-1 holds ``log(close[t + h] / close[t])``, NaN past the end."""
    close = np.asarray(close, dtype=np.float64)
    n = close.shape[0]
    out = np.full((n, horizon), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        logc = np.log(close)
    for h in range(1, horizon + 1):
        if h < n:
            out[: n - h, h - 1] = logc[h:] - logc[: n - h]
    return out


def future_values(values: np.ndarray, horizon: int) -> np.ndarray:
    """``(n, horizon)``: column h-1 holds ``values[t + h]`` (NaN past the end): the targets of
    price-level nets and of volatility models, only ever computed inside a training window."""
    v = np.asarray(values, dtype=np.float64)
    n = v.shape[0]
    out = np.full((n, horizon), np.nan)
    for h in range(1, horizon + 1):
        if h < n:
            out[: n - h, h - 1] = v[h:]
    return out
