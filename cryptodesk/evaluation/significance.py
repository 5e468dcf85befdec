"""Diebold–Mariano test of equal forecast accuracy, with the Harvey–Leybourne–Newbold correction.

``d_t = L(e1_t) - L(e2_t)`` is the loss differential (squared error by default). For h-step
forecasts ``d_t`` may be autocorrelated up to lag h - 1, so its long-run variance is
``gamma_0 + 2 * sum_{k=1}^{h-1} gamma_k`` (autocovariances with divisor n). The statistic
``DM = mean(d) / sqrt(var / n)`` is multiplied by HLN's small-sample factor
``sqrt((n + 1 - 2h + h(h - 1) / n) / n)`` and compared with Student's t with n - 1 degrees of
freedom (Harvey, Leybourne & Newbold 1997; as R's ``forecast::dm.test``). Negative statistics
mean the first forecast has the smaller loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class DMResult:
    """Statistic, two-sided p-value (or one-sided, see ``alternative``), sample size, horizon."""

    statistic: float
    p_value: float
    n: int
    horizon: int
    alternative: str

    def to_dict(self) -> dict[str, float | int | str | None]:
        """JSON-able form (NaN as None)."""
        def clean(v: float) -> float | None:
            return None if not math.isfinite(v) else float(v)

        return {"statistic": clean(self.statistic), "p_value": clean(self.p_value),
                "n": self.n, "horizon": self.horizon, "alternative": self.alternative}


def dm_test(
    errors1: np.ndarray,
    errors2: np.ndarray,
    horizon: int = 1,
    *,
    power: int = 2,
    alternative: Literal["two-sided", "less", "greater"] = "two-sided",
    harvey: bool = True,
) -> DMResult:
    """Diebold–Mariano test that forecasts 1 and 2 are equally accurate.

    ``errors1``/``errors2`` are forecast errors on the same points, in time order; pairs with a
    NaN are dropped. ``power`` 2 = squared-error loss, 1 = absolute. ``alternative="less"`` tests
    whether forecast 1 is more accurate. Returns NaN statistic and p-value when the loss
    differential has no variance (e.g. a model compared with itself) or n < 2.
    """
    e1 = np.asarray(errors1, dtype=np.float64).reshape(-1)
    e2 = np.asarray(errors2, dtype=np.float64).reshape(-1)
    if e1.shape != e2.shape:
        raise ValueError("error series must have the same length")
    return dm_test_differential(
        np.abs(e1) ** power - np.abs(e2) ** power, horizon, alternative=alternative, harvey=harvey
    )


def dm_test_differential(
    d: np.ndarray,
    horizon: int = 1,
    *,
    alternative: Literal["two-sided", "less", "greater"] = "two-sided",
    harvey: bool = True,
) -> DMResult:
    """The DM test on a loss-differential series ``d`` directly (NaNs dropped).

    Used for multi-step runs, where ``d`` is the per-origin mean over steps 1..H of the loss
    differential: an MA(H-1)-correlated series, hence ``horizon`` = H.
    """
    from scipy import stats

    d = np.asarray(d, dtype=np.float64).reshape(-1)
    d = d[np.isfinite(d)]
    n = int(d.shape[0])
    if n < 2 or horizon < 1:
        return DMResult(math.nan, math.nan, n, horizon, alternative)
    mean = float(d.mean())
    centred = d - mean
    var = float(np.dot(centred, centred) / n)
    for k in range(1, min(horizon, n)):
        var += 2.0 * float(np.dot(centred[k:], centred[:-k]) / n)
    if not var > 0:
        return DMResult(math.nan, math.nan, n, horizon, alternative)
    stat = mean / math.sqrt(var / n)
    if harvey:
        factor = (n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n
        stat *= math.sqrt(max(factor, 0.0))
    df = n - 1
    if alternative == "two-sided":
        p = 2.0 * float(stats.t.sf(abs(stat), df))
    elif alternative == "less":
        p = float(stats.t.cdf(stat, df))
    else:
        p = float(stats.t.sf(stat, df))
    return DMResult(float(stat), min(1.0, p), n, horizon, alternative)


def holm_adjust(p_values: list[float | None]) -> list[float | None]:
    """Holm–Bonferroni adjusted p-values (step-down, monotone, capped at 1).

    A study tests many comparisons at once (model pairs × series × metrics); with 20 tests at
    5 % one "significant" result is expected by chance alone. Holm's method controls the
    family-wise error rate without assuming independence and is uniformly more powerful than
    Bonferroni: the k-th smallest of m p-values is multiplied by ``m - k + 1``, then a running
    maximum keeps the order. None or NaN entries (tests that could not be run) stay None and
    do not count towards m.
    """
    valid = [(float(p), i) for i, p in enumerate(p_values)
             if p is not None and math.isfinite(float(p))]
    out: list[float | None] = [None] * len(p_values)
    m = len(valid)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(valid)):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out
