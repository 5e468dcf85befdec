"""Strategy backtest on hand-built price paths: exact equity, exact costs, timing (no look-ahead).

Prices move by round percentages and opens equal the previous close unless a test says
otherwise, so every equity value below is worked out by hand in the comments.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptodesk.data.schema import make_candles
from cryptodesk.errors import DataError
from cryptodesk.evaluation.strategy import (
    StrategySpec,
    buy_and_hold,
    decisions,
    parse_sizing,
    parse_strategy,
    run_strategy,
)
from cryptodesk.models.base import Z90

C = 15e-4  # default fee 10 bps + slippage 5 bps


def candles(close: list[float], open_: list[float] | None = None, freq: str = "D",
            timeframe: str = "1d") -> pd.DataFrame:
    close_a = np.asarray(close, dtype=float)
    o = np.concatenate([[close_a[0]], close_a[:-1]]) if open_ is None else np.asarray(open_, float)
    frame = pd.DataFrame(
        {"open": o, "high": np.maximum(o, close_a), "low": np.minimum(o, close_a),
         "close": close_a, "volume": 1.0},
        index=pd.date_range("2024-01-01", periods=len(close_a), freq=freq, tz="UTC"),
    )
    return make_candles(frame, source="test", symbol="T-USD", timeframe=timeframe)


def forecasts(c: pd.DataFrame, expected: list[float], first: int = 0,
              p_up: list[float] | None = None, lower: list[float] | None = None,
              upper: list[float] | None = None, stride: int = 1) -> pd.DataFrame:
    """Walk-forward style frame: origins first, first+stride, ...; forecast = last close *
    (1 + expected return)."""
    pos = np.arange(first, first + stride * len(expected), stride)
    last = c["close"].to_numpy()[pos]
    n = len(pos)
    nan = np.full(n, np.nan)
    return pd.DataFrame({
        "origin": c.index[pos], "target_time": c.index[pos + 1], "horizon": 1,
        "forecast": last * (1 + np.asarray(expected, float)),
        "lower": nan if lower is None else np.asarray(lower, float),
        "upper": nan if upper is None else np.asarray(upper, float),
        "p_up": nan if p_up is None else np.asarray(p_up, float),
        "actual": c["close"].to_numpy()[pos + 1], "last_close": last,
    })


# +10 %, +10 %, -10 %, +10 %, +10 %
PATH = [100.0, 110.0, 121.0, 108.9, 119.79, 131.769]
SIGNS = [0.01, 0.01, -0.01, 0.01, -0.01]


def test_sign_long_flat_exact_equity_without_costs() -> None:
    c = candles(PATH)
    res = run_strategy(forecasts(c, SIGNS), c, StrategySpec(fee_bps=0, slippage_bps=0))
    # decided at closes 0..4, held during bars 1..5
    assert res.bars["position"].tolist() == [1, 1, 0, 1, 0]
    assert res.bars.index[0] == c.index[1]
    np.testing.assert_allclose(res.bars["return"], [0.1, 0.1, 0.0, 0.1, 0.0], atol=1e-12)
    np.testing.assert_allclose(res.bars["equity"], [1.1, 1.21, 1.21, 1.331, 1.331], rtol=1e-12)
    assert res.bars["drawdown"].max() == 0.0


def test_costs_reduce_equity_by_exactly_the_charged_fraction() -> None:
    c = candles(PATH)
    res = run_strategy(forecasts(c, SIGNS), c, StrategySpec())  # 10 + 5 bps
    # four fills of one unit each: in at bar 1, out at 3, in at 4, out at 5
    np.testing.assert_allclose(res.bars["cost"], [C, 0, C, C, C], rtol=1e-12)
    assert res.bars["equity"].iat[-1] == pytest.approx(1.331 * (1 - C) ** 4, rel=1e-12)
    free = run_strategy(forecasts(c, SIGNS), c, StrategySpec(fee_bps=0, slippage_bps=0))
    ratio = (1 + res.returns) / (1 + free.returns)
    np.testing.assert_allclose(ratio, 1 - np.abs(res.bars["trade"]) * C, rtol=1e-12)
    # fee and slippage are the same kind of charge: 15 + 0 == 0 + 15 == 10 + 5
    a = run_strategy(forecasts(c, SIGNS), c, StrategySpec(fee_bps=15, slippage_bps=0))
    b = run_strategy(forecasts(c, SIGNS), c, StrategySpec(fee_bps=0, slippage_bps=15))
    np.testing.assert_allclose(a.returns, res.returns, rtol=1e-12)
    np.testing.assert_allclose(b.returns, res.returns, rtol=1e-12)


def test_long_short_flips_pay_twice_and_earn_on_falls() -> None:
    c = candles(PATH)
    res = run_strategy(forecasts(c, SIGNS), c, StrategySpec(long_short=True))
    assert res.bars["position"].tolist() == [1, 1, -1, 1, -1]
    expected = 1.1 * (1 - C) * 1.1 * (1.1 * (1 - 2 * C)) * (1.1 * (1 - 2 * C)) * (0.9 * (1 - 2 * C))
    assert res.bars["equity"].iat[-1] == pytest.approx(expected, rel=1e-12)
    assert len(res.fills) == 4 and res.fills["to"].tolist() == [1, -1, 1, -1]


def test_funding_is_charged_per_short_bar_only() -> None:
    c = candles([100.0] * 6)
    spec = StrategySpec(long_short=True, fee_bps=0, slippage_bps=0, funding_bps=3)
    res = run_strategy(forecasts(c, [-0.01, -0.01, 0.01, -0.01, 0.0]), c, spec)
    assert res.bars["position"].tolist() == [-1, -1, 1, -1, 0]
    np.testing.assert_allclose(res.bars["funding"], [3e-4, 3e-4, 0, 3e-4, 0])
    assert res.bars["equity"].iat[-1] == pytest.approx((1 - 3e-4) ** 3, rel=1e-12)


def test_fills_happen_at_the_next_open_gap_goes_to_the_old_position() -> None:
    # bar 1 opens 5 % above close 0 and closes flat to its open; bar 2 opens at 100, closes 110
    c = candles([100.0, 105.0, 110.0], open_=[100.0, 105.0, 100.0])
    spec = StrategySpec(fee_bps=0, slippage_bps=0)
    # long decided at close 0: filled at open 1 (105) -> misses the gap 100->105; flat at close 1
    res = run_strategy(forecasts(c, [0.01, -0.01]), c, spec)
    assert res.bars["position"].tolist() == [1, 0]
    # bar 1: gap earned by the old (flat) position = 0, intra 105->105 = 0;
    # bar 2: the long held during bar 1 gets the gap 105 -> 100 (-4.76 %), then flat
    np.testing.assert_allclose(res.returns, [0.0, 100 / 105 - 1], rtol=1e-12)
    assert res.fills["price"].tolist() == [105.0, 100.0]


def test_buy_and_hold_pays_one_entry_and_matches_the_price_path() -> None:
    c = candles(PATH)
    bh = buy_and_hold(c, c.index[1], StrategySpec())
    assert (bh.bars["position"] == 1).all()
    assert bh.bars["equity"].iat[-1] == pytest.approx(131.769 / 100.0 * (1 - C), rel=1e-12)
    assert bh.bars["cost"].tolist() == [C, 0, 0, 0, 0]


def test_trades_and_additive_pnl() -> None:
    c = candles(PATH)
    res = run_strategy(forecasts(c, SIGNS), c, StrategySpec())
    t = res.trades
    assert t["bars"].tolist() == [2, 1] and t["side"].tolist() == [1, 1]
    # trade 1: +10 % twice, entry and exit cost; trade 2: +10 %, entry and exit cost
    np.testing.assert_allclose(t["pnl"], [0.2 - 2 * C, 0.1 - 2 * C], rtol=1e-12)
    assert t["entry"].tolist() == [c.index[1], c.index[4]]


# -- timing: signals at t use forecasts issued at or before t; fills at t+1 ------------------

def _random_case(seed: int, n: int = 120):
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    opens = np.concatenate([[100.0], close[:-1] * np.exp(rng.normal(0, 0.002, n - 1))])
    c = candles(list(close), list(opens))
    first = 40
    m = n - 1 - first
    exp_r = rng.normal(0, 0.01, m)
    iv = np.exp(rng.normal(0, 0.3, m)) * 0.02
    last = close[first : first + m]
    f = forecasts(c, list(exp_r), first=first, p_up=list(rng.uniform(0, 1, m)),
                  lower=list(last * (1 - iv)), upper=list(last * (1 + iv)))
    return c, f


SPECS = [
    StrategySpec(),
    StrategySpec(rule="prob", threshold=0.55, long_short=True),
    StrategySpec(rule="hurdle", long_short=True, sizing="voltarget"),
    StrategySpec(sizing="voltarget", vol_source="realised", max_leverage=3.0),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.label())
def test_no_lookahead_future_forecasts_prices_and_actuals_do_not_move_past_positions(
    spec: StrategySpec,
) -> None:
    c, f = _random_case(1)
    base = run_strategy(f, c, spec).bars
    rng = np.random.default_rng(2)
    for t_pos in (45, 70, 100):
        t = c.index[t_pos]
        # 1. forecasts issued after t are scrambled
        g = f.copy()
        later = g["origin"] > t
        for col in ("forecast", "p_up", "lower", "upper"):
            g.loc[later, col] = g.loc[later, col].to_numpy()[::-1] * rng.uniform(0.5, 1.5)
        # 2. prices after bar t+1 change (and the actual column is thrown away entirely)
        d = c.copy()
        d.iloc[t_pos + 2 :, :4] *= rng.uniform(0.5, 2.0)
        g["actual"] = np.nan
        other = run_strategy(g, d, spec).bars
        upto = base.index <= c.index[t_pos + 1]  # positions held up to bar t+1
        np.testing.assert_array_equal(other["position"][upto], base["position"][upto])
        np.testing.assert_array_equal(other["return"][base.index <= c.index[t_pos + 1]],
                                      base["return"][upto])


def test_position_at_bar_t_plus_1_is_the_decision_at_t() -> None:
    c, f = _random_case(3)
    spec = StrategySpec(rule="hurdle", threshold=0.0, long_short=True)
    targets, _ = decisions(f, c, spec)
    bars = run_strategy(f, c, spec).bars
    pos_next = c.index.get_indexer(targets.index) + 1
    np.testing.assert_array_equal(bars["position"].to_numpy(), targets.to_numpy())
    assert (bars.index == c.index[pos_next]).all()


def test_perfect_foresight_is_never_wrong_so_alignment_is_right() -> None:
    # With forecast = actual, no gaps and no costs, a long/short position must gain every bar
    # it holds; shifting the fill by one bar either way would lose on about half of them.
    c, f = _random_case(4)
    c = candles(list(c["close"]))  # opens = previous close: no gaps
    f = forecasts(c, list(c["close"].to_numpy()[41:] / c["close"].to_numpy()[40:-1] - 1),
                  first=40)
    res = run_strategy(f, c, StrategySpec(long_short=True, fee_bps=0, slippage_bps=0))
    assert (res.returns > 0).all()
    f_late = f.assign(origin=f["origin"].shift(-1)).dropna(subset=["origin"])
    f_late["forecast"] = f_late["forecast"].to_numpy()  # same numbers, one bar too late
    late = run_strategy(f_late.assign(last_close=f["last_close"].to_numpy()[:-1]), c,
                        StrategySpec(long_short=True, fee_bps=0, slippage_bps=0))
    assert (late.returns < 0).mean() > 0.3


def test_stride_holds_the_last_decision_between_origins() -> None:
    c = candles([100.0 + i for i in range(12)])
    f = forecasts(c, [0.01, -0.01, 0.01, 0.01, -0.01], first=1, stride=2)
    res = run_strategy(f, c, StrategySpec(fee_bps=0, slippage_bps=0))
    assert res.bars.index[0] == c.index[2]
    assert res.bars["position"].tolist() == [1, 1, 0, 0, 1, 1, 1, 1, 0, 0]


def test_prob_rule_and_nan_inputs_are_flat() -> None:
    c = candles(PATH)
    f = forecasts(c, SIGNS, p_up=[0.6, 0.55, 0.4, np.nan, 0.44])
    res = run_strategy(f, c, StrategySpec(rule="prob", threshold=0.55, long_short=True))
    # > 0.55 long, < 0.45 short, in between or NaN flat
    assert res.bars["position"].tolist() == [1, 0, -1, 0, -1]
    f2 = forecasts(c, [0.01, np.nan, -0.01, 0.01, 0.0])
    assert run_strategy(f2, c, StrategySpec(long_short=True)).bars["position"].tolist() == \
        [1, 0, -1, 1, 0]


def test_hurdle_defaults_to_the_round_trip_cost() -> None:
    c = candles(PATH)
    spec = StrategySpec(rule="hurdle", long_short=True)
    assert spec.effective_threshold() == pytest.approx(2 * C)
    f = forecasts(c, [0.0031, 0.0029, -0.0031, -0.0029, 0.01])
    assert run_strategy(f, c, spec).bars["position"].tolist() == [1, 0, -1, 0, 1]


def test_vol_target_from_the_model_interval() -> None:
    c = candles(PATH)
    sigma = np.array([0.02, 0.04, 0.01, 0.05, 0.03])  # per-bar log sd implied by the interval
    last = c["close"].to_numpy()[:5]
    half = np.exp(sigma * (2 * Z90) / 2)
    f = forecasts(c, SIGNS, lower=list(last / half), upper=list(last * half))
    spec = StrategySpec(sizing="voltarget", vol_target=0.4, max_leverage=1.5, long_short=True)
    res = run_strategy(f, c, spec)
    per_bar = 0.4 / math.sqrt(365)  # 0.020937...
    want = np.minimum(per_bar / sigma, 1.5) * np.sign(SIGNS)
    np.testing.assert_allclose(res.bars["position"], want, rtol=1e-9)
    assert res.info["vol_source"] == "interval"


def test_vol_target_falls_back_to_realised_vol_without_an_interval() -> None:
    rng = np.random.default_rng(5)
    close = list(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 80))))
    c = candles(close)
    f = forecasts(c, [0.01] * 39, first=40)
    spec = StrategySpec(sizing="voltarget", vol_target=0.4, vol_window=30, max_leverage=10)
    res = run_strategy(f, c, spec)
    assert res.info["vol_source"] == "realised"
    lr = np.diff(np.log(close))
    sd_at_40 = np.std(lr[40 - 30 : 40], ddof=1)  # the 30 returns ending at close 40
    assert res.bars["position"].iat[0] == pytest.approx(0.4 / math.sqrt(365) / sd_at_40,
                                                        rel=1e-9)


def test_parsing_and_validation() -> None:
    assert parse_strategy("sign") == {"rule": "sign"}
    assert parse_strategy("prob:0.6") == {"rule": "prob", "threshold": 0.6}
    assert parse_strategy("hurdle:30") == {"rule": "hurdle", "threshold": pytest.approx(0.003)}
    assert parse_strategy("prob:auto") == {"rule": "prob", "tune": True}
    assert parse_sizing("voltarget:0.4") == {"sizing": "voltarget", "vol_target": 0.4}
    assert parse_sizing("fixed:0.5") == {"sizing": "fixed", "fraction": 0.5}
    for bad in ("buy", "prob:x", "sign:2"):
        with pytest.raises(DataError):
            parse_strategy(bad)
    with pytest.raises(DataError):
        StrategySpec(rule="prob", threshold=0.3)
    with pytest.raises(DataError):
        StrategySpec(fee_bps=-1)
    c = candles(PATH)
    f = forecasts(c, SIGNS)
    f.loc[0, "origin"] = pd.Timestamp("1999-01-01", tz="UTC")
    with pytest.raises(DataError):
        run_strategy(f, c, StrategySpec())


# -- accounting identity, for any prices, forecasts and costs -------------------------------

@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), fee=st.floats(0, 50), funding=st.floats(0, 5),
       long_short=st.booleans(), voltarget=st.booleans())
def test_trade_pnl_accounts_for_every_bar_gap_cost_and_funding(
    seed: int, fee: float, funding: float, long_short: bool, voltarget: bool,
) -> None:
    """Round-trip P&L adds up to the additive per-bar P&L: nothing is lost or counted twice,
    and the compounded equity is the product of the per-bar factors."""
    c, f = _random_case(seed, n=80)
    spec = StrategySpec(long_short=long_short, fee_bps=fee, slippage_bps=fee / 2,
                        funding_bps=funding, sizing="voltarget" if voltarget else "fixed",
                        max_leverage=2.0)
    res = run_strategy(f, c, spec)
    b = res.bars
    close, open_ = c["close"].to_numpy(), c["open"].to_numpy()
    j = c.index.get_indexer(b.index)
    gap, intra = open_[j] / close[j - 1] - 1, close[j] / open_[j] - 1
    q = b["position"].to_numpy()
    q_prev = q - b["trade"].to_numpy()
    additive = q_prev * gap + q * intra - b["cost"].to_numpy() - b["funding"].to_numpy()
    assert res.trades["pnl"].sum() == pytest.approx(additive.sum(), abs=1e-12)
    factors = ((1 + q_prev * gap) * (1 - b["cost"]) * (1 + q * intra) * (1 - b["funding"]))
    np.testing.assert_allclose(b["equity"], np.cumprod(factors), rtol=1e-12)
    assert (b["cost"] >= 0).all() and (b["funding"][q >= 0] == 0).all()
