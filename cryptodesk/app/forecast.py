"""Forecasts after the last candle: what a user exports and acts on.

:func:`forecast_from_bundle` forecasts with a saved model (``cryptodesk forecast``, the GUI's
"Forecast now"); the ``forecast_bundle`` job runs it in a worker and returns a
:class:`BundleForecast`, plain data a chart can draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.app.jobs import wire
from cryptodesk.data.timeframes import timeframe_delta
from cryptodesk.errors import DataError
from cryptodesk.io.bundles import BundleError, ModelLibrary
from cryptodesk.jobs import TaskContext


def forecast_from_bundle(
    library: ModelLibrary, ref: str, candles: pd.DataFrame, horizon: int
) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """Forecast ``horizon`` bars after the last candle with a saved model.

    Returns the forecast table (export layout), the manifest, and notes for the user. Refuses
    data that do not fit the model: another timeframe, missing external columns, too little
    history.
    """
    model, manifest = library.load(ref)
    candles, notes = inputs_for(manifest, candles)
    meta = dict(candles.attrs)
    fitted = int(model.fitted_horizon)
    if model.capabilities.direct and horizon > fitted:
        raise BundleError(horizon_hint(manifest, fitted, horizon))
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


def inputs_for(manifest: dict[str, Any], candles: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The candles a saved model can forecast from (:func:`bundle_inputs`), plus a note when
    the series is not the one it was trained on. Used by forecasting and by retraining."""
    candles, notes = bundle_inputs(candles, manifest)
    meta = dict(candles.attrs)
    trained = manifest.get("data", {})
    if trained.get("symbol") and trained["symbol"] != meta.get("symbol"):
        notes.append(
            f"note: model trained on {trained['symbol']}, forecasting {meta.get('symbol')}"
        )
    return candles, notes


def horizon_hint(manifest: dict[str, Any], fitted: int, horizon: int) -> str:
    """Why a direct model cannot forecast ``horizon`` bars, and the exact command that trains
    one that can (same kind, settings and data; a new label)."""
    import json
    import shlex

    kind = manifest["model"]["kind"]
    data = manifest.get("data", {})
    label = manifest.get("label") or manifest["id"]
    parts = ["cryptodesk", "train", "--symbol", str(data.get("symbol", ""))]
    if data.get("timeframe"):
        parts += ["--timeframe", str(data["timeframe"])]
    parts += ["--model", kind]
    config = _non_default_config(kind, manifest["model"].get("config") or {})
    if config:
        parts += ["--config", json.dumps(config, separators=(",", ":"))]
    parts += ["--horizon", str(horizon), "--name", f"{label} h{horizon}"]
    return (f"{kind}: model {label!r} was fitted for {fitted} bar{'s' if fitted != 1 else ''} "
            f"ahead and forecasts each step up to that, not {horizon}. Train one for "
            f"{horizon}: {shlex.join(parts)}")


def _non_default_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    from cryptodesk.models.registry import config_class

    defaults = config_class(kind)().to_dict()
    return {k: v for k, v in config.items() if defaults.get(k) != v}


def bundle_inputs(candles: pd.DataFrame,
                  manifest: dict[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    """The candles a saved model can read: same timeframe, its external columns rebuilt the
    way they were made (sentiment datasets, other assets' returns); notes for the user."""
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
        from cryptodesk.app.cross_asset import rebuild_assets, split_sources
        from cryptodesk.sentiment.features import rebuild_external

        assets, others = split_sources(sources)
        candles = rebuild_assets(candles, assets)  # other series' returns, same lags
        candles = rebuild_external(candles, others)  # same datasets, same aggregation
        notes.append(f"rebuilt external columns from {', '.join(sources)}")
    missing = [c for c in needed if c not in candles.columns]
    if missing:
        raise BundleError(
            f"model {manifest['id']} needs the external column(s) {', '.join(missing)}, "
            "which the data lack"
        )
    return candles, notes


@dataclass(frozen=True)
class BundleForecast:
    """A saved model's forecast after the last candle: the table (export layout), the chart
    arrays (target times in epoch seconds, point, band or None), notes and the series it is
    for (``series``: source, symbol, timeframe)."""

    ref: str
    label: str
    table: pd.DataFrame
    x: np.ndarray
    point: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    notes: list[str]
    series: tuple[str, str, str]


wire.register(BundleForecast)


def forecast_bundle(ref: str, candles: pd.DataFrame, horizon: int, ctx: TaskContext,
                    library: ModelLibrary | None = None) -> BundleForecast:
    """Load a bundle and forecast ``horizon`` bars after the last candle; a direct model is
    capped at the horizon it was fitted for (and says so in the notes)."""
    library = library or ModelLibrary()
    manifest = library.resolve(ref).manifest
    fitted = int((manifest.get("target") or {}).get("horizon") or 1)
    capped = ""
    if (manifest.get("model", {}).get("capabilities") or {}).get("direct") and horizon > fitted:
        capped = (f"showing {fitted} step{'s' if fitted != 1 else ''}. "
                  + horizon_hint(manifest, fitted, horizon))
        horizon = fitted
    ctx.progress(None, f"loading model {ref}")
    table, manifest, notes = forecast_from_bundle(library, ref, candles, horizon)
    if capped:
        notes = [capped, *notes]
    ctx.check_cancelled()
    x = pd.DatetimeIndex(table["timestamp"]).as_unit("ns").asi8 / 1e9
    point = table["forecast"].to_numpy(np.float64)
    lo, hi = table["lower"].to_numpy(np.float64), table["upper"].to_numpy(np.float64)
    band = bool(np.isfinite(lo).any() and np.isfinite(hi).any())
    meta = candles.attrs
    return BundleForecast(ref, manifest.get("label") or ref, table, np.asarray(x), point,
                          lo if band else None, hi if band else None, list(notes),
                          (str(meta.get("source")), str(meta.get("symbol")),
                           str(meta.get("timeframe"))))


def forecast_bundle_job(payload: dict[str, Any], ctx: TaskContext) -> BundleForecast:
    """Job ``forecast_bundle``: ``{"ref": id, "data": data ref, "horizon": n}``."""
    from cryptodesk.app.runspec import DataRef
    from cryptodesk.app.spec_candles import load_candles

    candles = load_candles(DataRef.from_dict(payload.get("data")))
    horizon = payload.get("horizon", 1)
    if not isinstance(horizon, int) or isinstance(horizon, bool) or horizon < 1:
        raise DataError(f"horizon must be a whole number >= 1, got {horizon!r}")
    return forecast_bundle(str(payload.get("ref")), candles, horizon, ctx)
