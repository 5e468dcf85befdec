"""Forecasting what comes after the last candle with freshly fitted models: the desk's main job.

:func:`forecast_future` fits each chosen model on every bar up to the last candle (inside a
worker when the GUI asks, through the ``forecast_future`` job) and forecasts ``horizon`` bars
ahead: the point path, the calibrated 80 % band and P(up) per step. The result is plain data
(:class:`FutureForecast`): the export table in the documented forecasts-CSV layout (``actual``
empty), one :class:`FuturePath` per model for the chart, and the default file names, which carry
symbol, timeframe and the date of the last candle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.app.jobs import wire
from cryptodesk.data.timeframes import timeframe_delta
from cryptodesk.errors import DataError
from cryptodesk.jobs import TaskContext, null_context
from cryptodesk.safejson import to_jsonable


@dataclass(frozen=True)
class FuturePath:
    """One model's forecast after the last candle, ready to draw: target times (epoch
    seconds), point, the 80 % band (None when the model has none) and P(up) per step."""

    model: str
    x: np.ndarray
    point: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    p_up: np.ndarray | None
    fit_seconds: float
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FutureForecast:
    """Every model's future path, the export table, and where it was made from.

    ``table``: forecasts-CSV layout (timestamp, symbol, model, horizon, forecast, lower,
    upper, p_up, actual (empty), origin). ``series``: (source, symbol, timeframe); ``origin``:
    ISO time of the last candle; ``last_close``; ``csv_name``/``chart_name``: default file
    names; ``notes``: anything the user should know (a model that failed, a capped horizon).
    """

    table: pd.DataFrame
    paths: list[FuturePath]
    series: tuple[str, str, str]
    origin: str
    last_close: float
    horizon: int
    csv_name: str
    chart_name: str
    notes: tuple[str, ...] = ()


wire.register(FuturePath)
wire.register(FutureForecast, to_fields=lambda r: {
    "table": r.table, "paths": list(r.paths), "series": list(r.series), "origin": r.origin,
    "last_close": r.last_close, "horizon": r.horizon, "csv_name": r.csv_name,
    "chart_name": r.chart_name, "notes": list(r.notes),
}, from_fields=lambda f: FutureForecast(
    table=f["table"], paths=list(f["paths"]), series=tuple(f["series"]), origin=f["origin"],
    last_close=f["last_close"], horizon=f["horizon"], csv_name=f["csv_name"],
    chart_name=f["chart_name"], notes=tuple(f["notes"]),
))


def default_names(symbol: str, timeframe: str, last: pd.Timestamp) -> tuple[str, str]:
    """Default export file names: ``forecast_<symbol>_<timeframe>_<YYYY-MM-DD>.csv`` / ``.png``."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", symbol).strip("-") or "series"
    stem = f"forecast_{slug}_{timeframe}_{last:%Y-%m-%d}"
    return f"{stem}.csv", f"{stem}.png"


def forecast_future(
    candles: pd.DataFrame,
    models: list[tuple[str, dict[str, Any]]],
    horizon: int | None = None,
    ctx: TaskContext | None = None,
    *,
    seed: int | None = None,
) -> FutureForecast:
    """Fit each ``(name, config)`` on all of ``candles`` and forecast ``horizon`` bars after
    the last one (default: :func:`~cryptodesk.app.defaults.default_horizon` of the
    timeframe). A model that fails (too little data, a bad config) is left out with a note;
    when every model fails, the first error is raised."""
    from cryptodesk.app.defaults import default_horizon
    from cryptodesk.errors import CryptoDeskError
    from cryptodesk.models.registry import create

    ctx = ctx or null_context()
    meta = candles.attrs
    timeframe = str(meta.get("timeframe") or "1d")
    horizon = default_horizon(timeframe) if horizon is None else int(horizon)
    if horizon < 1:
        raise DataError(f"horizon must be a whole number >= 1, got {horizon}")
    if not models:
        raise DataError("pick at least one model to forecast with")
    last_time = candles.index[-1]
    step = timeframe_delta(timeframe)
    times = pd.DatetimeIndex([last_time + step * (k + 1) for k in range(horizon)])
    x = times.as_unit("ns").asi8 / 1e9
    paths: list[FuturePath] = []
    frames: list[pd.DataFrame] = []
    notes: list[str] = []
    errors: list[CryptoDeskError] = []
    for i, (name, config) in enumerate(models):
        sub = ctx.child(i / len(models), (i + 1) / len(models), f"{name}: ")
        ctx.check_cancelled()
        try:
            config = dict(config or {})
            model = create(name, config)
            if seed is not None and "seed" in {p.name for p in model.config_cls.params()}:
                model = create(name, {**config, "seed": seed})
            sub.progress(0.0, f"fitting on {len(candles):,} bars")
            t0 = pd.Timestamp.now()
            model.fit(candles, sub, horizon)
            fc = model.predict(candles, horizon)
        except CryptoDeskError as exc:
            errors.append(exc)
            notes.append(f"{name}: {exc}")
            continue
        seconds = (pd.Timestamp.now() - t0).total_seconds()
        paths.append(FuturePath(name, np.asarray(x), fc.point, fc.q10, fc.q90, fc.p_up, seconds,
                                to_jsonable(model.fit_summary())))
        frames.append(_table(name, times, fc, meta, last_time))
        sub.progress(1.0, "done")
    if not paths:
        raise errors[0]
    csv_name, chart_name = default_names(str(meta.get("symbol", "")), timeframe, last_time)
    return FutureForecast(
        table=pd.concat(frames, ignore_index=True), paths=paths,
        series=(str(meta.get("source")), str(meta.get("symbol")), timeframe),
        origin=last_time.isoformat(), last_close=float(candles["close"].iloc[-1]),
        horizon=horizon, csv_name=csv_name, chart_name=chart_name, notes=tuple(notes),
    )


def _table(name: str, times: pd.DatetimeIndex, fc: Any, meta: dict[str, Any],
           origin: pd.Timestamp) -> pd.DataFrame:
    nan = np.full(len(times), np.nan)
    return pd.DataFrame({
        "timestamp": times, "symbol": meta.get("symbol", ""), "model": name,
        "horizon": np.arange(1, len(times) + 1),
        "forecast": fc.point, "lower": nan if fc.q10 is None else fc.q10,
        "upper": nan if fc.q90 is None else fc.q90,
        "p_up": nan if fc.p_up is None else fc.p_up, "actual": nan, "origin": origin,
    })


def export_future(result: FutureForecast, path: Path) -> Path:
    """Write the future forecasts as the documented forecasts CSV (one row per model and step,
    ``actual`` empty); the GUI saves its chart picture beside it under ``chart_name``."""
    from cryptodesk.io.exports import write_forecasts_csv

    write_forecasts_csv(result.table, Path(path))
    return Path(path)


def forecast_future_job(payload: dict[str, Any], ctx: TaskContext) -> FutureForecast:
    """Job ``forecast_future``: ``{"data": data ref, "models": [{"name": ..., "config":
    {...}}, ...], "horizon": n or null, "seed": n or null}``."""
    from cryptodesk.app.runspec import DataRef
    from cryptodesk.app.spec_candles import load_candles

    candles = load_candles(DataRef.from_dict(payload.get("data")))
    raw = payload.get("models") or []
    if not isinstance(raw, list) or not all(isinstance(m, dict) and "name" in m for m in raw):
        raise DataError("models must be a list of {name, config} objects")
    horizon = payload.get("horizon")
    if horizon is not None and (not isinstance(horizon, int) or isinstance(horizon, bool)):
        raise DataError(f"horizon must be a whole number >= 1, got {horizon!r}")
    seed = payload.get("seed")
    return forecast_future(candles, [(str(m["name"]), dict(m.get("config") or {})) for m in raw],
                           horizon, ctx, seed=seed if isinstance(seed, int) else None)
