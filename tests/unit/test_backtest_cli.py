"""``cryptodesk backtest`` end to end on tiny data: leaderboard, JSON report, forecasts CSV,
presets, settings and one-line errors with exit code 1."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cryptodesk.cli import main
from cryptodesk.data.schema import make_candles
from cryptodesk.data.store import CandleStore


def _frame(n: int = 420) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    close = 30 * np.exp(np.cumsum(0.03 * rng.standard_normal(n)))
    return pd.DataFrame(
        {"open": close, "high": close * 1.02, "low": close * 0.98, "close": close,
         "volume": rng.lognormal(5, 1, n)},
        index=pd.date_range("2021-01-01", periods=n, freq="D", tz="UTC"),
    )


@pytest.fixture
def yahoo_csv(tmp_path: Path) -> Path:
    f = _frame()
    out = pd.DataFrame({
        "Date": f.index.strftime("%Y-%m-%d"), "Open": f["open"], "High": f["high"],
        "Low": f["low"], "Close": f["close"], "Adj Close": f["close"], "Volume": f["volume"],
    })
    path = tmp_path / "TEST-USD.csv"
    out.to_csv(path, index=False)
    return path


def test_backtest_from_csv_writes_json_and_forecasts(yahoo_csv: Path, tmp_path: Path, capsys) -> None:
    out_json, out_csv = tmp_path / "r.json", tmp_path / "f.csv"
    code = main([
        "backtest", "--csv", str(yahoo_csv), "--symbol", "TEST-USD", "--models", "drift,arima",
        "--test-size", "40", "--refit-every", "20", "--horizon", "2", "--quiet",
        "--json", str(out_json), "--export", str(out_csv), "--set", "arima.max_q=1",
    ])
    assert code == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("#  model"))
    rows = [line.split()[1] for line in lines[header + 2 : header + 5]]
    assert sorted(rows) == ["arima", "drift", "naive"]
    doc = json.loads(out_json.read_text())
    assert doc["schema"] == "cryptodesk.backtest/1"
    assert doc["run"]["walk_forward"]["horizon"] == 2 and doc["run"]["walk_forward"]["test_size"] == 40
    assert {m["model"] for m in doc["models"]} == {"naive", "drift", "arima"}
    arima = next(m for m in doc["models"] if m["model"] == "arima")
    assert arima["config"]["max_q"] == 1 and arima["timings"]["n_fits"] == 2
    assert len(arima["fits"]) == 2 and arima["fits"][0]["order"][1] == 1
    assert set(arima["metrics"]) >= {"mae", "rmse", "mape", "smape", "mase", "theils_u",
                                     "directional_accuracy", "coverage", "pinball", "dm_p_value"}
    table = pd.read_csv(out_csv)
    assert list(table.columns) == ["timestamp", "symbol", "model", "horizon", "forecast", "lower",
                                   "upper", "p_up", "actual", "origin"]
    assert len(table) == 3 * (40 + 39) and set(table["symbol"]) == {"TEST-USD"}
    assert table["timestamp"].iloc[0].endswith("Z")


def test_backtest_from_store_with_preset(capsys) -> None:
    store = CandleStore()
    store.write(make_candles(_frame(), source="csv", symbol="TEST-USD", timeframe="1d"))
    code = main(["backtest", "--symbol", "test-usd", "--preset", "wf1", "--test-size", "20",
                 "--models", "naive", "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "preset wf1" in out and "refit every 30" in out and "naive" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--models", "nosuch", "--test-size", "20"], "unknown model"),
        (["--models", "drift"], "--test-size"),
        (["--models", "drift", "--test-size", "20", "--set", "drift"], "MODEL.KEY=VALUE"),
        (["--models", "arima", "--test-size", "20", "--set", "arima.max_p=77"], "max_p"),
        (["--models", "drift", "--test-size", "5000"], "training data"),
    ],
)
def test_backtest_errors_are_one_line(yahoo_csv: Path, capsys, argv: list[str], message: str) -> None:
    code = main(["backtest", "--csv", str(yahoo_csv), "--quiet", *argv])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("cryptodesk: error:") and message in err and "\n" not in err


def test_list_models(capsys) -> None:
    assert main(["backtest", "--list-models"]) == 0
    out = capsys.readouterr().out
    assert "lightgbm" in out and "n_estimators" in out and "arima" in out


def test_backtest_with_strategy_adds_trading_monitoring_and_equity(
    yahoo_csv: Path, tmp_path: Path, capsys
) -> None:
    out_json, equity, forecasts = tmp_path / "r.json", tmp_path / "eq.csv", tmp_path / "f.csv"
    code = main([
        "backtest", "--csv", str(yahoo_csv), "--symbol", "TEST-USD", "--models", "drift",
        "--test-size", "60", "--refit-every", "30", "--quiet", "--strategy", "sign",
        "--fee-bps", "10", "--slippage-bps", "5", "--json", str(out_json), "--equity", str(equity),
        "--export", str(forecasts), "--metrics", str(tmp_path / "m.csv"),
    ])
    assert code == 0
    text = capsys.readouterr().out
    assert "monitoring (last" in text and "buy&hold" in text
    doc = json.loads(out_json.read_text())
    assert set(doc["monitoring"]) == {"naive", "drift"} and "trading" in doc
    eq = pd.read_csv(equity)
    assert {"timestamp", "model", "equity", "drawdown"} <= set(eq.columns)
    assert set(eq["model"]) >= {"drift"} and len(eq[eq.model == "drift"]) == 60
    # the shared forecasts writer: documented columns, origin last
    f = pd.read_csv(forecasts)
    assert list(f.columns) == ["timestamp", "symbol", "model", "horizon", "forecast", "lower",
                               "upper", "p_up", "actual", "origin"]
    m = pd.read_csv(tmp_path / "m.csv")
    assert list(m.model) == ["drift", "naive"] or list(m.model) == ["naive", "drift"]
    assert {"rmse", "theils_u", "dm_p_value"} <= set(m.columns)
