"""Feature pipeline: causality (no look-ahead), exact tail computation, hand-checked indicator
values, JSON-able specs, targets, external as-of joins, scaling and zero-copy windowing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cryptodesk.data.schema import make_candles
from cryptodesk.errors import DataError, ModelError
from cryptodesk.features import indicators as ind
from cryptodesk.features.builders import build_features, feature_matrix, last_feature_row
from cryptodesk.features.external import join_asof
from cryptodesk.features.scaling import Standardizer
from cryptodesk.features.spec import FeatureSpec
from cryptodesk.features.targets import future_log_returns
from cryptodesk.features.windows import SequenceDataset, last_window, sliding_windows


def _candles(n: int = 400, freq: str = "D", seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(0.02 * rng.standard_normal(n)))
    open_ = np.concatenate([[50.0], close[:-1]])
    frame = pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.01,
            "low": np.minimum(open_, close) * 0.99,
            "close": close,
            "volume": rng.lognormal(8, 1, n),
        },
        index=pd.date_range("2021-03-01", periods=n, freq=freq, tz="UTC"),
    )
    return make_candles(frame, source="test", symbol="X-USD")


SPECS = [
    FeatureSpec(),
    FeatureSpec(return_lags=3, volatility_windows=(), rsi_window=None, macd_fast=None,
                bollinger_window=None, atr_window=None, volume_z_window=None, calendar=False),
    FeatureSpec(return_lags=30, volatility_windows=(7, 30, 90), rsi_window=5, macd_fast=5,
                macd_slow=10, macd_signal=3, bollinger_window=50, atr_window=3,
                volume_z_window=60),
]


def _perturbed(data: pd.DataFrame, cut: int, how: str) -> pd.DataFrame:
    changed = data.copy()
    tail = changed.iloc[cut + 1 :].to_numpy()
    if how == "scale":
        tail = tail * 7.0
    elif how == "shuffle":
        tail = tail[np.random.default_rng(1).permutation(len(tail))]
    else:
        tail = np.full_like(tail, np.nan)
    changed.iloc[cut + 1 :] = tail
    changed.attrs.update(data.attrs)
    return changed


def _rows_up_to_cut_unchanged(build, data: pd.DataFrame, cut: int, how: str) -> bool:
    a = np.asarray(build(data))[: cut + 1]
    b = np.asarray(build(_perturbed(data, cut, how)))[: cut + 1]
    return bool(np.array_equal(a, b, equal_nan=True))  # bit-for-bit, NaN == NaN


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("how", ["scale", "shuffle", "nan"])
def test_features_never_look_ahead(spec: FeatureSpec, how: str) -> None:
    data = _candles()
    assert _rows_up_to_cut_unchanged(lambda f: feature_matrix(f, spec), data, 250, how)


@pytest.mark.parametrize("how", ["scale", "shuffle", "nan"])
def test_look_ahead_check_catches_a_leaky_feature(how: str) -> None:
    """The check above is not vacuous: a centred window (a classic leak) fails it."""
    def leaky(frame: pd.DataFrame) -> np.ndarray:
        return frame["close"].rolling(5, center=True).mean().to_numpy()

    assert not _rows_up_to_cut_unchanged(leaky, _candles(), 250, how)


@pytest.mark.parametrize("spec", SPECS)
def test_tail_computation_equals_full(spec: FeatureSpec) -> None:
    data = _candles(n=500)
    full = feature_matrix(data, spec)
    w = spec.warmup()
    assert np.all(np.isfinite(full[w - 1 :])), "warmup must cover every feature"
    if w > 1:
        assert not np.all(np.isfinite(full[w - 2]))
    for end in (w, 300, 500):
        row = last_feature_row(data.iloc[:end], spec)
        np.testing.assert_allclose(row, full[end - 1], rtol=1e-12, atol=1e-12)


def test_feature_columns_match_matrix_daily_and_hourly() -> None:
    spec = FeatureSpec(external=())
    daily = build_features(_candles(n=200), spec)
    hourly = build_features(_candles(n=200, freq="h"), spec)
    assert list(daily.columns) == spec.columns("1d")
    assert "hour_sin" in hourly.columns and "hour_sin" not in daily.columns
    assert hourly.shape[1] == daily.shape[1] + 2


def test_spec_json_round_trip_and_validation() -> None:
    spec = FeatureSpec(volatility_windows=(3, 9), external=("sentiment",))
    again = FeatureSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and isinstance(again.volatility_windows, tuple)
    with pytest.raises(ModelError):
        FeatureSpec(macd_fast=30, macd_slow=26)
    with pytest.raises(ModelError):
        FeatureSpec(return_lags=-1)
    with pytest.raises(ModelError, match="unknown setting"):
        FeatureSpec.from_dict({"lags": 3})


def test_indicator_values_by_hand() -> None:
    close = np.array([10.0, 11.0, 10.5, 11.5, 12.0])
    # RSI(2) at t=2: diffs +1, -0.5 -> gains 0.5, losses 0.25 -> 100 * 0.5 / 0.75
    rsi = ind.rsi(close, 2)
    assert np.isnan(rsi[1])
    assert rsi[2] == pytest.approx(100 * 0.5 / 0.75)
    assert rsi[4] == pytest.approx(100.0)  # only gains
    # Bollinger %B(3, k=1) at t=2: mean 10.5, pop sd sqrt(1/6)
    sd = np.sqrt(((10 - 10.5) ** 2 + (11 - 10.5) ** 2 + 0) / 3)
    assert ind.bollinger_pct_b(close, 3, 1.0)[2] == pytest.approx((10.5 - (10.5 - sd)) / (2 * sd))
    # ATR(2)/close at t=2: TR1 = max(1.2-0.9, |1.2-10|...) with synthetic highs/lows
    high, low = close + 0.5, close - 0.5
    tr1 = max(1.0, abs(high[1] - close[0]), abs(low[1] - close[0]))  # 1.5
    tr2 = max(1.0, abs(high[2] - close[1]), abs(low[2] - close[1]))  # 1.0
    assert ind.atr_ratio(high, low, close, 2)[2] == pytest.approx((tr1 + tr2) / 2 / close[2])
    # log returns and lags
    r = ind.log_returns(close)
    assert r[1] == pytest.approx(np.log(1.1)) and np.isnan(r[0])
    assert ind.lag(r, 2)[3] == r[1]
    # truncated EMA weights sum to one and put most weight on the latest value
    w = ind.ema_weights(3, 12)
    assert w.sum() == pytest.approx(1.0) and w[-1] == w.max()
    # z-score: constant window -> 0
    assert ind.zscore(np.ones(5), 3)[4] == 0.0


def test_targets_are_future_log_returns() -> None:
    close = np.array([1.0, 2.0, 4.0, 8.0])
    y = future_log_returns(close, 2)
    np.testing.assert_allclose(y[0], [np.log(2), np.log(4)])
    assert np.isnan(y[3]).all() and np.isnan(y[2, 1]) and y[2, 0] == pytest.approx(np.log(2))


def test_join_asof_uses_only_values_known_at_bar_close() -> None:
    candles = _candles(n=5)
    ext = pd.Series(
        [1.0, 2.0, 3.0],
        index=pd.DatetimeIndex(["2021-03-01 12:00", "2021-03-02 00:00", "2021-03-03 23:00"]),
        name="sentiment",
    )
    out = join_asof(candles, ext)
    # bar 03-01 closes at 03-02 00:00: the 12:00 value is known, the 00:00 one is not (yet)
    np.testing.assert_array_equal(out["sentiment"].to_numpy()[:4], [1.0, 2.0, 3.0, 3.0])
    assert out.attrs == candles.attrs and "sentiment" not in candles.columns
    feats = build_features(out, FeatureSpec(external=("sentiment",), calendar=False))
    assert "ext_sentiment" in feats.columns
    aged = join_asof(candles, ext, max_age="1D")
    assert np.isnan(aged["sentiment"].to_numpy()[4])
    with pytest.raises(DataError):
        build_features(candles, FeatureSpec(external=("missing",)))


def test_standardizer_fits_train_only_and_round_trips() -> None:
    x = np.array([[1.0, 5.0], [3.0, 5.0], [np.nan, 5.0]])
    s = Standardizer().fit(x)
    np.testing.assert_allclose(s.mean, [2.0, 5.0])
    np.testing.assert_allclose(s.scale, [1.0, 1.0])  # zero spread -> 1
    again = Standardizer.from_dict(json.loads(json.dumps(s.to_dict())))
    np.testing.assert_array_equal(again.transform(x), s.transform(x))
    np.testing.assert_allclose(s.inverse(s.transform(x[:2])), x[:2])


def test_sliding_windows_are_views_not_copies() -> None:
    values = np.arange(20.0).reshape(10, 2)
    win = sliding_windows(values, 4)
    assert win.shape == (7, 4, 2)
    assert np.shares_memory(win, values)
    assert win.nbytes > values.nbytes  # logical size; no such allocation happened
    np.testing.assert_array_equal(win[0], values[0:4])
    np.testing.assert_array_equal(win[-1], values[6:10])
    with pytest.raises(ValueError):
        win[0, 0, 0] = 1.0  # read-only: a model cannot corrupt its inputs through a window
    np.testing.assert_array_equal(last_window(values, 3)[0], values[-3:])
    assert sliding_windows(values, 11).shape == (0, 11, 2)


def test_sequence_dataset_memory_is_o_n_and_alignment() -> None:
    n, f, lookback = 5000, 8, 256
    feats = np.random.default_rng(0).standard_normal((n, f))
    feats[10] = np.nan
    close = np.exp(np.cumsum(np.full(n, 0.001)))
    ds = SequenceDataset.build(feats, future_log_returns(close, 3), lookback)
    assert np.shares_memory(ds.windows, feats)
    # windows containing row 10 and the last 3 (no target) are excluded
    assert ds.rows[0] == 11 and ds.end_row(ds.rows[-1]) == n - 4
    assert len(ds) == (n - lookback + 1) - 11 - 3
    batch = next(ds.batches(32, np.random.default_rng(1)))
    xb, yb = ds.windows[batch], ds.targets_at(batch)
    assert xb.shape == (32, lookback, f) and yb.shape == (32, 3)
    np.testing.assert_array_equal(xb[0][-1], feats[ds.end_row(batch[0])])
    train, valid = ds.split(0.2)
    assert train[-1] + 3 < valid[0]  # gap of H windows between train and validation
