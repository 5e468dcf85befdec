"""Conformal 80 % intervals and P(up) for every model, from out-of-fold residuals.

Why: a model's own interval is only as good as its error model. Normal intervals from the
whole training history (drift, ARIMA) covered 92–97 % of daily closes in a calm test year;
LightGBM's quantile boosters covered 75–81 % and cost two extra boosters per step. Split
conformal prediction fixes the coverage for any point forecaster with one assumption
(exchangeable scores) and no distribution.

How, at every fit, inside the training window only:

1. Hold back the last ``n_cal`` bars of the window. A copy of the model (same config) is fitted
   on the bars before them (``calibration_folds`` > 1: one copy per block, each fitted on the
   bars before its block: rolling origin).
2. From every origin ``o`` in the held-back tail, forecast ``h = 1..H`` steps; the score is the
   error of the cumulative log return, scaled by the local volatility at the origin:
   ``s = (log(c[o+h]/c[o]) - yhat) / (sigma_o * sqrt(h))``. ``sigma_o`` is a RiskMetrics EWMA
   (lambda 0.94) of the last :data:`VOL_WINDOW` log returns up to ``o``: a finite causal window,
   so the band widens in turbulent weeks and narrows in calm ones.
3. Per step, keep the finite-sample conformal quantiles of the scores (the ⌊(n+1)·0.1⌋-th and
   ⌈(n+1)·0.9⌉-th smallest) and a grid of score quantiles (for P(up) and the PIT).

At prediction, ``q10/q90 = c[t]·exp(yhat + q·sigma_t·sqrt(h))`` and
``P(up) = P(s > -yhat / (sigma_t sqrt(h)))`` from the score distribution. Every input is data
up to the origin, so the band is as causal as the point forecast (the contract tests perturb
the future to prove it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cryptodesk.errors import ModelError
from cryptodesk.jobs import TaskContext

if TYPE_CHECKING:
    from cryptodesk.models.base import Forecast, Forecaster

ALPHA = 0.1  # q10 / q90: the 80 % interval every report scores
VOL_WINDOW = 100  # returns in the local-volatility window (0.94**100 = 0.002: the rest is noise)
EWMA_LAMBDA = 0.94
LEVELS = np.round(np.linspace(0.005, 0.995, 199), 6)  # score-quantile grid kept per step
MIN_SCORES = 20  # fewer out-of-fold scores than this: no calibration (model's own band)
AUTO_CAP = 500  # automatic calibration tail: a quarter of the window, at most this many bars
VOL_FLOOR = 1e-10


def _ewma_weights(n: int) -> np.ndarray:
    w = EWMA_LAMBDA ** np.arange(n - 1, -1, -1, dtype=np.float64)  # newest return weighs most
    return w / w.sum()


def local_vol(close: np.ndarray) -> float:
    """EWMA volatility (per bar, log returns) from the last :data:`VOL_WINDOW` returns of
    ``close``; NaN returns are skipped. The scale of the conformal scores at an origin."""
    tail = np.asarray(close[-(VOL_WINDOW + 1):], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.diff(np.log(tail))
    r = r[np.isfinite(r)]
    if r.size == 0:
        return VOL_FLOOR
    return max(math.sqrt(float(np.dot(_ewma_weights(r.size), r * r))), VOL_FLOOR)


def local_vols(close: np.ndarray, origins: np.ndarray) -> np.ndarray:
    """:func:`local_vol` at each origin (``close[: o + 1]``), same definition, vectorised over
    origins whose window is complete and free of NaN (the rest one by one)."""
    origins = np.asarray(origins, dtype=np.int64)
    close = np.asarray(close, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.diff(np.log(close))
    out = np.empty(origins.shape[0])
    full = origins >= VOL_WINDOW
    if full.any():
        windows = np.lib.stride_tricks.sliding_window_view(r, VOL_WINDOW)  # row j: r[j:j+W]
        rows = windows[origins[full] - VOL_WINDOW]  # returns ending at close[o]
        var = (rows * rows) @ _ewma_weights(VOL_WINDOW)
        out[full] = np.sqrt(np.maximum(var, VOL_FLOOR**2))
    bad = ~full | ~np.isfinite(out)
    for i in np.flatnonzero(bad):
        out[i] = local_vol(close[: int(origins[i]) + 1])
    return out


@dataclass(frozen=True)
class Calibration:
    """Per-step score quantiles from one fit's out-of-fold residuals.

    ``lower``/``upper``: the conformal 10 % / 90 % score quantiles per step; ``grid``: score
    quantiles at :data:`LEVELS` per step (rows = steps); ``n``: scores per step.
    """

    lower: np.ndarray
    upper: np.ndarray
    grid: np.ndarray
    n: tuple[int, ...]

    @property
    def horizon(self) -> int:
        return int(self.lower.shape[0])

    def to_state(self) -> dict[str, Any]:
        """JSON-able form (saved in ``model.json``)."""
        return {"lower": self.lower.tolist(), "upper": self.upper.tolist(),
                "grid": self.grid.tolist(), "n": list(self.n),
                "levels": [float(v) for v in LEVELS], "vol_window": VOL_WINDOW,
                "ewma_lambda": EWMA_LAMBDA}

    @classmethod
    def from_state(cls, state: dict[str, Any] | None) -> Calibration | None:
        """Inverse of :meth:`to_state` (None for models saved without calibration)."""
        if not state:
            return None
        try:
            lower = np.asarray(state["lower"], dtype=np.float64).reshape(-1)
            upper = np.asarray(state["upper"], dtype=np.float64).reshape(-1)
            grid = np.asarray(state["grid"], dtype=np.float64)
            n = tuple(int(v) for v in state["n"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"the saved calibration is damaged ({exc})") from None
        if grid.shape != (lower.shape[0], LEVELS.shape[0]) or upper.shape != lower.shape \
                or not (np.all(np.isfinite(grid)) and np.all(np.isfinite(lower))
                        and np.all(np.isfinite(upper))):
            raise ModelError("the saved calibration is damaged (shapes or values)")
        return cls(lower, upper, grid, n)

    def apply_to_closes(self, forecast: Forecast, close: np.ndarray,
                        keep_p_up: bool = False) -> Forecast:
        """The forecast with the calibrated band and P(up) around its point forecast, given
        the closes up to its origin (a batch of origins slices one array instead of one frame
        per origin)."""
        from cryptodesk.models.base import Forecast

        last = float(close[-1])
        h = forecast.horizon
        steps = np.arange(1, h + 1, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            yhat = np.log(np.asarray(forecast.point) / last)
        scale = local_vol(close) * np.sqrt(steps)
        lo, hi, grid = self.lower[:h], self.upper[:h], self.grid[:h]
        z = -yhat / scale
        p_up = np.array([1.0 - _cdf(grid[k], z[k]) for k in range(h)])
        return Forecast(
            point=forecast.point,
            q10=last * np.exp(yhat + lo * scale),
            q90=last * np.exp(yhat + hi * scale),
            p_up=forecast.p_up if keep_p_up and forecast.p_up is not None else p_up,
        )


def _cdf(quantiles: np.ndarray, z: float) -> float:
    """Empirical score CDF at ``z`` from its quantile grid, kept inside (0.005, 0.995)."""
    if not math.isfinite(z):
        return 0.0 if z < 0 else 1.0
    return float(np.interp(z, quantiles, LEVELS, left=LEVELS[0], right=LEVELS[-1]))


def scores_to_calibration(scores: list[np.ndarray]) -> Calibration | None:
    """Conformal quantiles per step from each step's scores (None if too few)."""
    if not scores or any(s.size < MIN_SCORES for s in scores):
        return None
    lower, upper, grid = [], [], []
    for s in scores:
        srt = np.sort(s)
        n = srt.size
        k_lo = max(math.floor((n + 1) * ALPHA), 1)  # finite-sample conformal ranks
        k_hi = min(math.ceil((n + 1) * (1 - ALPHA)), n)
        lower.append(srt[k_lo - 1])
        upper.append(srt[k_hi - 1])
        grid.append(np.quantile(srt, LEVELS))
    return Calibration(np.array(lower), np.array(upper), np.vstack(grid),
                       tuple(int(s.size) for s in scores))


def calibration_size(n_train: int, horizon: int, requested: int | None, min_fit: int) -> int:
    """Bars held back for calibration: ``requested`` or a quarter of the window (at most
    :data:`AUTO_CAP`), never so many that the copy has fewer than ``min_fit`` bars to fit."""
    size = requested if requested is not None else min(AUTO_CAP, max(n_train // 4, 30 + horizon))
    return max(0, min(size, n_train - min_fit))


def out_of_fold_scores(
    model: Forecaster, train: pd.DataFrame, horizon: int, ctx: TaskContext
) -> Calibration | None:
    """Fit copies of ``model`` on earlier parts of ``train`` and score their forecasts from
    every origin of the held-back tail (see the module docstring). ``model`` itself is
    fitted here only in split mode (``calibration_refit`` False): then it is the copy."""
    cfg = model.config
    n = len(train)
    n_cal = calibration_size(n, horizon, getattr(cfg, "calibration_size", None),
                             max(model.min_train_bars(), model.min_history()))
    if n_cal - horizon + 1 < MIN_SCORES:
        return None
    folds = 1 if not model.calibration_refit else max(1, int(getattr(cfg, "calibration_folds", 1)))
    edges = [n - n_cal + (k * n_cal) // folds for k in range(folds + 1)]
    close = train["close"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        logc = np.log(close)
    per_step: list[list[np.ndarray]] = [[] for _ in range(horizon)]
    for k in range(folds):
        cut, stop = edges[k], edges[k + 1]
        sub = ctx.child(k / folds, (k + 1) / folds, "calibration: ")
        copy = model if not model.calibration_refit else type(model)(cfg)
        copy._fit(train.iloc[:cut], sub, horizon)
        origins = np.arange(max(cut - 1, copy.min_history() - 1), stop - 1)
        if origins.size == 0:
            continue
        paths = copy.calibration_paths(train, origins, horizon)
        sigma = local_vols(close, origins)
        for h in range(1, horizon + 1):
            ok = origins + h <= n - 1
            o = origins[ok]
            actual = logc[o + h] - logc[o]
            s = (actual - paths[ok, h - 1]) / (sigma[ok] * math.sqrt(h))
            per_step[h - 1].append(s[np.isfinite(s)])
    return scores_to_calibration([np.concatenate(p) if p else np.zeros(0) for p in per_step])
