"""Other assets' bars as columns of the target's candle frame, joined causally.

Two uses, one join:

- ``--with BTC-USD`` (role ``with``): the other series' lagged log returns become external
  feature columns ``x_<asset>_ret_<k>`` for every learning model (k = 0 is the other series'
  latest bar closed *before* the target bar closes, k = 1 the one before, ...).
- pre-training (role ``pretrain``): a net pre-trains on the other series' own windows, read from
  columns ``pt_<asset>_<open|high|low|close|volume>``.

Each other bar is stamped with its *close* time and joined with
:func:`~cryptodesk.features.external.join_asof`: target row t holds the last other bar that
closed strictly before row t closes. So a row never holds anything the market had not seen when
its bar closed, whatever the two timeframes, and the walk-forward's slice at the origin keeps
every other asset's future out of a fit, exactly as it keeps the target's. Lags are computed on
the other series' own bars before the join (finite windows: causal). Models never read a store:
the app layer joins these columns and records the join in the run spec.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from cryptodesk.data.timeframes import timeframe_delta
from cryptodesk.errors import DataError
from cryptodesk.features.external import join_asof

PRETRAIN_FIELDS = ("open", "high", "low", "close", "volume")
ROLES = ("with", "pretrain")


def asset_slug(symbol: str) -> str:
    """Column-safe name of a symbol: ``BTC-USD`` -> ``btc_usd``."""
    slug = re.sub(r"[^a-z0-9]+", "_", str(symbol).lower()).strip("_")
    if not slug:
        raise DataError(f"symbol {symbol!r} has no letters or digits")
    return slug


def with_columns(symbol: str, lags: int) -> tuple[str, ...]:
    """The feature columns ``--with symbol`` adds (lagged log returns, newest first)."""
    return tuple(f"x_{asset_slug(symbol)}_ret_{k}" for k in range(lags))


def pretrain_columns(symbol: str) -> dict[str, str]:
    """Candle field -> column holding the other series' bars for pre-training."""
    return {f: f"pt_{asset_slug(symbol)}_{f}" for f in PRETRAIN_FIELDS}


def pretrain_frame(frame: pd.DataFrame, symbol: str) -> pd.DataFrame:
    """The other series' bars as a candle-like frame (rows where it has no bar are NaN)."""
    cols = pretrain_columns(symbol)
    missing = [c for c in cols.values() if c not in frame.columns]
    if missing:
        raise DataError(
            f"pre-training series {symbol} is not joined to the data (columns "
            f"{', '.join(missing[:2])}...); run through backtest/train, which join it")
    out = pd.DataFrame({f: frame[c].to_numpy(dtype=np.float64) for f, c in cols.items()},
                       index=frame.index)
    out.attrs.update(frame.attrs)
    return out


def _by_close_time(other: pd.DataFrame, timeframe: str, values: pd.DataFrame) -> pd.DataFrame:
    """``values`` re-indexed by the other series' bar close times (when they became known)."""
    return values.set_axis(other.index + timeframe_delta(timeframe))


def join_with(candles: pd.DataFrame, other: pd.DataFrame, symbol: str, lags: int,
              other_timeframe: str) -> pd.DataFrame:
    """``candles`` plus the other series' last ``lags`` log returns (see module docstring)."""
    if lags < 1:
        raise DataError("--with needs at least one lagged return")
    close = other["close"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = np.full(close.shape, np.nan)
        ret[1:] = np.diff(np.log(close))
    cols = with_columns(symbol, lags)
    lagged = pd.DataFrame({c: pd.Series(ret).shift(k).to_numpy() for k, c in enumerate(cols)})
    return join_asof(candles, _by_close_time(other, other_timeframe, lagged), list(cols))


def join_pretrain(candles: pd.DataFrame, other: pd.DataFrame, symbol: str,
                  other_timeframe: str) -> pd.DataFrame:
    """``candles`` plus the other series' OHLCV as ``pt_`` columns (see module docstring)."""
    cols = pretrain_columns(symbol)
    values = pd.DataFrame({c: other[f].to_numpy(dtype=np.float64) for f, c in cols.items()})
    return join_asof(candles, _by_close_time(other, other_timeframe, values), list(cols.values()))
