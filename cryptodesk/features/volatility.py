"""Realised volatility: the target of ``--target volatility`` runs.

Why a separate target: price levels of crypto are close to a random walk, but their volatility
clusters and is forecastable (HAR-type models beat GARCH on Bitcoin realised variance). The
target is the realised *variance* of each bar, in squared log-return units, measured one of
these ways (``method``):

- ``squared``: the squared close-to-close log return (noisy: one number per bar);
- ``parkinson``: ``ln(H/L)^2 / (4 ln 2)``, the high–low range estimator (Parkinson 1980);
- ``garman_klass``: ``0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2`` (Garman & Klass 1980);
- ``intraday``: the sum of the squared log returns of the intraday bars inside each day
  (realised variance, Andersen & Bollerslev 1998): intraday data become daily bars.

``auto`` picks ``intraday`` for bars shorter than a day and ``parkinson`` otherwise. Each
value depends on its own bar (and, for returns, the close before it) only, so the series is
causal. :func:`volatility_frame` returns the candle frame with the ``rv`` column the
volatility models and the walk-forward read; the close stays untouched.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd

from cryptodesk.data.schema import meta_of
from cryptodesk.data.timeframes import timeframe_seconds
from cryptodesk.errors import DataError
from cryptodesk.features.targets import future_values

__all__ = ["RV_COLUMN", "bar_variance", "future_values", "har_features", "volatility_frame"]

RV_COLUMN = "rv"
Method = Literal["auto", "squared", "parkinson", "garman_klass", "intraday"]
METHODS: tuple[str, ...] = ("auto", "squared", "parkinson", "garman_klass", "intraday")
DAY = 86_400


def bar_variance(candles: pd.DataFrame, method: str) -> np.ndarray:
    """Realised variance of each bar by ``method`` (not ``intraday``/``auto``); NaN where the
    bar's prices do not allow it (the first bar for ``squared``)."""
    c = candles["close"].to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "squared":
            r = np.diff(np.log(c), prepend=np.nan)
            return r * r
        hl = np.log(candles["high"].to_numpy(np.float64) / candles["low"].to_numpy(np.float64))
        if method == "parkinson":
            return hl * hl / (4.0 * math.log(2.0))
        if method == "garman_klass":
            co = np.log(c / candles["open"].to_numpy(np.float64))
            return 0.5 * hl * hl - (2.0 * math.log(2.0) - 1.0) * co * co
    raise DataError(f"unknown volatility measure {method!r}; known: {', '.join(METHODS)}")


def resolve_method(timeframe: str, method: str) -> str:
    """The measure ``auto`` stands for at ``timeframe``; checks ``intraday`` is possible."""
    if method not in METHODS:
        raise DataError(f"unknown volatility measure {method!r}; known: {', '.join(METHODS)}")
    intraday = timeframe_seconds(timeframe) < DAY
    if method == "auto":
        return "intraday" if intraday else "parkinson"
    if method == "intraday" and not intraday:
        raise DataError(f"the intraday measure needs bars shorter than a day, not {timeframe}")
    return method


def volatility_frame(candles: pd.DataFrame, method: str = "auto") -> pd.DataFrame:
    """The candles a volatility run walks forward over, with the ``rv`` column.

    With ``intraday`` the bars become daily bars (UTC days, OHLCV aggregated, an incomplete
    last day dropped) whose ``rv`` is the sum of the squared intraday log returns of the day
    (the first one from the previous day's last close). Other columns (external features) are
    kept only when the bars are not resampled.
    """
    meta = meta_of(candles)
    chosen = resolve_method(meta.timeframe, method)
    if chosen != "intraday":
        out = candles.copy()
        out[RV_COLUMN] = bar_variance(candles, chosen)
    else:
        out = _daily_realised(candles)
    out.attrs = {**candles.attrs, **out.attrs, "target": "volatility", "rv_method": chosen}
    if int(np.isfinite(out[RV_COLUMN].to_numpy()).sum()) < 30:
        raise DataError(f"only {len(out)} bars with a realised variance; a volatility run needs 30")
    return out


def _daily_realised(candles: pd.DataFrame) -> pd.DataFrame:
    from cryptodesk.data.resample import resample_candles

    daily = resample_candles(candles[["open", "high", "low", "close", "volume"]], "1d")
    close = candles["close"].to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.diff(np.log(close), prepend=np.nan)
    day = candles.index.floor("D")
    sq = pd.Series(r * r, index=candles.index).groupby(day)
    rv = sq.sum(min_count=1)
    count = sq.size()
    per_day = DAY // timeframe_seconds(meta_of(candles).timeframe)
    daily = daily.copy()
    daily[RV_COLUMN] = rv.reindex(daily.index).to_numpy()
    if len(daily) and int(count.iloc[-1]) < per_day:
        daily = daily.iloc[:-1]  # the still-forming last day would look calm
    return daily


HAR_WINDOWS = (1, 5, 22)  # a day, a week, a month of daily bars (Corsi 2009)


def rolling_mean_causal(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of ``values[t-window+1 .. t]`` at each t (NaN until complete or if any is NaN)."""
    v = np.asarray(values, dtype=np.float64)
    out = np.full(v.shape[0], np.nan)
    if v.shape[0] >= window:
        out[window - 1:] = np.lib.stride_tricks.sliding_window_view(v, window).mean(axis=1)
    return out


def har_features(rv: np.ndarray) -> np.ndarray:
    """``(n, 3)`` HAR regressors at each bar: the last realised variance and its means over
    the last 5 and 22 bars (each uses bars up to t only)."""
    return np.column_stack([rolling_mean_causal(rv, w) for w in HAR_WINDOWS])
