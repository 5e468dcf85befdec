"""The leaderboard respects significance, and MASE is scaled on the bars before the test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptodesk.data.schema import make_candles
from cryptodesk.evaluation.backtest import naive_scale_before, run_backtest
from cryptodesk.evaluation.leaderboard import format_leaderboard
from cryptodesk.evaluation.ranking import BETTER, TIED, WORSE, ranked
from cryptodesk.evaluation.walkforward import WalkForwardSpec


def test_models_the_dm_test_cannot_separate_share_naives_rank() -> None:
    metrics = {
        "naive": {"rmse": 10.0, "dm_p_value": None},
        "lucky": {"rmse": 9.99, "dm_p_value": 0.90},  # lower RMSE, no evidence
        "good": {"rmse": 9.0, "dm_p_value": 0.01},
        "bad": {"rmse": 11.0, "dm_p_value": 0.02},
        "meh": {"rmse": 10.5, "dm_p_value": 0.30},
    }
    rows = ranked(metrics, "naive")
    assert rows == [(1, "good", BETTER), (2, "naive", TIED), (2, "lucky", TIED),
                    (2, "meh", TIED), (3, "bad", WORSE)]


def test_volatility_ranks_by_qlike() -> None:
    metrics = {"naive": {"qlike": 1.0}, "har": {"qlike": 0.5, "dm_p_value": 0.001},
               "ewma": {"qlike": 0.7, "dm_p_value": 0.01}}
    assert [n for _, n, _ in ranked(metrics, "naive", "volatility")] == ["har", "ewma", "naive"]


def _grown_series() -> pd.DataFrame:
    # a price that grew 1000-fold years before the test window (a file starting in 2011),
    # then moved sideways with the same relative volatility
    rng = np.random.default_rng(0)
    n = 2000
    level = np.concatenate([np.exp(np.linspace(0, np.log(1000), 1400)), np.full(600, 1000.0)])
    close = level * np.exp(0.02 * rng.standard_normal(n))
    frame = pd.DataFrame({"open": close, "high": close, "low": close, "close": close,
                          "volume": 1.0},
                         index=pd.date_range("2011-01-01", periods=n, freq="D", tz="UTC"))
    return make_candles(frame, source="test", symbol="OLD", timeframe="1d")


def test_mase_is_scaled_on_the_bars_just_before_the_test() -> None:
    candles = _grown_series()
    report = run_backtest(candles, [], WalkForwardSpec(test_size=200, refit_every=0))
    doc = report.to_json()
    assert doc["run"]["mase_scale_bars"] == 200
    naive_mase = report.metrics["naive"]["mase"]
    whole = report.metrics["naive"]["mae"] / naive_scale_before(
        candles, report.results["naive"].test_start)
    assert whole > 3.0  # scaled on the whole history, naive looks terrible
    assert naive_mase == pytest.approx(1.0, abs=0.35)  # on the recent training bars: about 1
    text = format_leaderboard(report)
    assert "baseline" in text.splitlines()[2]
