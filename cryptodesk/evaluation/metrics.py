"""Forecast accuracy metrics on aligned arrays (actual, forecast, ...).

Every function ignores positions where any of its inputs is NaN, returns NaN when nothing is
left, and takes plain arrays, so the same numbers come out of the CLI, the GUI and the tests.
Percentages (MAPE, sMAPE, directional accuracy, coverage) are in percent.
"""

from __future__ import annotations

import numpy as np

NAN = float("nan")


def _clean(*arrays: np.ndarray) -> list[np.ndarray]:
    arrs = [np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays]
    n = arrs[0].shape[0]
    if any(a.shape[0] != n for a in arrs):
        raise ValueError("metric inputs must have the same length")
    ok = np.ones(n, dtype=bool)
    for a in arrs:
        ok &= np.isfinite(a)
    return [a[ok] for a in arrs]


def mae(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute error."""
    a, f = _clean(actual, forecast)
    return float(np.mean(np.abs(a - f))) if a.size else NAN


def rmse(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Root mean squared error."""
    a, f = _clean(actual, forecast)
    return float(np.sqrt(np.mean((a - f) ** 2))) if a.size else NAN


def mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute percentage error, % (points with actual == 0 are left out)."""
    a, f = _clean(actual, forecast)
    keep = a != 0
    a, f = a[keep], f[keep]
    return float(100.0 * np.mean(np.abs((a - f) / a))) if a.size else NAN


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE, % in [0, 200]: ``mean(2 |f - a| / (|a| + |f|))`` (0/0 counts as 0)."""
    a, f = _clean(actual, forecast)
    if not a.size:
        return NAN
    denom = np.abs(a) + np.abs(f)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(denom > 0, 2.0 * np.abs(f - a) / denom, 0.0)
    return float(100.0 * np.mean(terms))


def naive_scale(history: np.ndarray, m: int = 1) -> float:
    """MASE denominator: in-sample MAE of the (seasonal, lag ``m``) naive forecast on ``history``.

    Computed on data before the test window (Hyndman & Koehler 2006), so it is known in advance.
    """
    h = np.asarray(history, dtype=np.float64)
    d = np.abs(h[m:] - h[:-m])
    d = d[np.isfinite(d)]
    return float(np.mean(d)) if d.size else NAN


def mase(actual: np.ndarray, forecast: np.ndarray, scale: float) -> float:
    """Mean absolute scaled error: MAE divided by :func:`naive_scale` of the training data."""
    if not np.isfinite(scale) or scale <= 0:
        return NAN
    return mae(actual, forecast) / scale


def directional_accuracy(actual: np.ndarray, forecast: np.ndarray, last: np.ndarray) -> float:
    """% of points where the forecast change and the realised change (both from the close at
    the origin, ``last``) have the same sign. Ties (either change exactly 0) are left out, so the
    naive forecast, which never predicts a change, gets NaN rather than a flattering 0 or 50."""
    a, f, base = _clean(actual, forecast, last)
    fc, ac = np.sign(f - base), np.sign(a - base)
    keep = (fc != 0) & (ac != 0)
    return float(100.0 * np.mean(fc[keep] == ac[keep])) if keep.any() else NAN


def theils_u(actual: np.ndarray, forecast: np.ndarray, naive: np.ndarray) -> float:
    """Theil's U2: RMSE of the forecast over RMSE of the naive forecast on the same points.

    1.0 = no better than the last close; below 1 = better. On liquid crypto closes a value far
    below 1 usually means a leak, not skill.
    """
    a, f, n = _clean(actual, forecast, naive)
    base = rmse(a, n)
    if not np.isfinite(base) or base == 0:
        return NAN
    return rmse(a, f) / base


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """% of actuals inside ``[lower, upper]`` (nominal 80 % for the q10–q90 interval)."""
    a, lo, hi = _clean(actual, lower, upper)
    return float(100.0 * np.mean((a >= lo) & (a <= hi))) if a.size else NAN


def pinball(actual: np.ndarray, quantile: np.ndarray, alpha: float) -> float:
    """Mean pinball (quantile) loss of a forecast of the ``alpha`` quantile."""
    a, q = _clean(actual, quantile)
    if not a.size:
        return NAN
    diff = a - q
    return float(np.mean(np.maximum(alpha * diff, (alpha - 1.0) * diff)))


def interval_pinball(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Mean of the pinball losses of the 10 % (``lower``) and 90 % (``upper``) quantiles."""
    a, lo, hi = _clean(actual, lower, upper)
    if not a.size:
        return NAN
    return 0.5 * (pinball(a, lo, 0.1) + pinball(a, hi, 0.9))
