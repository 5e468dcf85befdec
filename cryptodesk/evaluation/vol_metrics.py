"""Scores of volatility forecasts: QLIKE, MSE on variance, Mincer–Zarnowitz R², and a
Diebold–Mariano test against naive volatility on QLIKE.

Why QLIKE first: realised variance is a noisy proxy of the true variance, and only a few loss
functions rank forecasts the same way under such noise (Patton 2011); MSE and QLIKE are the
two, and QLIKE is far less dominated by a few turbulent days. QLIKE here is Patton's
normalised form ``a/f - log(a/f) - 1`` (0 for a perfect forecast), averaged over the points with
a positive realised variance; the Diebold–Mariano test uses the equivalent loss
``log f + a/f`` (the same differences between two models, defined at a = 0 too).
Mincer–Zarnowitz: regress the realised on the forecast variance, ``a = b0 + b1 f``; R² says
how much of the realised variation the forecast explains, whatever its bias.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.evaluation.significance import dm_test_differential

NAN = math.nan
VOL_METRIC_NAMES = ("n", "qlike", "mse_var", "mz_r2", "dm_statistic", "dm_p_value")


def _pairs(actual: np.ndarray, forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, f = np.asarray(actual, np.float64), np.asarray(forecast, np.float64)
    ok = np.isfinite(a) & np.isfinite(f) & (f > 0) & (a >= 0)
    return a[ok], f[ok]


def qlike(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean of ``a/f - log(a/f) - 1`` over points with a > 0."""
    a, f = _pairs(actual, forecast)
    keep = a > 0
    if not keep.any():
        return NAN
    ratio = a[keep] / f[keep]
    return float(np.mean(ratio - np.log(ratio) - 1.0))


def qlike_loss(actual: np.ndarray, forecast: np.ndarray) -> np.ndarray:
    """Pointwise ``log f + a/f`` (NaN where undefined): QLIKE up to a term free of f."""
    a, f = np.asarray(actual, np.float64), np.asarray(forecast, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(f) + a / f
    return np.where(np.isfinite(out) & (f > 0) & (a >= 0), out, np.nan)


def mse_var(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean squared error of the variance forecast."""
    a, f = _pairs(actual, forecast)
    return float(np.mean((a - f) ** 2)) if a.size else NAN


def mz_r2(actual: np.ndarray, forecast: np.ndarray) -> float:
    """R² of the Mincer–Zarnowitz regression ``a = b0 + b1 f`` (NaN if f is constant)."""
    a, f = _pairs(actual, forecast)
    if a.size < 3 or float(np.var(f)) == 0.0:
        return NAN
    r = np.corrcoef(a, f)[0, 1]
    return float(r * r)


def score_volatility(forecasts: pd.DataFrame, naive: pd.DataFrame, horizon: int) -> dict[str, Any]:
    """Volatility scores of one model on the points it shares with naive volatility; adds
    ``per_horizon`` when ``horizon`` > 1."""
    joined = forecasts.merge(
        naive[["origin", "horizon", "forecast"]].rename(columns={"forecast": "naive"}),
        on=["origin", "horizon"], how="inner",
    )
    out = _scores(joined, horizon)
    if horizon > 1:
        out["per_horizon"] = {int(h): _scores(part, 1)
                              for h, part in joined.groupby("horizon", sort=True)}
    return out


def _scores(j: pd.DataFrame, horizon: int) -> dict[str, Any]:
    a, f, nv = (j[c].to_numpy(np.float64) for c in ("actual", "forecast", "naive"))
    d = qlike_loss(a, f) - qlike_loss(a, nv)
    per_origin = pd.Series(d).groupby(j["origin"].to_numpy(), sort=True).mean().to_numpy()
    dm = dm_test_differential(per_origin[np.isfinite(per_origin)], horizon)
    return {
        "n": int(_pairs(a, f)[0].size),
        "qlike": qlike(a, f),
        "mse_var": mse_var(a, f),
        "mz_r2": mz_r2(a, f),
        "dm_statistic": dm.statistic,
        "dm_p_value": dm.p_value,
    }
