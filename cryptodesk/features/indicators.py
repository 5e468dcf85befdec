"""Causal indicator kernels on numpy arrays.

Each function takes 1-D float64 arrays of equal length n and returns an array of length n whose
element t depends only on elements ``t - w + 1 .. t`` for a fixed window w (NaN where the window
is incomplete or holds a NaN). They use sliding-window views rather than cumulative sums, so the
value for a window is the same number whether it is computed on the whole series or on a short
tail: training features and per-step prediction features agree exactly, and a perturbation
after row t cannot leak into row t through accumulated rounding either.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _windowed(x: np.ndarray, window: int, reduce: str, ddof: int = 0) -> np.ndarray:
    n = x.shape[0]
    out = np.full(n, np.nan)
    if window <= n:
        view = sliding_window_view(x, window)
        if reduce == "mean":
            out[window - 1:] = view.mean(axis=1)
        elif reduce == "std":
            out[window - 1:] = view.std(axis=1, ddof=ddof)
        else:  # pragma: no cover - programming error
            raise ValueError(reduce)
    return out


def rolling_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values."""
    return _windowed(x, window, "mean")


def rolling_std(x: np.ndarray, window: int, ddof: int = 1) -> np.ndarray:
    """Standard deviation of the last ``window`` values."""
    return _windowed(x, window, "std", ddof)


def log_returns(close: np.ndarray) -> np.ndarray:
    """``log(close[t] / close[t-1])``; element 0 is NaN."""
    out = np.full(close.shape[0], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[1:] = np.diff(np.log(close))
    return out


def rolling_volatility(close: np.ndarray, window: int, min_periods: int | None = None) -> np.ndarray:
    """Realised volatility: sd (ddof=1) of the last ``window`` one-bar log returns ending at
    each bar, causal; NaN until ``min_periods`` returns (default: a full window) are there.

    The one rolling-volatility function: features, volatility regimes and strategy sizing all
    measure "recent volatility" the same way.
    """
    import pandas as pd

    ret = log_returns(np.asarray(close, dtype=np.float64))
    need = window if min_periods is None else max(2, min_periods)
    return pd.Series(ret).rolling(window, min_periods=need).std(ddof=1).to_numpy()


def lag(x: np.ndarray, k: int) -> np.ndarray:
    """``x[t - k]`` (NaN for the first k rows)."""
    if k == 0:
        return x.copy()
    out = np.full(x.shape[0], np.nan)
    out[k:] = x[:-k]
    return out


def ema_weights(span: int, length: int) -> np.ndarray:
    """Normalised weights of a truncated EMA, oldest first (alpha = 2 / (span + 1))."""
    alpha = 2.0 / (span + 1.0)
    w = (1.0 - alpha) ** np.arange(length - 1, -1, -1, dtype=np.float64)
    return w / w.sum()


def truncated_ema(x: np.ndarray, span: int, length: int) -> np.ndarray:
    """EMA over the last ``length`` values only (finite window, hence exact on any tail)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    if length <= n:
        out[length - 1:] = sliding_window_view(x, length) @ ema_weights(span, length)
    return out


def rsi(close: np.ndarray, window: int) -> np.ndarray:
    """Relative strength index with simple averages of gains and losses (Cutler), 0..100.

    Wilder's smoothing has infinite memory; the simple form keeps the window finite. 50 when
    the window had no change at all.
    """
    diff = np.full(close.shape[0], np.nan)
    diff[1:] = np.diff(close)
    gain = rolling_mean(np.where(diff > 0, diff, np.where(np.isnan(diff), np.nan, 0.0)), window)
    loss = rolling_mean(np.where(diff < 0, -diff, np.where(np.isnan(diff), np.nan, 0.0)), window)
    total = gain + loss
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(total > 0, 100.0 * gain / total, 50.0)
    out[np.isnan(total)] = np.nan
    return out


def macd(
    close: np.ndarray, fast: int, slow: int, signal: int, length_of: Callable[[int], int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MACD line, signal line and histogram, each divided by the close (scale-free).

    ``length_of(span)`` gives the truncation length of each EMA.
    """
    line = truncated_ema(close, fast, length_of(fast)) - truncated_ema(close, slow, length_of(slow))
    with np.errstate(divide="ignore", invalid="ignore"):
        line = line / close
    sig = truncated_ema(line, signal, length_of(signal))
    return line, sig, line - sig


def bollinger_pct_b(close: np.ndarray, window: int, k: float) -> np.ndarray:
    """Bollinger %B: 0 at the lower band, 1 at the upper band (population sd)."""
    mean = rolling_mean(close, window)
    sd = rolling_std(close, window, ddof=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (close - (mean - k * sd)) / (2.0 * k * sd)
    out[sd == 0] = 0.5
    return out


def atr_ratio(high: np.ndarray, low: np.ndarray, close: np.ndarray, window: int) -> np.ndarray:
    """Average true range over ``window`` bars divided by the close."""
    prev = lag(close, 1)
    tr = np.fmax(high - low, np.fmax(np.abs(high - prev), np.abs(low - prev)))
    tr[0] = np.nan  # the first bar has no previous close
    tr[np.isnan(prev) | np.isnan(high) | np.isnan(low)] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        return rolling_mean(tr, window) / close


def zscore(x: np.ndarray, window: int) -> np.ndarray:
    """``(x - rolling mean) / rolling sd`` over ``window`` values; 0 where the sd is 0."""
    mean = rolling_mean(x, window)
    sd = rolling_std(x, window, ddof=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (x - mean) / sd
    out[sd == 0] = 0.0
    return out
