"""Model monitoring: is a model still better than the last close, and are its intervals honest?

For each model, over the last ``window`` (N) horizon-1 forecasts at every forecast point:

- rolling Theil's U = sqrt(mean squared error of the model / mean squared error of naive), on the
  same points (naive = the last close);
- rolling coverage of the q10–q90 interval (nominal 80 %).

A model is flagged **degraded — retrain suggested** when its rolling U has stayed above
``1 + u_tolerance`` for the last ``k`` (K) consecutive forecasts, or when its latest rolling
coverage is outside ``nominal ± band``. The flags describe the *end* of the evaluated period
(now, for a live model); the per-point series say when the trouble started. Naive itself is
never flagged on U (its U is 1 by definition).

Everything is plain data (frames and dataclasses) for the results table, the model library
(:meth:`MonitorStatus.to_dict` can be stored in a bundle's metrics) and the CLI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cryptodesk.errors import DataError

DEGRADED = "degraded — retrain suggested"
OK = "ok"


@dataclass(frozen=True)
class MonitorSpec:
    """N (rolling window of forecasts), K (bars U must stay above 1) and the coverage band."""

    window: int = 50
    k: int = 20
    u_tolerance: float = 0.0
    nominal_coverage: float = 0.8
    coverage_band: float = 0.15

    def __post_init__(self) -> None:
        if self.window < 2 or self.k < 1:
            raise DataError("monitoring needs a window of >= 2 forecasts and K >= 1")
        if not 0 < self.nominal_coverage < 1 or not 0 < self.coverage_band < 1:
            raise DataError("coverage and its band must be fractions in (0, 1)")


@dataclass
class MonitorStatus:
    """The verdict for one model plus the rolling series behind it.

    ``series``: indexed by target time, columns ``rolling_u``, ``rolling_coverage``,
    ``u_above`` (bool), ``u_run`` (consecutive points with U above the line).
    """

    model: str
    degraded: bool
    reasons: list[str]
    last_u: float
    last_coverage: float
    u_run: int
    series: pd.DataFrame = field(repr=False)

    @property
    def status(self) -> str:
        """``ok`` or ``degraded — retrain suggested``."""
        return DEGRADED if self.degraded else OK

    def to_dict(self) -> dict[str, object]:
        """JSON-able verdict (no series)."""
        def clean(v: float) -> float | None:
            return float(v) if math.isfinite(v) else None

        return {"model": self.model, "status": self.status, "degraded": self.degraded,
                "reasons": list(self.reasons), "rolling_u": clean(self.last_u),
                "rolling_coverage": clean(self.last_coverage), "u_above_run": self.u_run}


def _runs(flag: np.ndarray) -> np.ndarray:
    """Length of the run of True ending at each position (0 where False)."""
    idx = np.arange(flag.size)
    last_false = np.maximum.accumulate(np.where(flag, -1, idx))
    return (idx - last_false).astype(np.int64)


def monitor_model(
    model: str, forecasts: pd.DataFrame, naive: pd.DataFrame, spec: MonitorSpec | None = None,
) -> MonitorStatus:
    """Rolling U and coverage of ``forecasts`` against ``naive`` (both walk-forward frames)."""
    spec = spec or MonitorSpec()
    f = forecasts[forecasts["horizon"] == 1]
    nv = naive[naive["horizon"] == 1][["origin", "forecast"]].rename(columns={"forecast": "naive"})
    j = f.merge(nv, on="origin", how="inner").sort_values("origin", kind="stable")
    if j.empty:
        raise DataError(f"{model}: no horizon-1 forecasts shared with naive")
    a = j["actual"].to_numpy(np.float64)
    e_m = (a - j["forecast"].to_numpy(np.float64)) ** 2
    e_n = (a - j["naive"].to_numpy(np.float64)) ** 2
    w = spec.window
    mse_m = pd.Series(e_m).rolling(w, min_periods=w).mean().to_numpy()
    mse_n = pd.Series(e_n).rolling(w, min_periods=w).mean().to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.sqrt(mse_m / mse_n)
    lo, hi = j["lower"].to_numpy(np.float64), j["upper"].to_numpy(np.float64)
    has_iv = np.isfinite(lo) & np.isfinite(hi)
    inside = np.where(has_iv, ((a >= lo) & (a <= hi)).astype(np.float64), np.nan)
    cov = pd.Series(inside).rolling(w, min_periods=w).mean().to_numpy()
    above = np.isfinite(u) & (u > 1.0 + spec.u_tolerance)
    run = _runs(above)
    series = pd.DataFrame({"rolling_u": u, "rolling_coverage": cov, "u_above": above,
                           "u_run": run}, index=pd.DatetimeIndex(j["target_time"]))
    last_u = float(u[-1]) if np.isfinite(u[-1]) else math.nan
    last_cov = float(cov[-1]) if np.isfinite(cov[-1]) else math.nan
    reasons = []
    if model != "naive" and run[-1] >= spec.k:
        reasons.append(f"rolling Theil's U above {1 + spec.u_tolerance:g} for the last "
                       f"{int(run[-1])} forecasts (>= K={spec.k}, window {w})")
    if math.isfinite(last_cov) and abs(last_cov - spec.nominal_coverage) > spec.coverage_band:
        reasons.append(f"interval coverage {100 * last_cov:.0f}% outside "
                       f"{100 * spec.nominal_coverage:.0f}±{100 * spec.coverage_band:.0f}% "
                       f"(last {w} forecasts)")
    return MonitorStatus(model=model, degraded=bool(reasons), reasons=reasons, last_u=last_u,
                         last_coverage=last_cov, u_run=int(run[-1]), series=series)


def monitor_report(report: object, spec: MonitorSpec | None = None,
                   baseline: str = "naive") -> dict[str, MonitorStatus]:
    """:func:`monitor_model` for every model of a
    :class:`~cryptodesk.evaluation.backtest.BacktestReport`."""
    results = report.results  # type: ignore[attr-defined]
    naive = results[baseline].forecasts
    return {name: monitor_model(name, res.forecasts, naive, spec)
            for name, res in results.items()}


def status_table(statuses: dict[str, MonitorStatus]) -> pd.DataFrame:
    """One row per model: status, rolling U, rolling coverage, run of U > 1, reasons."""
    rows = [{"model": s.model, "status": s.status, "rolling_u": s.last_u,
             "rolling_coverage": s.last_coverage, "u_above_run": s.u_run,
             "reasons": "; ".join(s.reasons)} for s in statuses.values()]
    return pd.DataFrame(rows)
