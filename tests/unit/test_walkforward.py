"""Walk-forward runner and multi-model backtest: origins, refit cadence, windows, what models
are shown, progress, partial results, cancellation, determinism and the naive baseline."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from cryptodesk.data.schema import make_candles
from cryptodesk.errors import DataError
from cryptodesk.evaluation.backtest import ModelRun, run_backtest
from cryptodesk.evaluation.leaderboard import describe_run, format_leaderboard
from cryptodesk.evaluation.presets import preset_spec
from cryptodesk.evaluation.walkforward import (
    ForecastBatch,
    WalkForwardSpec,
    origins_of,
    walk_forward,
)
from cryptodesk.jobs import Cancelled, TaskContext
from cryptodesk.models.base import Capabilities, Forecast, Forecaster
from cryptodesk.models.config import ModelConfig


def _candles(n: int = 120) -> pd.DataFrame:
    close = 100 + np.arange(n, dtype=float) + 0.2 * np.sin(np.arange(n))
    frame = pd.DataFrame(
        {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 1.0},
        index=pd.date_range("2022-01-01", periods=n, freq="D", tz="UTC"),
    )
    return make_candles(frame, source="test", symbol="W-USD", timeframe="1d")


class Spy(Forecaster):
    """Records every fit window and history it is given; forecasts the last close + step."""

    name = "spy"
    config_cls = ModelConfig
    capabilities = Capabilities(min_train_bars=5)

    def __init__(self, config=None) -> None:
        # its own (absent) band: it records the walk-forward's fits, not the calibration's
        super().__init__(config if config is not None else {"interval": "model"})
        self.fits: list[tuple[pd.Timestamp, pd.Timestamp, int]] = []
        self.histories: list[pd.Timestamp] = []

    def _fit(self, train, ctx, horizon) -> None:
        self.fits.append((train.index[0], train.index[-1], horizon))

    def _predict(self, history, horizon) -> Forecast:
        self.histories.append(history.index[-1])
        last = float(history["close"].iat[-1])
        return Forecast(point=last + np.arange(1, horizon + 1, dtype=float))


def test_origins_and_refit_cadence_expanding() -> None:
    data = _candles()
    spec = WalkForwardSpec(horizon=1, test_size=30, refit_every=10)
    spy = Spy()
    res = walk_forward(spy, data, spec)
    assert len(res.forecasts) == 30 and res.n_fits == 3
    assert res.test_start == data.index[90]
    # fits at origins 0, 10, 20 of the test, each on every row up to that origin
    assert [f[1] for f in spy.fits] == [data.index[89], data.index[99], data.index[109]]
    assert all(f[0] == data.index[0] for f in spy.fits)
    # each forecast saw history ending exactly at its origin
    assert spy.histories == list(data.index[89:119])
    f = res.forecasts
    assert (f["target_time"] > f["origin"]).all()
    np.testing.assert_array_equal(f["actual"], data["close"].to_numpy()[90:])
    np.testing.assert_array_equal(f["forecast"], data["close"].to_numpy()[89:119] + 1)
    assert f["lower"].isna().all() and f["p_up"].isna().all()


def test_rolling_window_fit_once_stride_and_horizon() -> None:
    data = _candles()
    spec = WalkForwardSpec(horizon=3, test_size=20, stride=5, refit_every=2,
                           window="rolling", train_size=40)
    spy = Spy()
    res = walk_forward(spy, data, spec)
    origins = origins_of(data, spec)
    assert list(origins) == [99, 104, 109, 114]
    assert res.n_fits == 2
    for start, end, horizon in spy.fits:
        assert data.index.get_loc(end) - data.index.get_loc(start) + 1 == 40 and horizon == 3
    f = res.forecasts
    # 4 origins x 3 steps, minus targets beyond the data end (origin 114 -> 115..117 ok)
    assert len(f) == 12 and sorted(f["horizon"].unique()) == [1, 2, 3]
    once = walk_forward(Spy(), data, WalkForwardSpec(test_size=20, refit_every=0))
    assert once.n_fits == 1


def test_targets_beyond_the_end_are_dropped() -> None:
    data = _candles(60)
    res = walk_forward(Spy(), data, WalkForwardSpec(horizon=3, test_size=5, refit_every=0))
    f = res.forecasts
    assert f["target_time"].max() == data.index[-1]
    assert len(f) == 3 + 3 + 3 + 2 + 1


def test_test_start_and_errors() -> None:
    data = _candles()
    res = walk_forward(Spy(), data, WalkForwardSpec(test_size=None, test_start="2022-04-01"))
    assert res.test_start == pd.Timestamp("2022-04-01", tz="UTC")
    with pytest.raises(DataError):
        walk_forward(Spy(), data, WalkForwardSpec(test_size=None, test_start="2030-01-01"))
    with pytest.raises(DataError):
        walk_forward(Spy(), data, WalkForwardSpec(test_size=119))  # too little training data
    with pytest.raises(DataError):
        WalkForwardSpec(test_size=None, test_start=None)
    with pytest.raises(DataError):
        WalkForwardSpec(test_size=None, test_start="not a date")


def test_progress_partials_and_cancellation() -> None:
    data = _candles()
    batches: list[ForecastBatch] = []
    fractions: list[float] = []
    ctx = TaskContext(on_progress=lambda f, _m: fractions.append(f), on_partial=batches.append)
    walk_forward(Spy(), data, WalkForwardSpec(horizon=2, test_size=10, refit_every=5), ctx)
    assert len(batches) == 10 and batches[-1].done == batches[-1].total == 10
    assert batches[0].forecast.shape == (2,) and batches[0].target_times[0] > batches[0].origin
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)

    event = threading.Event()

    def stop_after_three(batch: ForecastBatch) -> None:
        if batch.done == 3:
            event.set()

    handed: list[ForecastBatch] = []

    def record(batch: ForecastBatch) -> None:
        handed.append(batch)
        stop_after_three(batch)

    ctx = TaskContext(on_partial=record, cancel_event=event)
    spy = Spy()
    with pytest.raises(Cancelled):
        walk_forward(spy, data, WalkForwardSpec(test_size=10), ctx)
    # the run stops at the next origin: no fourth forecast is handed out (the model may have
    # predicted the rest of its block of origins in the same predict_many call)
    assert len(handed) == 3 and len(spy.histories) <= 10


def test_lightgbm_cancel_inside_fit() -> None:
    from cryptodesk.models.lgbm import LightGBMForecaster

    data = _candles(300)
    event = threading.Event()
    # cancel when the first booster reports progress: the next boosting round (of the
    # calibration copy or the model itself, both under the fit's context) must stop the fit
    ctx = TaskContext(on_progress=lambda _f, _m: event.set(), cancel_event=event)
    with pytest.raises(Cancelled):
        LightGBMForecaster(LightGBMForecaster.fast_config()).fit(data, ctx)


def test_backtest_always_includes_naive_and_scores_against_it() -> None:
    data = _candles(200)
    spec = WalkForwardSpec(horizon=2, test_size=30, refit_every=10)
    report = run_backtest(data, ["drift", ModelRun("arima", {"max_p": 1, "max_q": 1})], spec,
                          seed=3)
    assert set(report.results) == {"naive", "drift", "arima"}
    assert next(iter(report.results)) == "naive"
    naive = report.metrics["naive"]
    assert naive["theils_u"] == pytest.approx(1.0) and naive["dm_p_value"] != naive["dm_p_value"]
    drift = report.metrics["drift"]
    assert 0 < drift["theils_u"] < 1  # a steady upward trend: drift must beat the last close
    assert drift["dm_p_value"] < 0.05
    assert set(drift["per_horizon"]) == {1, 2}
    ranking = report.ranking()
    rmses = [report.metrics[n]["rmse"] for n in ranking]
    assert rmses == sorted(rmses)
    doc = report.to_json()
    assert doc["schema"] == "cryptodesk.backtest/1" and doc["run"]["seed"] == 3
    assert [m_["model"] for m_ in doc["models"]] == ranking
    assert doc["data"]["rows"] == 200 and len(doc["data"]["sha256"]) == 64
    table = report.forecasts_table()
    assert list(table.columns)[:9] == ["timestamp", "symbol", "model", "horizon", "forecast",
                                       "lower", "upper", "p_up", "actual"]
    text = format_leaderboard(report)
    assert text.splitlines()[2].split()[1] == ranking[0]
    assert "W-USD" in describe_run(report)


def test_backtest_determinism_with_seed() -> None:
    data = _candles(260)
    spec = WalkForwardSpec(test_size=20, refit_every=10)
    runs = [ModelRun("lightgbm", {"n_estimators": 10, "num_leaves": 4, "min_data_in_leaf": 5})]
    a = run_backtest(data, runs, spec, seed=11).forecasts_table()
    b = run_backtest(data, runs, spec, seed=11).forecasts_table()
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_wf1_preset() -> None:
    daily, hourly = preset_spec("wf1", "1d"), preset_spec("WF1", "1h")
    assert (daily.horizon, daily.test_size, daily.refit_every, daily.window) == (1, 365, 30, "expanding")
    assert (hourly.test_size, hourly.refit_every) == (720, 168)
    with pytest.raises(DataError):
        preset_spec("wf9", "1d")
