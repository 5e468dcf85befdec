"""How well a model's uncertainty matches what happened: interval coverage per horizon, a PIT
histogram, and for P(up) the Brier score and a reliability diagram.

Why these: an 80 % interval that covers 95 % is as useless as one that covers 60 %, and an
average coverage can hide a band that is right at step 1 and far too narrow at step 7. The PIT
(probability integral transform: the predictive CDF at the actual) is uniform for a calibrated
forecast; a U shape means too narrow, a hump too wide. The Brier score and the reliability
diagram ask the same of P(up): when the model says 60 %, does the price rise 60 % of the time?

The walk-forward keeps three numbers of each predictive distribution (q10, point, q90), so the
PIT is taken from a split normal through them on the log-price scale: normal below the point
with the spread of its lower half, above it with the spread of its upper half. All sections
are plain JSON data (lists and dicts) that the JSON report carries and the GUI draws.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.models.base import Z90, normal_cdf

PIT_BINS = 10
RELIABILITY_BINS = 10


def coverage_by_horizon(forecasts: pd.DataFrame) -> dict[int, float | None]:
    """% of actuals inside [lower, upper] for each step (None without an interval)."""
    out: dict[int, float | None] = {}
    for h, part in forecasts.groupby("horizon", sort=True):
        a, lo, hi = (part[c].to_numpy(np.float64) for c in ("actual", "lower", "upper"))
        ok = np.isfinite(a) & np.isfinite(lo) & np.isfinite(hi)
        out[int(h)] = float(100.0 * np.mean((a[ok] >= lo[ok]) & (a[ok] <= hi[ok]))) if ok.any() else None
    return out


def pit_values(forecasts: pd.DataFrame) -> np.ndarray:
    """PIT of each forecast with an interval, from the split normal through q10, point, q90."""
    a, f, lo, hi = (forecasts[c].to_numpy(np.float64) for c in ("actual", "forecast", "lower", "upper"))
    ok = np.isfinite(a) & np.isfinite(f) & np.isfinite(lo) & np.isfinite(hi) & (a > 0) & (f > 0) \
        & (lo > 0) & (hi > 0)
    a, f, lo, hi = np.log(a[ok]), np.log(f[ok]), np.log(lo[ok]), np.log(hi[ok])
    sd_lo = np.maximum((f - lo) / Z90, 1e-12)
    sd_hi = np.maximum((hi - f) / Z90, 1e-12)
    z = np.where(a < f, (a - f) / sd_lo, (a - f) / sd_hi)
    return normal_cdf(z)


def pit_histogram(forecasts: pd.DataFrame, bins: int = PIT_BINS) -> dict[str, Any] | None:
    """Counts of PIT values in ``bins`` equal bins of [0, 1] (None without intervals)."""
    pit = pit_values(forecasts)
    if pit.size == 0:
        return None
    counts, edges = np.histogram(pit, bins=bins, range=(0.0, 1.0))
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts],
            "n": int(pit.size)}


def _up_outcomes(forecasts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    p = forecasts["p_up"].to_numpy(np.float64)
    a = forecasts["actual"].to_numpy(np.float64)
    last = forecasts["last_close"].to_numpy(np.float64)
    ok = np.isfinite(p) & np.isfinite(a) & np.isfinite(last)
    return p[ok], (a[ok] > last[ok]).astype(np.float64)


def brier_score(forecasts: pd.DataFrame) -> float:
    """Mean squared error of P(up) against the outcome (1 = the close rose); NaN without P(up)."""
    p, y = _up_outcomes(forecasts)
    return float(np.mean((p - y) ** 2)) if p.size else math.nan


def reliability(forecasts: pd.DataFrame, bins: int = RELIABILITY_BINS) -> list[dict[str, Any]]:
    """The reliability diagram of P(up): per bin of forecast probability, the mean forecast,
    the observed share of rises and the count (empty bins left out)."""
    p, y = _up_outcomes(forecasts)
    if p.size == 0:
        return []
    which = np.minimum((p * bins).astype(np.int64), bins - 1)
    rows = []
    for b in range(bins):
        sel = which == b
        if sel.any():
            rows.append({"p_lo": b / bins, "p_hi": (b + 1) / bins, "mean_p": float(p[sel].mean()),
                         "observed": float(y[sel].mean()), "n": int(sel.sum())})
    return rows


def calibration_summary(forecasts: pd.DataFrame) -> dict[str, Any]:
    """Every calibration display of one model's walk-forward forecasts, as JSON data."""
    brier = brier_score(forecasts)
    return {
        "coverage_by_horizon": {str(h): v for h, v in coverage_by_horizon(forecasts).items()},
        "pit_histogram": pit_histogram(forecasts),
        "brier": None if not math.isfinite(brier) else brier,
        "reliability": reliability(forecasts),
    }
