"""Backtest several models under one walk-forward spec, naive always included, and score them.

:func:`run_backtest` is what ``cryptodesk backtest``, the GUI's backtest panel and
``bench/wf1.py`` call. It returns a :class:`BacktestReport` whose :meth:`~BacktestReport.to_json`
is the documented JSON schema (``docs/evaluation.md``) and whose
:meth:`~BacktestReport.forecasts_table` is the forecasts CSV.

Every model is scored on the same points as the naive forecast (the last close): Theil's U is
its RMSE over naive's, and the Diebold–Mariano test compares its squared errors with naive's.
MASE is scaled by the in-sample one-step naive MAE of the training bars just before the test
window (as many as the rolling window, or as the test window when the window expands), so a
series that starts at a far lower price level does not inflate it.

The order of the leaderboard respects significance (:mod:`cryptodesk.evaluation.ranking`):
models the Diebold–Mariano test cannot separate from naive share naive's rank. With the
``volatility`` target the scores are QLIKE, MSE on variance, Mincer–Zarnowitz R² and the DM
test on QLIKE (:mod:`cryptodesk.evaluation.vol_metrics`).
"""

from __future__ import annotations

import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk import __version__
from cryptodesk.data.fingerprint import data_fingerprint
from cryptodesk.evaluation import metrics as m
from cryptodesk.evaluation.calibration import brier_score, calibration_summary
from cryptodesk.evaluation.ranking import loss_key, ranked
from cryptodesk.evaluation.significance import dm_test_differential
from cryptodesk.evaluation.walkforward import WalkForwardResult, WalkForwardSpec, walk_forward
from cryptodesk.jobs import TaskContext, null_context
from cryptodesk.models.registry import ModelRegistry, default_registry
from cryptodesk.safejson import to_jsonable

BASELINE = "naive"
REPORT_SCHEMA = "cryptodesk.backtest/1"
METRIC_NAMES = (
    "n", "mae", "rmse", "mape", "smape", "mase", "directional_accuracy", "theils_u",
    "coverage", "pinball", "brier", "dm_statistic", "dm_p_value",
)


@dataclass(frozen=True)
class ModelRun:
    """A model to backtest: registry name and config dict (empty = defaults)."""

    name: str
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class BacktestReport:
    """Results of one backtest: spec, data fingerprint, per-model results and metrics."""

    spec: WalkForwardSpec
    data: dict[str, Any]
    results: dict[str, WalkForwardResult]
    metrics: dict[str, dict[str, Any]]
    seed: int | None
    preset: str | None = None
    seconds: float = 0.0
    target: str = "price"
    mase_scale_bars: int | None = None

    def ranked(self) -> list[tuple[int, str, str]]:
        """``(rank, model, tier)`` in leaderboard order: better than naive, then naive with
        every model the DM test cannot separate from it (one shared rank), then worse; by
        RMSE (QLIKE for volatility) inside each tier."""
        return ranked(self.metrics, BASELINE, self.target)

    def ranking(self) -> list[str]:
        """Model names in leaderboard order (see :meth:`ranked`)."""
        return [name for _, name, _ in self.ranked()]

    def forecasts_table(self) -> pd.DataFrame:
        """All forecasts in the export layout, by model rank (see :func:`forecasts_table`)."""
        return forecasts_table({n: r.forecasts for n, r in self.results.items()},
                               self.ranking(), self.data.get("symbol", ""))

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-able dict (schema ``cryptodesk.backtest/1``)."""
        models = []
        for rank, name, tier in self.ranked():
            res = self.results[name]
            models.append({
                "rank": rank,
                "tier": tier,
                "model": name,
                "config": res.config,
                "metrics": to_jsonable(self.metrics[name]),
                **({"calibration": to_jsonable(calibration_summary(res.forecasts))}
                   if self.target == "price" else {}),
                "timings": {
                    "total_seconds": res.total_seconds, "cpu_seconds": res.cpu_seconds,
                    "fit_seconds": res.fit_seconds,
                    "predict_seconds": res.predict_seconds, "n_fits": res.n_fits,
                    "n_forecasts": len(res.forecasts),
                },
                "fits": to_jsonable(res.fits),
            })
        return {
            "schema": REPORT_SCHEMA,
            "created": pd.Timestamp.now(tz="UTC").isoformat(),
            "app": {"name": "cryptodesk", "version": __version__,
                    "python": platform.python_version()},
            "run": {
                "preset": self.preset, "seed": self.seed, "baseline": BASELINE,
                "target": self.target, "ranked_by": loss_key(self.target),
                "mase_scale_bars": self.mase_scale_bars,
                "walk_forward": self.spec.to_dict(),
                "test_start": self.results[BASELINE].test_start.isoformat(),
                "train_rows_first_fit": self.results[BASELINE].train_rows_first,
            },
            "data": self.data,
            "models": models,
            "seconds": self.seconds,
        }


def forecasts_table(forecasts: dict[str, pd.DataFrame], order: list[str],
                    symbol: str | None) -> pd.DataFrame:
    """Every model's walk-forward forecasts as one table: timestamp (target time), symbol,
    model, horizon, forecast, lower, upper, p_up, actual, plus origin; models in ``order``,
    then time and horizon (the forecasts CSV layout of :mod:`cryptodesk.io.exports`)."""
    frames = []
    for name in order:
        f = forecasts[name]
        frames.append(pd.DataFrame({
            "timestamp": f["target_time"], "symbol": symbol or "", "model": name,
            "horizon": f["horizon"], "forecast": f["forecast"], "lower": f["lower"],
            "upper": f["upper"], "p_up": f["p_up"], "actual": f["actual"],
            "origin": f["origin"],
        }))
    return pd.concat(frames, ignore_index=True)


def run_backtest(
    candles: pd.DataFrame,
    models: Sequence[str | ModelRun],
    spec: WalkForwardSpec,
    ctx: TaskContext | None = None,
    *,
    seed: int | None = None,
    preset: str | None = None,
    registry: ModelRegistry | None = None,
    target: str = "price",
) -> BacktestReport:
    """Walk every model (naive first, always) through ``spec`` and score them against naive.

    ``seed`` overrides the ``seed`` setting of every model that has one, so one run spec and
    one seed give identical forecasts.
    """
    ctx = ctx or null_context()
    registry = registry or default_registry()
    runs = _with_baseline([ModelRun(r) if isinstance(r, str) else r for r in models])
    started = time.perf_counter()
    results: dict[str, WalkForwardResult] = {}
    for i, run in enumerate(runs):
        model = registry.create(run.name, _seeded(registry, run, seed))
        sub = ctx.child(i / len(runs), (i + 1) / len(runs))
        results[run.name] = walk_forward(model, candles, spec, sub, target=target)
    return assemble_report(candles, results, spec, seed=seed, preset=preset,
                           seconds=time.perf_counter() - started)


def assemble_report(
    candles: pd.DataFrame,
    results: dict[str, WalkForwardResult],
    spec: WalkForwardSpec,
    *,
    seed: int | None = None,
    preset: str | None = None,
    seconds: float = 0.0,
) -> BacktestReport:
    """Score walk-forward results (naive's among them) into a report: every model on the
    points it shares with naive; the target is the one the results were made for."""
    naive = results[BASELINE]
    target = naive.target
    bars = scale_bars(spec, naive)
    if target == "volatility":
        from cryptodesk.evaluation.vol_metrics import score_volatility

        scores = {name: score_volatility(res.forecasts, naive.forecasts, spec.horizon)
                  for name, res in results.items()}
    else:
        scale = naive_scale_before(candles, naive.test_start, bars)
        scores = {
            name: score_forecasts(res.forecasts, naive.forecasts, scale, spec.horizon)
            for name, res in results.items()
        }
    return BacktestReport(
        spec=spec, data=data_fingerprint(candles), results=results, metrics=scores,
        seed=seed, preset=preset, seconds=seconds, target=target,
        mase_scale_bars=bars if target == "price" else None,
    )


def scale_bars(spec: WalkForwardSpec, naive: WalkForwardResult) -> int:
    """Bars before the test window that scale MASE: the rolling window's length, or as many
    as the test window has (at least 30) when the window expands."""
    if spec.window == "rolling" and spec.train_size:
        return int(spec.train_size)
    return max(30, int(naive.forecasts["origin"].nunique()))


def naive_scale_before(candles: pd.DataFrame, test_start: pd.Timestamp,
                       bars: int | None = None) -> float:
    """MASE's scale: the in-sample one-step naive MAE of the last ``bars`` closes before the
    test window (all of them when None)."""
    first_test = int(candles.index.searchsorted(test_start))
    lo = 0 if bars is None else max(0, first_test - bars)
    return m.naive_scale(candles["close"].to_numpy(np.float64)[lo:first_test])


def score_forecasts(
    forecasts: pd.DataFrame, naive: pd.DataFrame, scale: float, horizon: int
) -> dict[str, Any]:
    """All metrics of one model's forecasts, on the points it shares with ``naive``.

    Adds ``per_horizon`` (the same metrics for each step) when ``horizon`` > 1.
    """
    joined = forecasts.merge(
        naive[["origin", "horizon", "forecast"]].rename(columns={"forecast": "naive"}),
        on=["origin", "horizon"], how="inner",
    )
    out = _scores(joined, scale, horizon)
    if horizon > 1:
        out["per_horizon"] = {
            int(h): _scores(part, scale, 1) for h, part in joined.groupby("horizon", sort=True)
        }
    return out


def _scores(j: pd.DataFrame, scale: float, horizon: int) -> dict[str, Any]:
    a, f = j["actual"].to_numpy(), j["forecast"].to_numpy()
    lo, hi = j["lower"].to_numpy(), j["upper"].to_numpy()
    d = (a - f) ** 2 - (a - j["naive"].to_numpy()) ** 2
    per_origin = pd.Series(d).groupby(j["origin"].to_numpy(), sort=True).mean().to_numpy()
    dm = dm_test_differential(per_origin, horizon)
    return {
        "n": int(np.isfinite(a - f).sum()),
        "mae": m.mae(a, f),
        "rmse": m.rmse(a, f),
        "mape": m.mape(a, f),
        "smape": m.smape(a, f),
        "mase": m.mase(a, f, scale),
        "directional_accuracy": m.directional_accuracy(a, f, j["last_close"].to_numpy()),
        "theils_u": m.theils_u(a, f, j["naive"].to_numpy()),
        "coverage": m.coverage(a, lo, hi),
        "pinball": m.interval_pinball(a, lo, hi),
        "brier": brier_score(j),
        "dm_statistic": dm.statistic,
        "dm_p_value": dm.p_value,
    }


def _with_baseline(runs: list[ModelRun]) -> list[ModelRun]:
    seen: dict[str, ModelRun] = {}
    for run in runs:
        key = run.name.strip().lower()
        if key in seen:
            continue
        seen[key] = ModelRun(key, dict(run.config))
    baseline = seen.pop(BASELINE, ModelRun(BASELINE))
    return [baseline, *seen.values()]


def _seeded(registry: ModelRegistry, run: ModelRun, seed: int | None) -> dict[str, Any]:
    config = dict(run.config)
    if seed is not None:
        fields = {p.name for p in registry.config_class(run.name).params()}
        if "seed" in fields:
            config["seed"] = seed
    return config
