"""Regime labels: fit on the training window only, causal per bar, and the per-regime split
uses the label known when each position was decided."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptodesk.data.schema import make_candles
from cryptodesk.errors import DataError
from cryptodesk.evaluation.regimes import (
    UNKNOWN,
    Regimes,
    default_vol_window,
    markov_regimes,
    split_by_regime,
    vol_regimes,
)
from cryptodesk.features.indicators import rolling_volatility


def _candles(sds: list[tuple[int, float]], seed: int = 0, freq: str = "D",
             timeframe: str = "1d") -> pd.DataFrame:
    """Random walk made of (bars, daily sd) segments."""
    rng = np.random.default_rng(seed)
    steps = np.concatenate([rng.normal(0, sd, n) for n, sd in sds])
    close = 100 * np.exp(np.cumsum(steps))
    frame = pd.DataFrame({"open": close, "high": close, "low": close, "close": close,
                          "volume": 1.0},
                         index=pd.date_range("2020-01-01", periods=close.size, freq=freq,
                                             tz="UTC"))
    return make_candles(frame, source="t", symbol="R", timeframe=timeframe)


def test_default_window_is_30_days_capped_at_a_week_of_hours() -> None:
    assert default_vol_window("1d") == 30
    assert default_vol_window("1h") == 168
    assert default_vol_window("1w") == 20


def test_rolling_vol_by_hand() -> None:
    close = np.exp(np.cumsum([0.0, 0.01, -0.01, 0.03]))
    vol = rolling_volatility(close, 2)
    assert np.isnan(vol[:2]).all()
    assert vol[2] == pytest.approx(np.std([0.01, -0.01], ddof=1))
    assert vol[3] == pytest.approx(np.std([-0.01, 0.03], ddof=1))


def test_vol_regimes_cuts_come_from_training_and_label_a_calm_then_wild_test() -> None:
    # training: 300 bars of mixed vol; test: 100 calm bars, then 100 wild ones
    c = _candles([(100, 0.01), (100, 0.02), (100, 0.04), (100, 0.005), (100, 0.08)])
    reg = vol_regimes(c, 300, window=20)
    assert reg.order == ("low", "mid", "high")
    lab = reg.labels
    assert (lab.iloc[:20] == UNKNOWN).all() and (lab.iloc[20:] != UNKNOWN).all()
    assert (lab.iloc[330:400] == "low").all()
    assert (lab.iloc[430:] == "high").all()
    # the cuts are the training terciles: about a third of training bars in each regime
    shares = lab.iloc[20:300].value_counts(normalize=True)
    assert shares.to_dict() == pytest.approx({"low": 1 / 3, "mid": 1 / 3, "high": 1 / 3},
                                             abs=0.01)
    # changing the test bars does not move the cuts
    d = c.copy()
    d.iloc[300:, :4] *= np.exp(np.linspace(0, 3, 200))[:, None]
    assert vol_regimes(d, 300, window=20).params["cuts_annualised"] == \
        reg.params["cuts_annualised"]


def test_vol_regimes_are_causal() -> None:
    c = _candles([(400, 0.02)], seed=3)
    base = vol_regimes(c, 200).labels
    d = c.copy()
    d.iloc[301:, :4] *= np.exp(np.random.default_rng(9).normal(0, 0.1, (99, 1)))
    other = vol_regimes(d, 200).labels
    pd.testing.assert_series_equal(other.iloc[:301], base.iloc[:301])
    assert not other.iloc[301:].equals(base.iloc[301:])


def test_split_uses_the_label_known_at_decision_time() -> None:
    index = pd.date_range("2024-01-01", periods=6, freq="D", tz="UTC")
    labels = pd.Series(["n/a", "low", "high", "high", "low", "high"], index=index)
    reg = Regimes("manual", labels, ("low", "high"))
    bars = pd.DataFrame({"return": [0.01, 0.02, 0.03, 0.04, 0.05], "position": 1.0},
                        index=index[1:])
    split = split_by_regime(bars, reg, 365)
    # bar 1 decided at close 0 (n/a); bars 2 and 5 decided in low; bars 3 and 4 in high
    assert split.at["low", "n_bars"] == 2
    assert split.at["low", "total_return"] == pytest.approx(1.02 * 1.05 - 1)
    assert split.at["high", "total_return"] == pytest.approx(1.03 * 1.04 - 1)
    assert split.at[UNKNOWN, "n_bars"] == 1
    assert list(split.index) == ["low", "high", UNKNOWN]


def test_vol_regimes_need_training_data() -> None:
    c = _candles([(50, 0.02)])
    with pytest.raises(DataError):
        vol_regimes(c, 25, window=20)


def test_markov_regimes_find_the_turbulent_spell_causally() -> None:
    c = _candles([(300, 0.01), (100, 0.06), (200, 0.01), (100, 0.06), (100, 0.01)], seed=4)
    reg = markov_regimes(c, 500)
    lab = reg.labels
    assert reg.order == ("calm", "turbulent")
    # bars 0-300 calm, 300-400 wild, 400-600 calm (training ends at 500), 600-700 wild
    assert (lab.iloc[610:700] == "turbulent").mean() > 0.8
    assert (lab.iloc[710:] == "calm").mean() > 0.8
    assert (lab.iloc[310:400] == "turbulent").mean() > 0.8
    assert reg.params["sigma_pct"][1] > 3 * reg.params["sigma_pct"][0]
    d = c.copy()
    d.iloc[650:, :4] *= 1.5  # a jump after bar 650 must not relabel earlier bars
    pd.testing.assert_series_equal(markov_regimes(d, 500).labels.iloc[:650], lab.iloc[:650])
