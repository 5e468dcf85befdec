"""The feature-matrix cache (cryptodesk.features.matrix_cache): a prefix or an extension of a
frame seen before gives exactly the full computation's rows, and a frame that differs anywhere
on the shared rows is computed afresh (a stale row would be a silent look-ahead or a wrong
feature)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cryptodesk.data.schema import make_candles
from cryptodesk.features import matrix_cache
from cryptodesk.features.builders import feature_matrix
from cryptodesk.features.matrix_cache import cached_feature_matrix
from cryptodesk.features.spec import FeatureSpec


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    matrix_cache.clear()
    yield
    matrix_cache.clear()


def _candles(n: int, freq: str = "D", seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 80 * np.exp(np.cumsum(0.03 * rng.standard_normal(n)))
    frame = pd.DataFrame({"open": close, "high": close * 1.02, "low": close * 0.98,
                          "close": close, "volume": rng.lognormal(7, 1, n)},
                         index=pd.date_range("2020-01-01", periods=n, freq=freq, tz="UTC"))
    return make_candles(frame, source="test", symbol="X-USD")


@pytest.mark.parametrize("freq,tf", [("D", "1d"), ("h", "1h")])
def test_prefixes_and_extensions_equal_the_full_computation(freq: str, tf: str) -> None:
    candles = _candles(900, freq)
    spec = FeatureSpec()
    full = feature_matrix(candles, spec, tf)
    # a walk-forward's order: calibration prefix, the window, the block after it, the next one
    for cut in (300, 420, 421, 451, 440, 600, 601, 900, 100, 899):
        got = cached_feature_matrix(candles.iloc[:cut], spec, tf)
        np.testing.assert_array_equal(got, full[:cut])
        assert not got.flags.writeable


def test_real_daily_series_extend_exactly(shared_data: Path) -> None:
    from cryptodesk.data.csv_import import read_candles_csv

    path = shared_data / "daily" / "BTC-USD.csv"
    if not path.exists():
        pytest.skip(f"{path} is not in ../shared/data")
    candles, _ = read_candles_csv(path, symbol="BTC-USD", source="yahoo", timeframe="1d")
    spec = FeatureSpec()
    full = feature_matrix(candles, spec, "1d")
    for cut in range(2800, len(candles) + 1, 31):
        np.testing.assert_array_equal(cached_feature_matrix(candles.iloc[:cut], spec, "1d"),
                                      full[:cut])


@pytest.mark.parametrize("column", ["close", "high", "low", "volume"])
def test_a_changed_row_is_never_served_from_the_cache(column: str) -> None:
    candles = _candles(500)
    spec = FeatureSpec()
    cached_feature_matrix(candles, spec, "1d")
    changed = candles.copy()
    changed.iloc[250, changed.columns.get_loc(column)] *= 1.5
    np.testing.assert_array_equal(cached_feature_matrix(changed.iloc[:400], spec, "1d"),
                                  feature_matrix(changed.iloc[:400], spec, "1d"))
    np.testing.assert_array_equal(cached_feature_matrix(changed, spec, "1d"),
                                  feature_matrix(changed, spec, "1d"))


def test_another_start_or_spec_is_computed_afresh() -> None:
    candles = _candles(500)
    spec = FeatureSpec()
    cached_feature_matrix(candles, spec, "1d")
    later = candles.iloc[50:]
    np.testing.assert_array_equal(cached_feature_matrix(later, spec, "1d"),
                                  feature_matrix(later, spec, "1d"))
    other = FeatureSpec(return_lags=3)
    np.testing.assert_array_equal(cached_feature_matrix(candles, other, "1d"),
                                  feature_matrix(candles, other, "1d"))


def test_the_same_instants_in_another_time_zone_are_computed_afresh() -> None:
    candles = _candles(500)
    spec = FeatureSpec()  # its weekday features read local time
    cached_feature_matrix(candles, spec, "1d")
    local = candles.tz_convert("America/New_York")
    np.testing.assert_array_equal(cached_feature_matrix(local, spec, "1d"),
                                  feature_matrix(local, spec, "1d"))
