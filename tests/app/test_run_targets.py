"""What a run hands the GUI: the calibration displays of a price run, and the forecast against
realised volatility of a volatility run (RunSpec target), through the wire like a worker's."""

from __future__ import annotations

import numpy as np

from cryptodesk.app.jobs import wire
from cryptodesk.app.run import execute_run
from cryptodesk.app.runspec import RunSpec, build_run_spec
from cryptodesk.errors import CryptoDeskError
from cryptodesk.evaluation.walkforward import WalkForwardSpec
from tests.unit.test_volatility import _garch_candles


def test_volatility_run_spec_round_trip_and_result() -> None:
    candles = _garch_candles(500, seed=3)
    spec = build_run_spec(candles, [("ewma", {}), ("har", {})],
                          WalkForwardSpec(test_size=100, refit_every=50), seed=0,
                          target="volatility", rv_method="parkinson")
    again = RunSpec.from_json(spec.to_json())
    assert again.target == "volatility" and again.rv_method == "parkinson"
    result = wire.decode(wire.encode(execute_run(again, candles=candles).result()))
    assert result.report["run"]["target"] == "volatility"
    assert result.calibration() == {}
    series = result.volatility_series("har")
    assert series["x"].shape == series["forecast"].shape == series["realised"].shape == (100,)
    assert np.all(series["forecast"] > 0)
    assert set(result.tiers()) == {"naive", "ewma", "har"}


def test_price_run_reports_calibration() -> None:
    candles = _garch_candles(400, seed=4)
    spec = build_run_spec(candles, [("drift", {})], WalkForwardSpec(horizon=2, test_size=60,
                          refit_every=30), seed=0)
    result = execute_run(spec, candles=candles).result()
    cal = result.calibration()["drift"]
    assert set(cal["coverage_by_horizon"]) == {"1", "2"}
    assert sum(cal["pit_histogram"]["counts"]) == cal["pit_histogram"]["n"] > 100
    assert 0.0 < cal["brier"] < 0.5 and cal["reliability"]
    assert "volatility" not in spec.to_dict()  # price specs are written as before


def test_price_models_are_refused_for_volatility() -> None:
    candles = _garch_candles(300)
    try:
        build_run_spec(candles, [("arima", {})], WalkForwardSpec(test_size=50), seed=0,
                       target="volatility")
    except CryptoDeskError as exc:
        assert "arima does not forecast volatility" in str(exc)
    else:
        raise AssertionError("arima accepted for the volatility target")
