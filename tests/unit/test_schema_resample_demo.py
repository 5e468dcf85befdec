"""Canonical candle form, timeframe inference, resampling and the demo series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptodesk.data.demo import DEMO_SYMBOL, generate_demo
from cryptodesk.data.quality import check_quality
from cryptodesk.data.resample import resample_candles
from cryptodesk.data.schema import COLUMNS, make_candles, meta_of, validate_candles
from cryptodesk.data.timeframes import infer_timeframe, normalize_timeframe, timeframe_seconds
from cryptodesk.errors import DataError


def _frame(index: pd.DatetimeIndex, **kw: float) -> pd.DataFrame:
    n = len(index)
    base = np.arange(1, n + 1, dtype=float)
    data = {"open": base, "high": base + 1, "low": base - 0.5, "close": base + 0.5, "volume": base}
    return pd.DataFrame(data, index=index)


@pytest.mark.parametrize("tf", ["1m", "5m", "15m", "1h", "4h", "1d", "1w"])
def test_timeframe_inferred_despite_gaps_and_duplicates(tf: str) -> None:
    step = pd.Timedelta(seconds=timeframe_seconds(tf))
    index = pd.date_range("2024-01-01", periods=50, freq=step, tz="UTC")
    index = index.delete([10, 11, 30]).append(index[[5]]).sort_values()
    assert infer_timeframe(index) == tf


def test_normalize_timeframe() -> None:
    assert normalize_timeframe("60m") == "1h" and normalize_timeframe("24h") == "1d"
    with pytest.raises(DataError, match="unknown timeframe"):
        normalize_timeframe("hourly")


def test_make_candles_gives_canonical_form() -> None:
    index = pd.date_range("2024-01-01", periods=5, freq="h")  # naive -> UTC
    frame = _frame(index).astype({"volume": "int64"})[::-1]  # unsorted, int volume
    candles = make_candles(frame, source="CSV", symbol="btc/usdt")
    validate_candles(candles)
    assert tuple(candles.columns) == COLUMNS
    assert str(candles.index.dtype) == "datetime64[ns, UTC]"
    meta = meta_of(candles)
    assert (meta.source, meta.symbol, meta.timeframe, meta.synthetic) == ("csv", "BTC/USDT", "1h", False)


def test_resample_hourly_to_4h_and_daily_with_utc_edges() -> None:
    index = pd.date_range("2024-01-01 02:00", periods=30, freq="h", tz="UTC")
    candles = make_candles(_frame(index), source="csv", symbol="X")
    four = resample_candles(candles, "4h")
    # first bucket 00:00-04:00 holds only the 02:00 and 03:00 bars
    assert four.index[0] == pd.Timestamp("2024-01-01 00:00", tz="UTC")
    first = candles.iloc[0:2]
    assert four.iloc[0].open == first.open.iloc[0] and four.iloc[0].close == first.close.iloc[-1]
    assert four.iloc[0].high == first.high.max() and four.iloc[0].low == first.low.min()
    assert four.iloc[0].volume == first.volume.sum()
    second = candles.loc["2024-01-01 04:00":"2024-01-01 07:00"]
    assert four.iloc[1].volume == second.volume.sum() and four.iloc[1].high == second.high.max()
    assert meta_of(four).timeframe == "4h"
    complete = resample_candles(candles, "4h", complete_only=True)
    assert complete.index[0] == pd.Timestamp("2024-01-01 04:00", tz="UTC")
    daily = resample_candles(candles, "1d")
    assert list(daily.index.hour) == [0, 0] and daily.volume.sum() == candles.volume.sum()


def test_resample_keeps_gaps_as_gaps_and_weeks_start_monday() -> None:
    index = pd.date_range("2024-01-01", periods=40, freq="D", tz="UTC").delete(range(14, 21))
    candles = make_candles(_frame(index), source="csv", symbol="X", timeframe="1d")
    weekly = resample_candles(candles, "1w")
    assert (weekly.index.day_of_week == 0).all()
    assert pd.Timestamp("2024-01-15", tz="UTC") not in weekly.index  # the empty week stays out
    with pytest.raises(DataError, match="multiple"):
        resample_candles(candles, "1h")


def test_demo_is_deterministic_synthetic_and_sane() -> None:
    a, b = generate_demo("1d", bars=500), generate_demo("1d", bars=500)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(generate_demo("1d", bars=500, seed=1))
    meta = meta_of(a)
    assert meta.synthetic and meta.symbol == DEMO_SYMBOL and "SYNTHETIC" in meta.label
    validate_candles(a)
    report = check_quality(a, "1d")
    assert report.clean, report.lines()
    returns = np.log(a.close).diff().dropna()
    vol = returns.std() * np.sqrt(365)
    assert 0.3 < vol < 2.5  # crypto-like annualised volatility
    # volatility clusters: |r| is autocorrelated, as in real crypto series
    abs_r = returns.abs()
    assert abs_r.autocorr(1) > 0.05
    # volume rises with absolute returns
    assert np.corrcoef(abs_r, a.volume.iloc[1:])[0, 1] > 0.2
    hourly = generate_demo("1h", bars=100)
    assert infer_timeframe(hourly.index) == "1h"
