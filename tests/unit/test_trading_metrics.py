"""Trading metrics against hand-computed values, 24/7 annualisation, and the selection-bias
checks: random forecasts earn a Sharpe near 0, and the deflated Sharpe ratio does not call the
best of many random strategies significant (while it does call a genuine edge significant)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cryptodesk.data.schema import make_candles
from cryptodesk.data.timeframes import bars_per_year
from cryptodesk.evaluation.strategy import StrategySpec, run_strategy
from cryptodesk.evaluation.trading_metrics import (
    EULER_GAMMA,
    compute_metrics,
    deflated_sharpe,
    expected_max_sharpe,
    max_drawdown,
    probabilistic_sharpe,
    sharpe,
    sortino,
    strategy_metrics,
)

R = np.array([0.1, -0.05, 0.1, -0.05])


def test_bars_per_year_is_a_24_7_year() -> None:
    assert bars_per_year("1d") == 365
    assert bars_per_year("1h") == 8760
    assert bars_per_year("4h") == 2190
    assert bars_per_year("1w") == pytest.approx(365 / 7)


def test_sharpe_sortino_volatility_by_hand() -> None:
    # mean 0.025; deviations +-0.075 -> sd (ddof 1) = 0.075 * sqrt(4/3)
    sd = 0.075 * math.sqrt(4 / 3)
    assert sharpe(R, 365) == pytest.approx(0.025 / sd * math.sqrt(365), rel=1e-12)
    assert sharpe(R, 365) == pytest.approx(5.51513070, rel=1e-8)
    # downside deviation sqrt((0.05^2 + 0.05^2) / 4) = 0.0353553...
    assert sortino(R, 365) == pytest.approx(0.025 / math.sqrt(0.00125) * math.sqrt(365),
                                            rel=1e-12)
    m = compute_metrics(R, 8760)
    assert m.volatility == pytest.approx(sd * math.sqrt(8760), rel=1e-12)
    assert m.sharpe == pytest.approx(0.025 / sd * math.sqrt(8760), rel=1e-12)
    assert math.isnan(sharpe(np.zeros(10), 365))  # never traded: undefined, not 0


def test_total_return_cagr_and_calmar_by_hand() -> None:
    # 730 daily bars that compound to +21 % are two years of +10 %
    r = np.full(730, 1.21 ** (1 / 730) - 1)
    m = compute_metrics(r, 365)
    assert m.total_return == pytest.approx(0.21, rel=1e-10)
    assert m.cagr == pytest.approx(0.10, rel=1e-10)
    assert m.max_drawdown == 0.0 and math.isnan(m.calmar)
    # 4,380 hourly bars are half a 24/7 year: +21 % in half a year is +46.41 % a year
    h = np.full(4380, 1.21 ** (1 / 4380) - 1)
    assert compute_metrics(h, bars_per_year("1h")).cagr == pytest.approx(0.4641, rel=1e-10)


def test_drawdown_and_its_duration_by_hand() -> None:
    # equity 1.2, 0.9, 0.99, 1.35, 1.08, 1.08: worst 0.9 / 1.2 - 1 = -25 %, underwater for
    # bars 2-3 (2 bars), then again from bar 5 to the end (2 bars)
    r = np.array([0.2, -0.25, 0.1, 1.35 / 0.99 - 1, -0.2, 0.0])
    mdd, bars = max_drawdown(r)
    assert mdd == pytest.approx(-0.25, rel=1e-12)
    assert bars == 2
    # a loss on the first bar is a drawdown from the starting equity of 1
    assert max_drawdown(np.array([-0.1, 0.05]))[0] == pytest.approx(-0.1)
    assert max_drawdown(np.array([-0.1, -0.1, -0.1, 0.5]))[1] == 3
    m = compute_metrics(r, 365)
    assert m.calmar == pytest.approx(m.cagr / 0.25, rel=1e-12)


def test_trade_metrics_turnover_exposure_from_a_strategy() -> None:
    close = np.array([100.0, 110.0, 121.0, 108.9, 119.79, 131.769])
    frame = pd.DataFrame({"open": np.r_[100.0, close[:-1]], "high": 200.0, "low": 50.0,
                          "close": close, "volume": 1.0},
                         index=pd.date_range("2024-01-01", periods=6, freq="D", tz="UTC"))
    c = make_candles(frame, source="t", symbol="T", timeframe="1d")
    last = close[:5]
    f = pd.DataFrame({"origin": c.index[:5], "horizon": 1,
                      "forecast": last * np.array([1.01, 1.01, 0.99, 1.01, 0.99]),
                      "last_close": last, "lower": np.nan, "upper": np.nan, "p_up": np.nan,
                      "actual": close[1:]})
    res = run_strategy(f, c, StrategySpec())  # positions 1, 1, 0, 1, 0
    m = strategy_metrics(res, 365)
    cost = 15e-4
    assert m.n_trades == 2 and m.n_bars == 5
    assert m.exposure == pytest.approx(0.6)
    assert m.turnover == pytest.approx(4 / (5 / 365))  # four unit fills in 5/365 of a year
    assert m.hit_rate == 1.0 and math.isinf(m.profit_factor)
    assert m.total_return == pytest.approx(1.331 * (1 - cost) ** 4 - 1, rel=1e-12)
    assert m.to_dict()["profit_factor"] is None  # JSON has no infinity


def test_profit_factor_and_hit_rate_by_hand() -> None:
    m = compute_metrics(np.zeros(3), 365, trade_pnl=np.array([0.3, -0.1, 0.1, -0.2]))
    assert m.hit_rate == 0.5
    assert m.profit_factor == pytest.approx(0.4 / 0.3)


def test_probabilistic_sharpe_by_hand() -> None:
    # two-point returns: skew 0, kurtosis 1; per-bar SR = 0.005 / (0.015 sqrt(4/3)) = 0.2887
    r = np.array([0.02, -0.01, 0.02, -0.01])
    sr = 0.005 / (0.015 * math.sqrt(4 / 3))
    # PSR = Phi(sr * sqrt(3) / sqrt(1 - 0 + (1 - 1) / 4 sr^2)) = Phi(0.5)
    assert sr * math.sqrt(3) == pytest.approx(0.5)
    assert probabilistic_sharpe(r) == pytest.approx(0.6914624612740131, rel=1e-12)


def test_expected_max_sharpe_matches_simulation() -> None:
    rng = np.random.default_rng(0)
    for n in (10, 100, 1000):
        sim = rng.standard_normal((4000, n)).max(axis=1).mean()
        assert expected_max_sharpe(n, 1.0) == pytest.approx(sim, abs=0.05)
    assert expected_max_sharpe(1, 1.0) == 0.0
    assert EULER_GAMMA == pytest.approx(0.5772156649)


def _walk(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.03, n)))
    frame = pd.DataFrame({"open": np.r_[100.0, close[:-1]], "high": close * 1.01,
                          "low": close * 0.99, "close": close, "volume": 1.0},
                         index=pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC"))
    return make_candles(frame, source="t", symbol="RW", timeframe="1d")


def _random_forecasts(c: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    close = c["close"].to_numpy()
    last = close[:-1]
    return pd.DataFrame({"origin": c.index[:-1], "horizon": 1,
                         "forecast": last * (1 + rng.normal(0, 0.01, last.size)),
                         "last_close": last, "lower": np.nan, "upper": np.nan,
                         "p_up": np.nan, "actual": close[1:]})


def test_random_forecasts_earn_a_sharpe_near_zero_across_seeds() -> None:
    c = _walk(1, 501)
    spec = StrategySpec(long_short=True, fee_bps=0, slippage_bps=0)
    srs = np.array([sharpe(run_strategy(_random_forecasts(c, np.random.default_rng(s)), c,
                                        spec).returns, 365) for s in range(200)])
    # one Sharpe estimate over 500 days has sd ~ sqrt(365 / 500) = 0.85 a year
    assert srs.std() == pytest.approx(math.sqrt(365 / 500), rel=0.2)
    assert abs(srs.mean()) < 3 * srs.std() / math.sqrt(srs.size)  # ~ +-0.18
    # with costs, random trading loses money on average
    costly = StrategySpec(long_short=True)
    worse = np.array([sharpe(run_strategy(_random_forecasts(c, np.random.default_rng(s)), c,
                                          costly).returns, 365) for s in range(50)])
    assert worse.mean() < srs[:50].mean()


def test_deflated_sharpe_calls_the_best_of_many_random_strategies_luck() -> None:
    spec = StrategySpec(long_short=True, fee_bps=0, slippage_bps=0)
    flagged_by_psr = 0
    for world in range(5):
        c = _walk(100 + world, 366)
        runs = [run_strategy(_random_forecasts(c, np.random.default_rng(1000 * world + s)), c,
                             spec).returns for s in range(100)]
        srs = [sharpe(r, 365) for r in runs]
        best = int(np.nanargmax(srs))
        dsr = deflated_sharpe(runs[best], srs, 365)
        assert dsr.n_trials == 100
        assert dsr.sharpe == pytest.approx(srs[best])
        assert dsr.sharpe > 1.0  # the winner looks good on its own...
        assert not dsr.significant and dsr.dsr < 0.9  # ...but not against luck's best
        flagged_by_psr += dsr.psr > 0.95
    assert flagged_by_psr >= 3  # the undeflated PSR would have been fooled


def test_deflated_sharpe_keeps_a_genuine_edge_significant() -> None:
    # forecasts right 60 % of the time over 3 years: a real edge survives 20 trials
    c = _walk(7, 1096)
    rng = np.random.default_rng(8)
    close = c["close"].to_numpy()
    up = np.sign(close[1:] - close[:-1])
    guess = np.where(rng.uniform(size=up.size) < 0.6, up, -up)
    f = _random_forecasts(c, rng).assign(forecast=close[:-1] * (1 + 0.01 * guess))
    spec = StrategySpec(long_short=True, fee_bps=0, slippage_bps=0)
    good = run_strategy(f, c, spec).returns
    others = [sharpe(run_strategy(_random_forecasts(c, np.random.default_rng(s)), c,
                                  spec).returns, 365) for s in range(19)]
    dsr = deflated_sharpe(good, [sharpe(good, 365), *others], 365)
    assert dsr.significant and dsr.best == "best"


def test_deflated_sharpe_hurdle_rises_with_trials() -> None:
    r = np.random.default_rng(3).normal(0.002, 0.02, 365)
    one = deflated_sharpe(r, [sharpe(r, 365)], 365)
    many = deflated_sharpe(r, [sharpe(r, 365)] + [0.0] * 99, 365)
    assert one.sr0 == 0.0 and one.dsr == pytest.approx(one.psr)
    assert many.sr0 > 1.5 and many.dsr < one.dsr
    assert many.variance_source == "sampling"
    # the paper's cross-trial variance: 99 identical trials have (almost) no spread
    spread = deflated_sharpe(r, [sharpe(r, 365)] + [0.0] * 99, 365, variance="trials")
    assert spread.variance_source == "trials" and spread.sr0 < many.sr0
