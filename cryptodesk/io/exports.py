"""CSV exports of forecasts and metrics, written atomically, with a documented layout.

Forecasts CSV (one row per forecast; the same writer serves ``backtest --export``,
``forecast --out`` and the GUI's export):

=========  ==========  ===============================================================
column     dtype       meaning
=========  ==========  ===============================================================
timestamp  str         target time, ISO-8601 UTC (``2024-01-31T00:00:00Z``)
symbol     str         series symbol
model      str         model name (registry name, or a saved model's label)
horizon    int64       steps ahead of the origin (1 = next bar)
forecast   float64     point forecast of the close
lower      float64     10 % quantile of the close (empty when the model gives none)
upper      float64     90 % quantile of the close (empty when the model gives none)
p_up       float64     probability the close ends above the origin's close (or empty)
actual     float64     realised close (empty for forecasts beyond the data)
origin     str         optional last column (walk-forward exports): the forecast's origin
                       bar, ISO-8601 UTC
=========  ==========  ===============================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.io.csv_export import write_frame_csv

FORECAST_COLUMNS = (
    "timestamp", "symbol", "model", "horizon", "forecast", "lower", "upper", "p_up", "actual",
)
FORECAST_DTYPES: dict[str, Any] = {
    "timestamp": str, "origin": str, "symbol": str, "model": str, "horizon": "int64", "forecast": "float64",
    "lower": "float64", "upper": "float64", "p_up": "float64", "actual": "float64",
}
METRIC_COLUMNS = (
    "model", "n", "mae", "rmse", "mape", "smape", "mase", "directional_accuracy", "theils_u",
    "coverage", "pinball", "dm_statistic", "dm_p_value",
)


def forecast_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Bring a forecasts table into the export layout (columns, order, dtypes)."""
    missing = [c for c in FORECAST_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"forecasts table lacks column(s): {', '.join(missing)}")
    out = pd.DataFrame({c: table[c].to_numpy() for c in FORECAST_COLUMNS[1:]})
    times = pd.DatetimeIndex(table["timestamp"])
    times = times.tz_localize("UTC") if times.tz is None else times.tz_convert("UTC")
    out.insert(0, "timestamp", times.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if "origin" in table.columns:
        origins = pd.DatetimeIndex(table["origin"])
        origins = origins.tz_localize("UTC") if origins.tz is None else origins.tz_convert("UTC")
        out["origin"] = origins.strftime("%Y-%m-%dT%H:%M:%SZ")
    out["symbol"] = out["symbol"].astype(str)
    out["model"] = out["model"].astype(str)
    out["horizon"] = out["horizon"].astype(np.int64)
    for col in ("forecast", "lower", "upper", "p_up", "actual"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(np.float64)
    return out


def write_forecasts_csv(table: pd.DataFrame, out: Path) -> Path:
    """Write forecasts in the documented layout (see module docstring)."""
    write_frame_csv(forecast_frame(table), Path(out))
    return Path(out)


def read_forecasts_csv(path: Path) -> pd.DataFrame:
    """Read a forecasts CSV back with the documented dtypes (timestamp parsed to UTC)."""
    frame = pd.read_csv(path, dtype=FORECAST_DTYPES, keep_default_na=True)
    for col in ("timestamp", "origin"):
        if col in frame.columns:
            frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601")
    return frame


def metrics_frame(metrics: dict[str, dict[str, Any]], order: list[str] | None = None) -> pd.DataFrame:
    """One row per model with the headline metrics (per-horizon details are left out)."""
    names = order or list(metrics)
    rows = []
    for name in names:
        row = {"model": name}
        for col in METRIC_COLUMNS[1:]:
            value = metrics[name].get(col)
            row[col] = np.nan if value is None else value
        rows.append(row)
    return pd.DataFrame(rows, columns=list(METRIC_COLUMNS))


def write_metrics_csv(
    metrics: dict[str, dict[str, Any]], out: Path, order: list[str] | None = None
) -> Path:
    """Write the metrics table (one row per model) as CSV."""
    write_frame_csv(metrics_frame(metrics, order), Path(out))
    return Path(out)
