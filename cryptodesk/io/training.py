"""Train-and-keep and forecast-from-a-saved-model: the jobs behind ``cryptodesk train`` and
``cryptodesk forecast`` (and the GUI's model library). No Qt; progress and cancellation go
through a :class:`~cryptodesk.jobs.TaskContext`.

Why ``train`` evaluates before it fits: a saved model shown without out-of-sample numbers
invites trusting it. By default the last part of the data is walked forward first (the model
next to naive, as everywhere in CryptoDesk), those metrics go into the manifest and the
library, and only then is the final model fitted on all the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.data.timeframes import timeframe_delta
from cryptodesk.errors import DataError
from cryptodesk.io.bundles import BundleError, BundleInfo, ModelLibrary
from cryptodesk.jobs import TaskContext, null_context

# The holdout used by train's evaluation: WF1's test size and refit cadence, capped at a fifth
# of the data so short series still keep most of their bars for training.
HOLDOUT_FRACTION = 0.2


@dataclass(frozen=True)
class TrainResult:
    """What ``train`` produced: the bundle and the evaluation metrics (model and naive)."""

    bundle: BundleInfo
    metrics: dict[str, Any]
    naive_metrics: dict[str, Any]


def holdout_spec(candles: pd.DataFrame, horizon: int) -> Any:
    """The walk-forward spec train uses to evaluate before the final fit."""
    from cryptodesk.evaluation.presets import preset_spec

    base = preset_spec("wf1", candles.attrs["timeframe"])
    test = max(1, min(base.test_size or 365, int(len(candles) * HOLDOUT_FRACTION)))
    return base.replace(test_size=test, horizon=horizon)


def train_and_save(
    candles: pd.DataFrame,
    kind: str,
    config: dict[str, Any] | None = None,
    *,
    horizon: int = 1,
    label: str | None = None,
    evaluate: bool = True,
    seed: int | None = None,
    ctx: TaskContext | None = None,
    library: ModelLibrary | None = None,
    metrics: dict[str, Any] | None = None,
) -> TrainResult:
    """Evaluate (optional), fit ``kind`` on all of ``candles`` and save it as a bundle.

    ``metrics``: with ``evaluate=False``, out-of-sample metrics measured elsewhere (the GUI's
    walk-forward run of the same config) to record in the manifest instead of none.
    """
    from cryptodesk.evaluation.backtest import ModelRun, run_backtest
    from cryptodesk.models.registry import create

    ctx = ctx or null_context()
    library = library or ModelLibrary()
    config = dict(config or {})
    if seed is not None and "seed" in {p.name for p in _config_params(kind)}:
        config["seed"] = seed
    model = create(kind, config)  # validates the config before any long work
    metrics = _plain(metrics) if metrics and not evaluate else {}
    naive_metrics: dict[str, Any] = {}
    evaluation: dict[str, Any] = {}
    fit_ctx = ctx
    if evaluate:
        spec = holdout_spec(candles, horizon)
        report = run_backtest(candles, [ModelRun(kind, config)], spec, ctx.child(0.0, 0.7, "evaluate: "),
                              seed=seed)
        metrics = _plain(report.metrics.get(kind, {}))
        from cryptodesk.evaluation.monitoring import monitor_report

        # rolling Theil's U / coverage at the end of the holdout: the library shows a
        # "degraded — retrain suggested" badge when the model was already decaying
        metrics["monitoring"] = monitor_report(report)[kind].to_dict()
        naive_metrics = _plain(report.metrics.get("naive", {}))
        evaluation = {
            "walk_forward": spec.to_dict(),
            "test_start": report.results[kind].test_start.isoformat(),
            "naive_metrics": naive_metrics,
        }
        fit_ctx = ctx.child(0.7, 1.0, "final fit: ")
    fit_ctx.progress(0.0, f"fitting {kind} on {len(candles):,} bars")
    model.fit(candles, fit_ctx, horizon)
    fit_ctx.progress(1.0, "saving")
    bundle = library.save(model, candles, label=label, metrics=metrics, evaluation=evaluation,
                          seed=config.get("seed"))
    return TrainResult(bundle, metrics, naive_metrics)


def forecast_from_bundle(
    library: ModelLibrary, ref: str, candles: pd.DataFrame, horizon: int
) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """Forecast ``horizon`` bars after the last candle with a saved model.

    Returns the forecast table (export layout), the manifest, and notes for the user. Refuses
    data that do not fit the model: another timeframe, missing external columns, too little
    history.
    """
    model, manifest = library.load(ref)
    notes: list[str] = []
    meta = dict(candles.attrs)
    trained = manifest.get("data", {})
    if trained.get("timeframe") and trained["timeframe"] != meta.get("timeframe"):
        raise BundleError(
            f"model {manifest['id']} was trained on {trained['timeframe']} bars; the data are "
            f"{meta.get('timeframe')} bars. Use a {trained['timeframe']} series (or resample)."
        )
    needed = manifest.get("external_columns", [])
    sources = manifest.get("external_sources") or {}
    if sources and any(c not in candles.columns for c in needed):
        from cryptodesk.sentiment.features import rebuild_external

        candles = rebuild_external(candles, sources)  # same datasets, same aggregation
        notes.append(f"rebuilt external columns from {', '.join(sources)}")
    missing = [c for c in needed if c not in candles.columns]
    if missing:
        raise BundleError(
            f"model {manifest['id']} needs the external column(s) {', '.join(missing)}, "
            "which the data lack"
        )
    if trained.get("symbol") and trained["symbol"] != meta.get("symbol"):
        notes.append(
            f"note: model trained on {trained['symbol']}, forecasting {meta.get('symbol')}"
        )
    need = model.min_history()
    if len(candles) < need:
        raise DataError(f"the model needs at least {need} bars of history; the data have {len(candles)}")
    if candles["close"].iloc[-need:].isna().any():
        raise DataError("the last bars of the data have missing closes; cannot forecast from them")
    forecast = model.predict(candles, horizon)
    step = timeframe_delta(meta["timeframe"])
    times = pd.DatetimeIndex([candles.index[-1] + step * (k + 1) for k in range(horizon)])
    nan = np.full(horizon, np.nan)
    table = pd.DataFrame({
        "timestamp": times,
        "symbol": meta.get("symbol", ""),
        "model": manifest.get("label") or manifest["model"]["kind"],
        "horizon": np.arange(1, horizon + 1),
        "forecast": forecast.point,
        "lower": nan if forecast.q10 is None else forecast.q10,
        "upper": nan if forecast.q90 is None else forecast.q90,
        "p_up": nan if forecast.p_up is None else forecast.p_up,
        "actual": nan,
    })
    return table, manifest, notes


def _config_params(kind: str) -> list[Any]:
    from cryptodesk.models.registry import config_class

    return config_class(kind).params()


def _plain(metrics: dict[str, Any]) -> dict[str, Any]:
    """Drop per-horizon detail and make values JSON-friendly (NaN -> None)."""
    out = {}
    for key, value in metrics.items():
        if key == "per_horizon":
            continue
        if isinstance(value, (float, np.floating)):
            out[key] = None if not np.isfinite(value) else float(value)
        elif isinstance(value, (int, np.integer)):
            out[key] = int(value)
        else:
            out[key] = value
    return out
