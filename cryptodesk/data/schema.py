"""The one canonical in-memory form of candles.

A pandas DataFrame with a UTC ``DatetimeIndex`` named ``time`` (nanosecond unit, sorted,
unique) and float64 columns ``open, high, low, close, volume``. Metadata (source, symbol,
timeframe, whether the series is synthetic) travels in ``DataFrame.attrs`` and is read with
:func:`meta_of`. Every importer, the store, the exchange download and the demo generator
produce this form, and everything downstream (features, models, charts) accepts only it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from cryptodesk.data.timeframes import infer_timeframe, normalize_timeframe
from cryptodesk.errors import DataError

COLUMNS = ("open", "high", "low", "close", "volume")
_SET_AXIS_COPY = int(pd.__version__.split(".")[0]) < 3  # pandas 3 dropped copy= (always lazy)
INDEX_NAME = "time"


@dataclass(frozen=True)
class SeriesKey:
    """Identifies one stored series. Symbols are upper case (``BTC/USDT``, ``BTC-USD``)."""

    source: str
    symbol: str
    timeframe: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", normalize_source(self.source))
        object.__setattr__(self, "symbol", normalize_symbol(self.symbol))
        object.__setattr__(self, "timeframe", normalize_timeframe(self.timeframe))

    def __str__(self) -> str:
        return f"{self.symbol} {self.timeframe} ({self.source})"


@dataclass(frozen=True)
class CandleMeta:
    """Metadata carried with a candle frame."""

    source: str
    symbol: str
    timeframe: str
    synthetic: bool = False

    @property
    def key(self) -> SeriesKey:
        return SeriesKey(self.source, self.symbol, self.timeframe)

    @property
    def label(self) -> str:
        """Human label; synthetic series say so everywhere they appear."""
        text = f"{self.symbol} {self.timeframe} · {self.source}"
        return f"{text} · SYNTHETIC" if self.synthetic else text


def normalize_symbol(symbol: str) -> str:
    """Upper-case, trimmed symbol; raises on an empty one."""
    text = str(symbol).strip().upper()
    if not text:
        raise DataError("symbol must not be empty")
    return text


def loose_symbol(symbol: str) -> str:
    """The symbol's letters and digits, upper-cased: ``btc-usdt``, ``BTC/USDT`` and ``BTCUSDT``
    all read ``BTCUSDT`` (how a typed symbol is matched to a stored series or a market)."""
    return "".join(ch for ch in str(symbol).upper() if ch.isalnum())


def normalize_source(source: str) -> str:
    """Lower-case source name (``csv``, ``binance``, ``demo``)."""
    text = str(source).strip().lower()
    if not text:
        raise DataError("source must not be empty")
    return text


def make_candles(
    frame: pd.DataFrame,
    *,
    source: str,
    symbol: str,
    timeframe: str | None = None,
    synthetic: bool = False,
) -> pd.DataFrame:
    """Coerce ``frame`` (index = times, columns incl. OHLCV) into the canonical form.

    Sorts by time; does not drop duplicates (callers decide: the importer reports them first).
    The timeframe is inferred from the index when not given.
    """
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"candles lack column(s): {', '.join(missing)}")
    index = pd.DatetimeIndex(frame.index)
    if index.tz is None:
        index = index.tz_localize("UTC")
    else:
        index = index.tz_convert("UTC")
    index = index.as_unit("ns")
    index.name = INDEX_NAME
    if tuple(frame.columns) == COLUMNS and all(frame.dtypes == np.float64):
        out = frame.set_axis(index, axis=0, copy=False) if _SET_AXIS_COPY else frame.set_axis(index)
    else:
        out = pd.DataFrame(
            {c: np.asarray(frame[c], dtype=np.float64) for c in COLUMNS}, index=index
        )
    if not out.index.is_monotonic_increasing:
        out = out.sort_index(kind="stable")
    tf = normalize_timeframe(timeframe) if timeframe else infer_timeframe(out.index)
    if tf is None:
        raise DataError("cannot infer the timeframe from fewer than two bars; pass it explicitly")
    set_meta(out, CandleMeta(normalize_source(source), normalize_symbol(symbol), tf, synthetic))
    return out


def set_meta(frame: pd.DataFrame, meta: CandleMeta) -> pd.DataFrame:
    """Attach metadata to ``frame`` in place and return it."""
    frame.attrs.update(asdict(meta))
    return frame


def meta_of(frame: pd.DataFrame) -> CandleMeta:
    """Read the metadata of a candle frame; raises if it has none."""
    attrs = frame.attrs
    try:
        return CandleMeta(
            attrs["source"], attrs["symbol"], attrs["timeframe"], bool(attrs.get("synthetic"))
        )
    except KeyError as exc:
        raise DataError(f"candle frame has no metadata ({exc.args[0]} missing)") from None


def validate_candles(frame: pd.DataFrame) -> None:
    """Assert the canonical form (for tests and at module boundaries)."""
    if not isinstance(frame.index, pd.DatetimeIndex) or str(frame.index.tz) != "UTC":
        raise DataError("candle index must be a UTC DatetimeIndex")
    if tuple(frame.columns) != COLUMNS:
        raise DataError(f"candle columns must be {COLUMNS}, got {tuple(frame.columns)}")
    if any(frame[c].dtype != np.float64 for c in COLUMNS):
        raise DataError("candle columns must be float64")
    if not frame.index.is_monotonic_increasing or frame.index.has_duplicates:
        raise DataError("candle index must be sorted and unique")
    meta_of(frame)


def empty_candles(meta: CandleMeta) -> pd.DataFrame:
    """An empty canonical frame with metadata."""
    index = pd.DatetimeIndex([], tz="UTC", name=INDEX_NAME).as_unit("ns")
    frame = pd.DataFrame({c: np.array([], dtype=np.float64) for c in COLUMNS}, index=index)
    return set_meta(frame, meta)
