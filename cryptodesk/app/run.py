"""A walk-forward run as described by a :class:`~cryptodesk.app.runspec.RunSpec`.

:func:`execute_run` is the one path by which the GUI (in a worker process, through the
``run`` job) and the CLI (``cryptodesk run`` and ``cryptodesk backtest``) run models: it loads
the spec's data (checking its fingerprint), joins the external inputs, walks naive and then each
model forward, scores each against naive as soon as it finishes (a :class:`ModelScored` event,
so tables fill in row by row), then monitors every model and, with a strategy, trades their
forecasts.

Its in-process result is a :class:`RunOutcome` (the core's report objects, for the CLI); its
travelling form is a :class:`RunResult`: the JSON report, each model's forecasts as a frame,
and the trading view, with nothing pickled.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cryptodesk.app.jobs import wire
from cryptodesk.app.jobs.events import ModelStarted
from cryptodesk.app.runspec import ModelSpec, RunSpec
from cryptodesk.app.signals import SignalsView, signals_view
from cryptodesk.app.spec_candles import load_candles
from cryptodesk.errors import CryptoDeskError, DataError
from cryptodesk.jobs import TaskContext, null_context


@dataclass(frozen=True)
class ModelScored:
    """A model finished its walk-forward and was scored against naive on the same points."""

    name: str
    metrics: dict[str, Any]
    forecasts: pd.DataFrame
    seconds: float
    n_fits: int
    fits: list[dict[str, Any]] = field(default_factory=list)
    # the walk-forward's timings, test start and first training size: what a later run needs
    # to carry this model over (app/reuse.py) even when this run is cancelled before its report
    timings: dict[str, Any] = field(default_factory=dict)


wire.register(ModelScored)


@dataclass
class RunOutcome:
    """A run's result in this process: the candles it used (external columns joined), the
    backtest report, monitoring, and the trading report (None without a strategy)."""

    spec: RunSpec
    candles: pd.DataFrame
    report: Any  # cryptodesk.evaluation.backtest.BacktestReport
    monitoring: dict[str, Any]
    trading: Any = None  # cryptodesk.evaluation.trading_report.TradingReport
    signals: SignalsView | None = None
    notes: list[str] = field(default_factory=list)

    def report_json(self) -> dict[str, Any]:
        """The JSON report (schema in docs/evaluation.md) with the run spec, the monitoring
        section and, with a strategy, the trading section."""
        data = self.report.to_json()
        data["run_spec"] = self.spec.to_dict()
        data["monitoring"] = {name: s.to_dict() for name, s in self.monitoring.items()}
        if self.trading is not None:
            data["trading"] = self.trading.to_json()
        if self.notes:
            data["notes"] = list(self.notes)
        return data

    def result(self) -> RunResult:
        """The pickle-free form (what a worker sends back)."""
        return RunResult(
            spec=self.spec,
            report=self.report_json(),
            forecasts={name: res.forecasts for name, res in self.report.results.items()},
            signals=self.signals,
            notes=tuple(self.notes),
        )


@dataclass
class RunResult:
    """A run's result as data: the JSON report, each model's walk-forward forecasts, and the
    trading view. Built from a :class:`RunOutcome`, or decoded from a worker's message."""

    spec: RunSpec
    report: dict[str, Any]
    forecasts: dict[str, pd.DataFrame]
    signals: SignalsView | None = None
    notes: tuple[str, ...] = ()

    def ranking(self) -> list[str]:
        """Model names by rank (RMSE, NaN last), as in the report."""
        return [m["model"] for m in sorted(self.report["models"], key=lambda m: m["rank"])]

    def metrics(self) -> dict[str, dict[str, Any]]:
        """Each model's metrics (NaN as None, per-horizon details included)."""
        return {m["model"]: m["metrics"] for m in self.report["models"]}

    def timings(self) -> dict[str, dict[str, Any]]:
        """Each model's timings (total and CPU seconds, fits, forecasts)."""
        return {m["model"]: m["timings"] for m in self.report["models"]}

    def forecasts_table(self) -> pd.DataFrame:
        """Every forecast in the export layout (see :mod:`cryptodesk.io.exports`)."""
        from cryptodesk.evaluation.backtest import forecasts_table

        return forecasts_table(self.forecasts, self.ranking(), self.spec.data.symbol)

    def calibration(self) -> dict[str, dict[str, Any]]:
        """Each model's calibration displays (price runs): ``coverage_by_horizon`` ({step:
        %}), ``pit_histogram`` ({edges, counts, n} or None), ``brier`` and ``reliability``
        (rows of p_lo, p_hi, mean_p, observed, n). Empty for volatility runs."""
        return {m["model"]: m["calibration"] for m in self.report["models"]
                if "calibration" in m}

    def tiers(self) -> dict[str, str]:
        """Each model's tier against naive ("better than naive", "no better than naive",
        "worse than naive"), as in the report."""
        return {m["model"]: m.get("tier", "") for m in self.report["models"]}

    def volatility_series(self, name: str) -> dict[str, Any]:
        """Model ``name``'s volatility forecasts against the realised volatility (one-step
        rows; volatility runs): target times in epoch seconds, forecast and realised
        volatility (square roots of the variances, per bar)."""
        import numpy as np

        f = self.forecasts[name]
        f = f[f["horizon"] == 1]
        x = pd.DatetimeIndex(f["target_time"]).as_unit("ns").asi8 / 1e9
        return {"x": np.asarray(x), "forecast": np.sqrt(f["forecast"].to_numpy(np.float64)),
                "realised": np.sqrt(f["actual"].to_numpy(np.float64))}


wire.register(RunResult, to_fields=lambda r: {
    "spec": r.spec.to_dict(), "report": r.report, "forecasts": r.forecasts,
    "signals": r.signals, "notes": list(r.notes),
}, from_fields=lambda f: RunResult(
    spec=RunSpec.from_dict(f["spec"]), report=f["report"], forecasts=f["forecasts"],
    signals=f["signals"], notes=tuple(f["notes"]),
))


# ---------------------------------------------------------------------- data
def with_inputs(candles: pd.DataFrame, spec: RunSpec, store: Any = None) -> pd.DataFrame:
    """The candles with the spec's external inputs joined (sentiment features, other assets'
    returns and pre-training bars)."""
    if spec.sentiment is not None:
        from cryptodesk.app.external import join_sentiment

        candles = join_sentiment(candles, spec.sentiment.dataset, spec.sentiment.aggregation)
    if spec.cross:
        from cryptodesk.app.cross_asset import join_cross

        candles = join_cross(candles, spec.cross, store)
    return candles


def make_forecaster(model: ModelSpec, spec: RunSpec | None = None) -> Any:
    """The unfitted forecaster of one model entry: the registry model, or a
    :class:`~cryptodesk.evaluation.tuning.TunedForecaster` when the entry has a tuning budget
    (its studies named after the label and the data source, for a sqlite storage).

    The tuner is imported by name, like the registry imports model classes: a front end that
    only describes runs (the GUI process) never loads Optuna."""
    import importlib

    from cryptodesk.models.registry import create

    if model.tuning is None:
        return create(model.name, model.config)
    tuning = importlib.import_module("cryptodesk.evaluation.tuning")
    source = spec.data.source if spec is not None else ""
    return tuning.TunedForecaster(model.name, model.config, model.tuning, label=model.key,
                                  study_prefix=f"{model.key}|{source}")


# ---------------------------------------------------------------------- the run
def execute_run(spec: RunSpec, ctx: TaskContext | None = None, store: Any = None,
                candles: pd.DataFrame | None = None,
                reused: dict[str, Any] | None = None) -> RunOutcome:
    """Run ``spec`` (see module docstring). ``candles``: the spec's data when the caller has
    them already (they must match the spec's fingerprint); otherwise they are loaded.
    ``reused``: walk-forward results of models the last run already did identically
    (:mod:`cryptodesk.app.reuse`): they are scored again, not walked forward again."""
    from cryptodesk.evaluation.backtest import BASELINE, assemble_report
    from cryptodesk.evaluation.monitoring import MonitorSpec, monitor_report
    from cryptodesk.evaluation.walkforward import walk_forward

    ctx = ctx or null_context()
    started = time.perf_counter()
    ctx.progress(None, f"loading {spec.data.label}")
    if candles is None:
        candles = load_candles(spec.data, store)
    ctx.check_cancelled()
    if spec.sentiment is not None:
        ctx.progress(None, f"joining sentiment dataset {spec.sentiment.dataset}")
    if spec.cross:
        ctx.progress(None, f"joining {', '.join(c.data.symbol for c in spec.cross)}")
    candles = with_inputs(candles, spec, store)
    if spec.target == "volatility":
        from cryptodesk.features.volatility import volatility_frame

        candles = volatility_frame(candles, spec.rv_method)
    names = spec.model_names()
    if names[0] != BASELINE:
        raise DataError(f"a run spec starts with {BASELINE}, the baseline every model is "
                        "scored against")
    reused = reused or {}
    costs = _costs(spec, candles)
    weights = [0.0 if m.key in reused else costs[m.key].total for m in spec.models]
    total, done = sum(weights) or 1.0, 0.0
    results: dict[str, Any] = {}
    for index, (model, weight) in enumerate(zip(spec.models, weights, strict=True)):
        key = model.key
        ctx.partial(ModelStarted(key, index, len(names)))
        sub = ctx.child(done / total, (done + weight) / total)
        done += weight
        if key in reused:
            results[key] = reused[key]
            ctx.progress(done / total, f"{key}: kept from the last run (same settings and data)")
        else:
            results[key] = walk_forward(make_forecaster(model, spec), candles, spec.protocol,
                                        sub, target=spec.target, label=key,
                                        fit_share=costs[key].fit_share)
        scored = assemble_report(candles, {BASELINE: results[BASELINE], key: results[key]},
                                 spec.protocol)
        res = results[key]
        ctx.partial(ModelScored(key, scored.metrics[key], res.forecasts,
                                res.total_seconds, res.n_fits, res.fits, timings={
                                    "total_seconds": res.total_seconds,
                                    "cpu_seconds": res.cpu_seconds,
                                    "fit_seconds": res.fit_seconds,
                                    "predict_seconds": res.predict_seconds,
                                    "n_fits": res.n_fits,
                                    "test_start": res.test_start.isoformat(),
                                    "train_rows_first": res.train_rows_first}))
    report = assemble_report(candles, results, spec.protocol, seed=spec.seed,
                             preset=spec.preset, seconds=time.perf_counter() - started)
    monitor = MonitorSpec(window=spec.monitor_window, k=spec.monitor_k)
    volatility = spec.target == "volatility"
    monitoring = {} if volatility else monitor_report(report, monitor)
    outcome = RunOutcome(spec, candles, report, monitoring)
    if volatility and spec.strategy is not None:
        outcome.notes.append("no trading backtest: the run forecasts volatility, not prices")
    elif spec.strategy is not None:
        ctx.check_cancelled()
        ctx.progress(1.0, "trading backtest of the forecasts")
        from cryptodesk.evaluation.trading_report import trading_from_report

        try:
            outcome.trading = trading_from_report(report, candles, spec.strategy,
                                                  regimes=spec.regimes, monitor=monitor)
            outcome.signals = signals_view(outcome.trading, candles)
        except CryptoDeskError as exc:  # e.g. too few test bars: the forecasts stand alone
            outcome.notes.append(f"no trading backtest: {exc}")
    return outcome


def _costs(spec: RunSpec, candles: pd.DataFrame) -> dict[str, Any]:
    """Each model's expected cost (:mod:`cryptodesk.app.cost`): fits × epochs × windows (or
    boosting rounds), plus forecasts; the progress bar is split by them."""
    from cryptodesk.app.cost import expected_cost, test_bars

    forecasts = test_bars(spec.protocol, len(candles), candles.index)
    return {m.key: expected_cost(m, spec.protocol, len(candles), forecasts) for m in spec.models}


def run_job(payload: dict[str, Any], ctx: TaskContext) -> RunResult:
    """Job ``run``: ``payload["spec"]`` is a run spec dict; returns the run's result."""
    spec = RunSpec.from_dict(payload.get("spec"))
    from cryptodesk.app.reuse import restore

    return execute_run(spec, ctx, reused=restore(payload.get("reuse") or {}, spec)).result()


# ---------------------------------------------------------------------- exports
def export_run(result: RunResult, path: Path) -> list[Path]:
    """Write a run's files: the forecasts CSV at ``path``, the metrics CSV
    (``<name>.metrics.csv``), the JSON report (``<name>.json``) and the run spec
    (``<name>.spec.json``) beside it; returns their paths. The same writers as the CLI's."""
    from cryptodesk.atomic import write_text_atomic
    from cryptodesk.io.exports import write_forecasts_csv, write_metrics_csv
    from cryptodesk.safejson import dumps

    path = Path(path)
    write_forecasts_csv(result.forecasts_table(), path)
    metrics_path = path.with_name(f"{path.stem}.metrics.csv")
    write_metrics_csv(result.metrics(), metrics_path, order=result.ranking())
    json_path = path.with_suffix(".json")
    write_text_atomic(json_path, dumps(result.report) + "\n")
    spec_path = path.with_name(f"{path.stem}.spec.json")
    result.spec.write(spec_path)
    return [path, metrics_path, json_path, spec_path]
