"""Conformal intervals (cryptodesk.models.conformal): finite-sample ranks, coverage on data with
a known distribution, P(up), persistence and causality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptodesk.data.schema import make_candles
from cryptodesk.evaluation.calibration import calibration_summary, pit_values
from cryptodesk.evaluation.walkforward import WalkForwardSpec, walk_forward
from cryptodesk.models.conformal import local_vol, local_vols, scores_to_calibration
from cryptodesk.models.registry import create, load_model


def _walk(n: int, seed: int, sd: float = 0.02, mu: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(mu + sd * rng.standard_normal(n)))
    frame = pd.DataFrame({"open": close, "high": close * 1.01, "low": close * 0.99,
                          "close": close, "volume": 1.0},
                         index=pd.date_range("2015-01-01", periods=n, freq="D", tz="UTC"))
    return make_candles(frame, source="test", symbol="SYN", timeframe="1d")


def test_finite_sample_ranks() -> None:
    scores = np.arange(1.0, 100.0)  # n = 99: ranks floor(100 * 0.1) = 10, ceil(100 * 0.9) = 90
    cal = scores_to_calibration([scores])
    assert cal is not None
    assert cal.lower[0] == 10.0 and cal.upper[0] == 90.0
    assert scores_to_calibration([np.arange(5.0)]) is None  # too few scores: no calibration


def test_local_vol_is_the_ewma_of_squared_returns() -> None:
    close = np.array([100.0, 101.0, 99.0, 100.5])
    r = np.diff(np.log(close))
    w = 0.94 ** np.array([2.0, 1.0, 0.0])
    assert local_vol(close) == pytest.approx(np.sqrt(np.dot(w, r * r) / w.sum()))
    long = _walk(400, 1)["close"].to_numpy()
    origins = np.arange(0, 399)
    np.testing.assert_allclose(local_vols(long, origins),
                               [local_vol(long[: o + 1]) for o in origins], rtol=1e-12)


@pytest.mark.parametrize("name", ["naive", "drift"])
def test_coverage_on_gaussian_random_walk(name: str) -> None:
    # i.i.d. normal log returns: the 80 % conformal interval must cover about 80 % out of
    # sample; P(up) must be near 0.5 (Brier near 0.25) and the PIT roughly flat
    candles = _walk(3200, 11)
    spec = WalkForwardSpec(horizon=3, test_size=2000, refit_every=250)
    res = walk_forward(create(name), candles, spec)
    summary = calibration_summary(res.forecasts)
    for step, cov in summary["coverage_by_horizon"].items():
        assert 76.0 <= cov <= 84.0, (step, cov)
    assert summary["brier"] == pytest.approx(0.25, abs=0.01)
    counts = np.array(summary["pit_histogram"]["counts"], dtype=float)
    assert counts.min() / counts.mean() > 0.75 and counts.max() / counts.mean() < 1.25


def test_interval_adapts_to_volatility_regime() -> None:
    # calm then three times more volatile: the band must widen with the local volatility and
    # still cover about 80 % in the turbulent test window
    calm, wild = _walk(1500, 3, sd=0.01), _walk(1500, 4, sd=0.03)
    close = np.concatenate([calm["close"].to_numpy(),
                            calm["close"].iat[-1] / wild["close"].iat[0] * wild["close"].to_numpy()])
    frame = pd.DataFrame({"open": close, "high": close, "low": close, "close": close, "volume": 1.0},
                         index=pd.date_range("2010-01-01", periods=3000, freq="D", tz="UTC"))
    candles = make_candles(frame, source="test", symbol="SYN", timeframe="1d")
    res = walk_forward(create("drift"), candles, WalkForwardSpec(test_size=1200, refit_every=200))
    cov = calibration_summary(res.forecasts)["coverage_by_horizon"]["1"]
    assert 75.0 <= cov <= 85.0
    native = walk_forward(create("drift", {"interval": "model"}), candles,
                          WalkForwardSpec(test_size=1200, refit_every=200))
    # the whole-window normal band is too narrow after the change: the failure conformal fixes
    assert calibration_summary(native.forecasts)["coverage_by_horizon"]["1"] < 75.0


def test_model_interval_option_keeps_the_native_band() -> None:
    candles = _walk(600, 5)
    model = create("naive", {"interval": "model"}).fit(candles, horizon=2)
    fc = model.predict(candles, 2)
    assert fc.q10 is None and fc.p_up is None  # naive has no band of its own
    cal = create("naive").fit(candles, horizon=2).predict(candles, 2)
    assert cal.q10 is not None and np.all(cal.q10 < cal.point) and np.all(cal.point < cal.q90)


def test_calibration_saved_and_old_files_still_load(tmp_path) -> None:
    candles = _walk(600, 6)
    model = create("drift").fit(candles, horizon=3)
    model.save(tmp_path / "m")
    back = load_model(tmp_path / "m")
    a, b = model.predict(candles, 3), back.predict(candles, 3)
    np.testing.assert_array_equal(a.q10, b.q10)
    np.testing.assert_array_equal(a.p_up, b.p_up)
    # a model.json from before calibration existed: loads and gives the model's own band
    import json

    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    doc.pop("calibration")
    doc["config"] = {}
    (tmp_path / "m" / "model.json").write_text(json.dumps(doc))
    old = load_model(tmp_path / "m")
    assert old.calibration is None
    np.testing.assert_array_equal(old.predict(candles, 3).point, a.point)


def test_calibration_uses_the_training_window_only() -> None:
    # the same training window inside a longer series gives the same calibration and band
    candles = _walk(900, 8)
    short = create("drift").fit(candles.iloc[:600], horizon=2)
    spoiled = candles.copy()
    spoiled.iloc[600:, :] = spoiled.iloc[600:, :] * 10.0
    again = create("drift").fit(spoiled.iloc[:600], horizon=2)
    np.testing.assert_array_equal(short.calibration.grid, again.calibration.grid)
    assert short.train_end == candles.index[599]


def test_pit_of_a_perfectly_centred_band() -> None:
    frame = pd.DataFrame({"actual": [100.0, 110.0, 90.0], "forecast": [100.0] * 3,
                          "lower": [90.0] * 3, "upper": [110.0] * 3})
    pit = pit_values(frame)
    assert pit[0] == pytest.approx(0.5)
    assert pit[1] == pytest.approx(0.9, abs=1e-6) and pit[2] == pytest.approx(0.1, abs=1e-6)
