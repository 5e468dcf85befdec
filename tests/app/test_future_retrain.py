"""Forecasting after the last candle (forecast_future) and keeping saved models current
(models retrain): the app workflows the GUI's Forecast action and Retrain button call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cryptodesk.app.future import export_future, forecast_future, forecast_future_job
from cryptodesk.app.jobs import wire
from cryptodesk.app.jobs.runner import JOBS
from cryptodesk.app.library import train_and_save
from cryptodesk.app.retrain import decide, retrain_bundle, retrain_job, retrain_suggestions
from cryptodesk.app.runspec import data_ref
from cryptodesk.data.schema import make_candles
from cryptodesk.data.store import CandleStore
from cryptodesk.errors import DataError
from cryptodesk.io.bundles import ModelLibrary
from cryptodesk.io.exports import FORECAST_COLUMNS, read_forecasts_csv
from cryptodesk.jobs import null_context


def _candles(n: int, seed: int = 0, drift: float = 0.0005) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(drift + 0.02 * rng.standard_normal(n)))
    frame = pd.DataFrame({"open": close, "high": close * 1.01, "low": close * 0.99,
                          "close": close, "volume": 1.0},
                         index=pd.date_range("2019-01-01", periods=n, freq="D", tz="UTC"))
    return make_candles(frame, source="test", symbol="SYN-USD", timeframe="1d")


def test_forecast_future_paths_table_names_and_wire(tmp_path: Path) -> None:
    candles = _candles(400)
    result = forecast_future(candles, [("drift", {}), ("arima", {}),
                                       ("lightgbm", {"n_estimators": 10, "num_leaves": 7})])
    assert result.horizon == 7  # the daily default
    assert [p.model for p in result.paths] == ["drift", "arima", "lightgbm"]
    step = 86_400
    last = candles.index[-1].value / 1e9
    for path in result.paths:
        np.testing.assert_allclose(path.x, last + step * np.arange(1, 8))
        assert np.all(path.lower < path.upper) and np.all((path.p_up > 0) & (path.p_up < 1))
    assert result.csv_name == f"forecast_SYN-USD_1d_{candles.index[-1]:%Y-%m-%d}.csv"
    assert result.chart_name.endswith(".png")
    out = export_future(result, tmp_path / result.csv_name)
    table = read_forecasts_csv(out)
    assert tuple(table.columns) == (*FORECAST_COLUMNS, "origin") and len(table) == 21
    assert table["actual"].isna().all()
    back = wire.decode(wire.encode(result))
    np.testing.assert_array_equal(back.paths[2].upper, result.paths[2].upper)
    assert back.series == ("test", "SYN-USD", "1d")


def test_forecast_future_keeps_going_past_a_failing_model() -> None:
    result = forecast_future(_candles(80), [("drift", {}), ("lightgbm", {})], horizon=3)
    assert [p.model for p in result.paths] == ["drift"]
    assert result.notes and result.notes[0].startswith("lightgbm:")
    with pytest.raises(DataError):
        forecast_future(_candles(80), [], horizon=3)


def test_forecast_future_job_reads_the_store() -> None:
    store = CandleStore()
    candles = _candles(300)
    store.write(candles)
    assert "forecast_future" in JOBS and "retrain" in JOBS
    result = forecast_future_job({"data": data_ref(candles).to_dict(),
                                  "models": [{"name": "naive"}], "horizon": 2}, null_context())
    assert result.paths[0].point.shape == (2,)


def test_decision_follows_the_scores() -> None:
    worse = {"dm_p_value": 0.01, "mean_loss_difference": 2.0}
    assert decide(worse)[0] == "current"
    assert decide({"dm_p_value": 0.01, "mean_loss_difference": -2.0})[0] == "challenger"
    assert decide({"dm_p_value": 0.40, "mean_loss_difference": 2.0})[0] == "challenger"
    assert decide({"dm_p_value": float("nan"), "mean_loss_difference": 1.0})[0] == "challenger"


def test_retrain_on_new_bars_records_lineage_and_keeps_old_versions() -> None:
    full = _candles(560, seed=4)
    store, library = CandleStore(), ModelLibrary()
    store.write(full.iloc[:500])
    saved = train_and_save(store.load(_key(full)), "drift", horizon=3, label="drift syn",
                           evaluate=False, library=library)
    with pytest.raises(DataError, match="up to date"):
        retrain_bundle("drift syn", library=library, store=store)
    store.write(full)  # 60 new bars, e.g. after `data fetch`
    assert [s.reasons for s in retrain_suggestions(library, store)] == [("new_bars",)]
    result = retrain_bundle("drift syn", library=library, store=store, refit_every=20)
    assert result.new_bars == 60 and result.previous == saved.bundle.id
    assert result.decision == decide(result.scores)[0]
    for who in ("current", "challenger", "naive"):
        assert result.scores[who]["n"] == 60 * 3 - 3  # the last origins' steps run off the end
    labels = {i.label: i for i in library.list()}
    if result.decision == "challenger":
        assert set(labels) == {"drift syn", "drift syn (v1)"}
        new = labels["drift syn"].manifest
        assert new["lineage"]["parent"] == saved.bundle.id
        assert new["lineage"]["versions"][0]["training_window"]["end"] == \
            full.index[499].isoformat()
        assert new["lineage"]["retrains"][0]["decision"] == "challenger"
        assert new["training_window"]["end"] == full.index[-1].isoformat()
    # the previous version still loads and forecasts
    model, _ = library.load(saved.bundle.id)
    fc = model.predict(full, 3)
    assert fc.horizon == 3 and np.all(np.isfinite(fc.point))
    assert retrain_suggestions(library, store) == [] or all(
        "new_bars" not in s.reasons for s in retrain_suggestions(library, store)
        if s.label == "drift syn")


def test_retrain_job_and_wire() -> None:
    full = _candles(460, seed=5)
    store = CandleStore()
    store.write(full.iloc[:420])
    train_and_save(store.load(_key(full)), "naive", horizon=1, label="n", evaluate=False)
    store.write(full)
    result = retrain_job({"ref": "n"}, null_context())
    back = wire.decode(wire.encode(result))
    assert back.scores["current"]["n"] == 40 and back.decision in ("challenger", "current")


def _key(candles: pd.DataFrame):
    from cryptodesk.data.schema import SeriesKey

    return SeriesKey("test", "SYN-USD", "1d")


def test_kept_challenger_does_not_inherit_the_degraded_verdict() -> None:
    full = _candles(460, seed=6)
    store, library = CandleStore(), ModelLibrary()
    store.write(full.iloc[:420])
    degraded = {"degraded": True, "status": "degraded — retrain suggested", "reasons": ["x"]}
    train_and_save(store.load(_key(full)), "naive", horizon=1, label="n", evaluate=False,
                   library=library, metrics={"rmse": 1.0, "monitoring": degraded})
    store.write(full)
    result = retrain_bundle("n", library=library, store=store)
    assert result.decision == "challenger"  # naive refitted forecasts the same: not worse
    new = library.resolve(result.kept)
    assert "monitoring" not in new.metrics and new.metrics["rmse"] == 1.0
    assert [s.reasons for s in retrain_suggestions(library, store) if s.id == result.kept] == []
    old = library.resolve(result.previous)
    assert old.metrics["monitoring"]["degraded"] is True  # the old version keeps its verdict
