"""Build the feature matrix a :class:`~cryptodesk.features.spec.FeatureSpec` describes.

``feature_matrix(frame, spec)`` returns a float64 ``(n, f)`` array aligned with the frame's
rows; ``build_features`` wraps it in a DataFrame with the spec's column names. Row t depends on
rows ``t - spec.warmup() + 1 .. t`` only, so:

- training uses the full training frame (rows before the warm-up are NaN and are dropped);
- prediction at an origin calls :func:`last_feature_row` on ``history``, which computes the
  features on the last ``warmup`` rows only: cheap, and equal to the full computation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptodesk.errors import DataError
from cryptodesk.features import indicators as ind
from cryptodesk.features.spec import FeatureSpec, ema_length


def feature_matrix(frame: pd.DataFrame, spec: FeatureSpec, timeframe: str | None = None) -> np.ndarray:
    """Features of every row of ``frame`` as an ``(n, f)`` float64 array (see module doc)."""
    timeframe = timeframe or _timeframe_of(frame)
    close = _column(frame, "close")
    cols: list[np.ndarray] = []
    if spec.return_lags or spec.volatility_windows:
        ret = ind.log_returns(close)
        cols += [ind.lag(ret, k) for k in range(spec.return_lags)]
        cols += [ind.rolling_std(ret, w) for w in spec.volatility_windows]
    if spec.rsi_window:
        cols.append(ind.rsi(close, spec.rsi_window))
    if spec.macd_fast is not None:
        cols += list(ind.macd(close, spec.macd_fast, spec.macd_slow, spec.macd_signal, ema_length))
    if spec.bollinger_window:
        cols.append(ind.bollinger_pct_b(close, spec.bollinger_window, spec.bollinger_k))
    if spec.atr_window:
        high, low = _column(frame, "high"), _column(frame, "low")
        cols.append(ind.atr_ratio(high, low, close, spec.atr_window))
    if spec.volume_z_window:
        volume = _column(frame, "volume")
        with np.errstate(invalid="ignore"):
            cols.append(ind.zscore(np.log1p(np.maximum(volume, 0.0)), spec.volume_z_window))
    if spec.calendar:
        cols += _calendar(frame.index, timeframe)
    for name in spec.external:
        if name not in frame.columns:
            raise DataError(f"external feature column {name!r} is not in the data")
        cols.append(_column(frame, name))
    if not cols:
        return np.empty((len(frame), 0))
    return np.column_stack(cols)


def build_features(frame: pd.DataFrame, spec: FeatureSpec, timeframe: str | None = None) -> pd.DataFrame:
    """Features as a DataFrame indexed like ``frame`` (for inspection, export and tests)."""
    timeframe = timeframe or _timeframe_of(frame)
    return pd.DataFrame(
        feature_matrix(frame, spec, timeframe), index=frame.index, columns=spec.columns(timeframe)
    )


def last_feature_row(history: pd.DataFrame, spec: FeatureSpec, timeframe: str | None = None) -> np.ndarray:
    """Features of the last row of ``history``, computed on its last ``warmup`` rows only."""
    tail = history.iloc[-spec.warmup():]
    return feature_matrix(tail, spec, timeframe or _timeframe_of(history))[-1]


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    return np.asarray(frame[name].to_numpy(), dtype=np.float64)


def _timeframe_of(frame: pd.DataFrame) -> str:
    tf = frame.attrs.get("timeframe")
    if tf:
        return str(tf)
    from cryptodesk.data.timeframes import infer_timeframe

    return infer_timeframe(frame.index) or "1d"


def _calendar(index: pd.DatetimeIndex, timeframe: str) -> list[np.ndarray]:
    """Hour (intraday) and weekday as points on a circle: 23 h sits next to 0 h."""
    from cryptodesk.data.timeframes import timeframe_seconds

    seconds = timeframe_seconds(timeframe)
    out: list[np.ndarray] = []
    if seconds < 86_400:
        hour = index.hour.to_numpy(dtype=np.float64) + index.minute.to_numpy(dtype=np.float64) / 60
        out += [np.sin(2 * np.pi * hour / 24), np.cos(2 * np.pi * hour / 24)]
    if seconds < 7 * 86_400:
        day = index.day_of_week.to_numpy(dtype=np.float64)
        out += [np.sin(2 * np.pi * day / 7), np.cos(2 * np.pi * day / 7)]
    return out
