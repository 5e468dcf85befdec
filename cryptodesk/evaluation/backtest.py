"""Backtest several models under one walk-forward spec, naive always included, and score them.

:func:`run_backtest` is what ``cryptodesk backtest``, the GUI's backtest panel and
``bench/wf1.py`` call. It returns a :class:`BacktestReport` whose :meth:`~BacktestReport.to_json`
is the documented JSON schema (``docs/evaluation.md``) and whose
:meth:`~BacktestReport.forecasts_table` is the forecasts CSV.

Every model is scored on the same points as the naive forecast (the last close): Theil's U is
its RMSE over naive's, and the Diebold–Mariano test compares its squared errors with naive's.
MASE is scaled by the in-sample one-step naive MAE of the data before the test window.
"""

from __future__ import annotations

import math
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
from cryptodesk.evaluation.significance import dm_test_differential
from cryptodesk.evaluation.walkforward import WalkForwardResult, WalkForwardSpec, walk_forward
from cryptodesk.jobs import TaskContext, null_context
from cryptodesk.models.registry import ModelRegistry, default_registry
from cryptodesk.safejson import to_jsonable

BASELINE = "naive"
REPORT_SCHEMA = "cryptodesk.backtest/1"
METRIC_NAMES = (
    "n", "mae", "rmse", "mape", "smape", "mase", "directional_accuracy", "theils_u",
    "coverage", "pinball", "dm_statistic", "dm_p_value",
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

    def ranking(self) -> list[str]:
        """Model names sorted by RMSE (NaN last), ties by name."""
        def key(name: str) -> tuple[float, str]:
            v = self.metrics[name].get("rmse")
            return (v if v is not None and math.isfinite(v) else math.inf, name)

        return sorted(self.metrics, key=key)

    def forecasts_table(self) -> pd.DataFrame:
        """All forecasts in the export layout, by model rank (see :func:`forecasts_table`)."""
        return forecasts_table({n: r.forecasts for n, r in self.results.items()},
                               self.ranking(), self.data.get("symbol", ""))

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-able dict (schema ``cryptodesk.backtest/1``)."""
        models = []
        for rank, name in enumerate(self.ranking(), start=1):
            res = self.results[name]
            models.append({
                "rank": rank,
                "model": name,
                "config": res.config,
                "metrics": to_jsonable(self.metrics[name]),
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
        results[run.name] = walk_forward(model, candles, spec, sub)
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
    points it shares with naive, MASE scaled on the data before the test window."""
    naive = results[BASELINE]
    scale = naive_scale_before(candles, naive.test_start)
    scores = {
        name: score_forecasts(res.forecasts, naive.forecasts, scale, spec.horizon)
        for name, res in results.items()
    }
    return BacktestReport(
        spec=spec, data=data_fingerprint(candles), results=results, metrics=scores,
        seed=seed, preset=preset, seconds=seconds,
    )


def naive_scale_before(candles: pd.DataFrame, test_start: pd.Timestamp) -> float:
    """MASE's scale: the in-sample one-step naive MAE of the closes before the test window."""
    first_test = int(candles.index.searchsorted(test_start))
    return m.naive_scale(candles["close"].to_numpy(np.float64)[:first_test])


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
