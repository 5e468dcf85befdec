"""Paired moving-block bootstrap of the % change in forecast error between two models.

Forecast errors of daily crypto returns are serially dependent (volatility clusters), so
resampling single points would understate the uncertainty. The moving-block bootstrap
(Künsch 1989) resamples blocks of consecutive test points; block length ``T ** (1/3)`` is the
usual rate-optimal choice for variance-type statistics. Both models are resampled with the
*same* indices (a paired design: they forecast the same points), and for each resample the
metric is computed per seed and averaged over seeds, exactly as the point estimate is.
Deterministic: the generator is seeded, so a study's confidence intervals are reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

METRICS = ("mae", "rmse", "loss")


@dataclass(frozen=True)
class PctChange:
    """% change of model A's error over model B's (negative: A is better), with its CI."""

    estimate: float
    low: float
    high: float
    level: float
    replicates: np.ndarray  # the bootstrap distribution (for pooling across series)


def block_indices(n: int, replicates: int, rng: np.random.Generator,
                  block: int | None = None) -> np.ndarray:
    """``(replicates, n)`` row numbers of moving-block resamples of a series of length ``n``."""
    if n < 1:
        raise ValueError("nothing to resample")
    block = max(1, min(n, block or round(n ** (1 / 3))))
    per = math.ceil(n / block)
    starts = rng.integers(0, n - block + 1, size=(replicates, per))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(replicates, -1)
    return idx[:, :n]


def seed_metric(errors: np.ndarray, metric: str, idx: np.ndarray | None = None) -> np.ndarray:
    """The metric of each seed's errors (``errors``: ``(seeds, n)``), averaged over seeds:
    shape ``()`` without ``idx``, ``(replicates,)`` with ``(replicates, n)`` resample rows.
    ``loss``: the rows already hold per-point losses (QLIKE of variance forecasts), averaged."""
    e = errors if idx is None else errors[:, idx]  # (seeds, [replicates,] n)
    if metric == "mae":
        per_seed = np.abs(e).mean(axis=-1)
    elif metric == "loss":
        per_seed = e.mean(axis=-1)
    elif metric == "rmse":
        per_seed = np.sqrt(np.square(e).mean(axis=-1))
    else:
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    return per_seed.mean(axis=0)


def pct_change(errors_a: np.ndarray, errors_b: np.ndarray, metric: str, *,
               replicates: int = 2000, level: float = 0.95, seed: int = 0) -> PctChange:
    """% change of the seed-averaged ``metric`` of A over B, with a percentile CI.

    ``errors_a`` / ``errors_b``: ``(seeds, n)`` forecast errors on the same ``n`` points in
    time order (a deterministic model has one seed row).
    """
    a, b = np.atleast_2d(errors_a), np.atleast_2d(errors_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError("both models must be scored on the same points")
    estimate = 100.0 * (float(seed_metric(a, metric)) / float(seed_metric(b, metric)) - 1.0)
    idx = block_indices(a.shape[1], replicates, np.random.default_rng(seed))
    reps = 100.0 * (seed_metric(a, metric, idx) / seed_metric(b, metric, idx) - 1.0)
    low, high = percentile_ci(reps, level)
    return PctChange(estimate, low, high, level, reps)


def percentile_ci(replicates: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The percentile interval of a bootstrap distribution."""
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(replicates, [tail, 100.0 - tail])
    return float(low), float(high)
