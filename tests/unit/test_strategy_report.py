"""The trading report glue: every model plus buy-and-hold on the same bars, tuning on earlier
folds only, plain-data outputs (JSON, equity frame) and the CLI section."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cryptodesk.cli import main
from cryptodesk.data.schema import make_candles
from cryptodesk.errors import DataError
from cryptodesk.evaluation.backtest import run_backtest
from cryptodesk.evaluation.monitoring import DEGRADED
from cryptodesk.evaluation.strategy import StrategySpec
from cryptodesk.evaluation.trading_report import (
    BUY_HOLD,
    format_trading,
    trading_from_forecasts,
    tuned_strategy,
)
from cryptodesk.evaluation.walkforward import WalkForwardSpec


def _candles(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0005, 0.02, n)))
    frame = pd.DataFrame({"open": np.r_[100.0, close[:-1]], "high": close * 1.01,
                          "low": close * 0.99, "close": close, "volume": 1.0},
                         index=pd.date_range("2021-01-01", periods=n, freq="D", tz="UTC"))
    return make_candles(frame, source="t", symbol="SYN-USD", timeframe="1d")


def _forecasts(c: pd.DataFrame, first: int, seed: int, naive: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = c["close"].to_numpy()
    last = close[first:-1]
    n = last.size
    fc = last if naive else last * (1 + rng.normal(0, 0.01, n))
    return pd.DataFrame({
        "origin": c.index[first:-1], "target_time": c.index[first + 1 :], "horizon": 1,
        "forecast": fc, "lower": np.nan if naive else fc * 0.97,
        "upper": np.nan if naive else fc * 1.03,
        "p_up": np.nan if naive else rng.uniform(0.3, 0.7, n),
        "actual": close[first + 1 :], "last_close": last,
    })


def test_every_model_and_buy_and_hold_on_the_same_bars() -> None:
    c = _candles()
    fc = {"naive": _forecasts(c, 299, 0, naive=True), "a": _forecasts(c, 299, 1),
          "b": _forecasts(c, 299, 2)}
    tr = trading_from_forecasts(fc, c, StrategySpec())
    assert tr.models == ["naive", "a", "b", BUY_HOLD]
    idx = tr.results[BUY_HOLD].bars.index
    assert idx[0] == c.index[300] and idx[-1] == c.index[-1] and len(idx) == 100
    for name in tr.models:
        assert tr.results[name].bars.index.equals(idx)
    assert tr.metrics["naive"].n_trades == 0  # naive never forecasts a change: always flat
    close = c["close"].to_numpy()
    assert tr.metrics[BUY_HOLD].total_return == pytest.approx(
        close[-1] / c["open"].iat[300] * (1 - 15e-4) - 1, rel=1e-12)
    assert tr.selection is not None and tr.selection.n_trials == 3 and tr.n_configs == 3
    assert set(tr.monitoring) == {"naive", "a", "b"}
    table = tr.table()
    assert list(table.index) == tr.models and "sharpe" in table.columns
    eq = tr.equity_frame()
    assert list(eq.columns) == ["timestamp", "model", "position", "return", "equity",
                                "drawdown", "regime"]
    assert len(eq) == 4 * 100 and set(eq["regime"]) <= {"low", "mid", "high", "n/a"}
    text = format_trading(tr)
    assert "buy&hold" in text and "configurations tried" in text and "By regime" in text
    data = tr.to_json()
    json.dumps(data, allow_nan=False)  # strict JSON
    assert data["series"]["time"][0] == idx[0].isoformat()
    assert len(data["series"]["equity"]["a"]) == 100 and data["regimes"]["method"] == "volatility"


def test_models_covering_different_bars_are_refused() -> None:
    c = _candles()
    with pytest.raises(DataError):
        trading_from_forecasts({"a": _forecasts(c, 299, 1), "b": _forecasts(c, 250, 2)}, c,
                               StrategySpec(), regimes=None)


def test_tuned_thresholds_use_earlier_folds_only() -> None:
    c = _candles(500, seed=3)
    f = _forecasts(c, 199, 4)
    spec = StrategySpec(rule="prob", tune=True, long_short=True, fee_bps=0, slippage_bps=0)
    res, record, trials = tuned_strategy(f, c, spec, "m", n_folds=5)
    assert record["folds"] == 5 and len(record["thresholds"]) == 5
    assert record["thresholds"][0] == spec.effective_threshold()  # nothing earlier to tune on
    from cryptodesk.evaluation.strategy import decisions, simulate
    from cryptodesk.evaluation.trading_metrics import sharpe

    fold0 = decisions(f, c, spec)[0].iloc[:60]  # 300 origins in 5 folds of 60
    np.testing.assert_array_equal(res.bars["position"].iloc[:60], fold0.to_numpy())
    assert set(trials) == {f"{t:g}" for t in record["grid"]}
    starts = pd.DatetimeIndex(record["fold_starts"])
    for i in range(1, 5):
        # scrambling P(up) from fold i on cannot change the thresholds of folds 0..i
        g = f.copy()
        later = g["origin"] >= starts[i]
        g.loc[later, "p_up"] = np.random.default_rng(i).uniform(0, 1, int(later.sum()))
        _, other, _ = tuned_strategy(g, c, spec, "m", n_folds=5)
        assert other["thresholds"][: i + 1] == record["thresholds"][: i + 1]
    # and the chosen threshold is the best Sharpe on the earlier bars
    cutoff = starts[2]
    best = max(record["grid"], key=lambda t: (sharpe(simulate(
        c, decisions(f, c, spec, threshold=t)[0], spec).bars.loc[:cutoff, "return"], 365), -t))
    assert record["thresholds"][2] == best


def test_tuned_report_counts_every_configuration() -> None:
    c = _candles()
    fc = {"naive": _forecasts(c, 299, 0, naive=True), "a": _forecasts(c, 299, 1)}
    tr = trading_from_forecasts(fc, c, StrategySpec(rule="hurdle", tune=True), regimes=None)
    assert tr.n_configs == 2 * 5 and tr.selection is not None
    assert tr.tuning["a"]["folds"] == 4
    assert "of 10 configurations tried" in format_trading(tr)


def test_cli_trading_section_json_and_equity_csv(tmp_path, capsys) -> None:
    from cryptodesk.io.csv_export import write_candles_csv

    c = _candles(300)
    write_candles_csv(c, tmp_path / "syn.csv")
    base = ["backtest", "--csv", str(tmp_path / "syn.csv"), "--symbol", "SYN-USD",
            "--models", "drift", "--test-size", "60", "--refit-every", "0", "--quiet"]
    assert main(base) == 0
    assert "buy&hold" not in capsys.readouterr().out  # nothing trades without --strategy
    assert main([*base, "--strategy", "prob:0.52", "--fee-bps", "10", "--slippage-bps", "5",
                 "--sizing", "voltarget:0.4", "--long-short", "--equity",
                 str(tmp_path / "eq.csv"), "--json", str(tmp_path / "run.json")]) == 0
    text = capsys.readouterr().out
    assert "prob>0.52 long/short voltarget:0.4" in text and "buy&hold" in text
    assert "naive: ok" in text
    data = json.loads((tmp_path / "run.json").read_text())
    trading = data["trading"]
    assert trading["strategy"]["fee_bps"] == 10 and trading["test"]["bars"] == 60
    assert sum(v["n"] for v in trading["regimes"]["accuracy"]["drift"].values()) == 60
    back = pd.read_csv(tmp_path / "eq.csv")
    assert len(back) == 3 * 60 and back["timestamp"].iat[0].endswith("Z")
    assert set(back["model"]) == {"naive", "drift", BUY_HOLD}
    mon = data["monitoring"]
    assert mon["drift"]["status"] in ("ok", DEGRADED)
    from cryptodesk.data.csv_import import read_candles_csv

    read, _ = read_candles_csv(tmp_path / "syn.csv", symbol="SYN-USD")  # what the CLI ran on
    report = run_backtest(read, ["naive", "drift"], WalkForwardSpec(horizon=1, test_size=60,
                                                                      refit_every=0))
    d, nv = report.results["drift"].forecasts, report.results["naive"].forecasts
    u = np.sqrt(np.mean(((d["actual"] - d["forecast"]) ** 2).to_numpy()[-50:])
                / np.mean(((nv["actual"] - nv["forecast"]) ** 2).to_numpy()[-50:]))
    assert mon["drift"]["rolling_u"] == pytest.approx(u, rel=1e-12)
    assert main([*base, "--strategy", "prob:1.5"]) == 1
    assert "threshold" in capsys.readouterr().err


def test_forecast_accuracy_split_by_regime_at_the_origin() -> None:
    from cryptodesk.evaluation.regimes import vol_regimes
    from cryptodesk.evaluation.trading_report import accuracy_by_regime

    c = _candles(300)
    report = run_backtest(c, ["naive", "drift"], WalkForwardSpec(horizon=1, test_size=90))
    reg = vol_regimes(c, 210, window=20)
    acc = accuracy_by_regime(report, c, reg)
    drift = acc.loc["drift"]
    labels = reg.labels.iloc[209:299]  # the origins of the 90 forecasts
    assert drift["n"].to_dict() == labels.value_counts().to_dict()
    f = report.results["drift"].forecasts
    low = f[(labels == "low").to_numpy()]
    rmse = float(np.sqrt(np.mean((low["actual"] - low["forecast"]) ** 2)))
    assert drift.at["low", "rmse"] == pytest.approx(rmse, rel=1e-12)
    assert (acc.loc["naive", "theils_u"] == 1.0).all()
