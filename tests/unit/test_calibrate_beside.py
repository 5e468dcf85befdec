"""The conformal calibration copy trained beside the model in a second thread
(cryptodesk.models.calibrate_beside): the same model and band as one fit after the other, the
job's cancellation honoured by both threads, a failure in either raised, and no thread left."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from cryptodesk.data.schema import make_candles
from cryptodesk.errors import ModelError
from cryptodesk.jobs import Cancelled, TaskContext
from cryptodesk.models import conformal
from cryptodesk.models.lgbm import LightGBMForecaster


def _walk(n: int = 700, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(0.02 * rng.standard_normal(n)))
    frame = pd.DataFrame({"open": close, "high": close * 1.01, "low": close * 0.99,
                          "close": close, "volume": rng.lognormal(5, 1, n)},
                         index=pd.date_range("2018-01-01", periods=n, freq="D", tz="UTC"))
    return make_candles(frame, source="test", symbol="SYN", timeframe="1d")


def _calibration_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.endswith(" calibration")]


def test_two_threads_give_the_same_model_and_band_as_one() -> None:
    candles = _walk()
    train, history = candles.iloc[:600], candles.iloc[:650]
    one = LightGBMForecaster({"num_threads": 1, "n_estimators": 40})
    two = LightGBMForecaster({"num_threads": 2, "n_estimators": 40})
    assert not one.calibrates_beside() and two.calibrates_beside()
    assert one._booster_threads() == 1 and two._booster_threads() == 1
    one.fit(train, horizon=3)
    two.fit(train, horizon=3)
    assert one.calibration is not None and two.calibration is not None
    np.testing.assert_array_equal(one.calibration.grid, two.calibration.grid)
    for o in (599, 620, 649):
        a, b = one.predict(history.iloc[: o + 1], 3), two.predict(history.iloc[: o + 1], 3)
        for field in ("point", "q10", "q90", "p_up"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not _calibration_threads()


def test_without_a_conformal_band_nothing_trains_beside() -> None:
    model = LightGBMForecaster({"num_threads": 2, "interval": "model", "quantiles": True})
    assert not model.calibrates()
    assert model._booster_threads() == 2  # the whole budget goes to the boosters
    assert LightGBMForecaster({"interval": "model"})._booster_threads() == 1  # the default


def test_cancelling_the_job_stops_both_threads() -> None:
    ctx = TaskContext()
    calls = {"n": 0}

    def on_progress(fraction: float | None, message: str) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            ctx.cancel()

    ctx = TaskContext(on_progress=on_progress)
    model = LightGBMForecaster({"num_threads": 2, "n_estimators": 400, "quantiles": True,
                                "p_up": "classifier"})
    with pytest.raises(Cancelled):
        model.fit(_walk(), ctx, horizon=5)
    assert not _calibration_threads()
    assert not model.is_fitted


def test_a_failure_in_the_calibration_thread_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ModelError("calibration: the copy failed")

    monkeypatch.setattr(conformal, "out_of_fold_scores", broken)
    monkeypatch.setattr("cryptodesk.models.calibrate_beside.out_of_fold_scores", broken)
    model = LightGBMForecaster({"num_threads": 2, "n_estimators": 20})
    with pytest.raises(ModelError, match="the copy failed"):
        model.fit(_walk(), horizon=2)
    assert not _calibration_threads()
    assert not model.is_fitted


def test_only_the_models_own_fit_reports_progress() -> None:
    threads: set[str] = set()
    fractions: list[float] = []

    def on_progress(fraction: float | None, message: str) -> None:
        threads.add(threading.current_thread().name)
        if fraction is not None:
            fractions.append(fraction)

    model = LightGBMForecaster({"num_threads": 2, "n_estimators": 20})
    model.fit(_walk(), TaskContext(on_progress=on_progress), horizon=2)
    assert threads == {threading.current_thread().name}
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
