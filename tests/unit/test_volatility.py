"""The volatility target: realised-variance measures, the EWMA/GARCH/HAR baselines against
hand-computed values and the ``arch`` package, the scores, and no look-ahead."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cryptodesk.data.schema import make_candles
from cryptodesk.evaluation.backtest import run_backtest
from cryptodesk.evaluation.vol_metrics import mz_r2, qlike, qlike_loss
from cryptodesk.evaluation.walkforward import WalkForwardSpec, walk_forward
from cryptodesk.features.volatility import bar_variance, volatility_frame
from cryptodesk.models.registry import available_models, create
from cryptodesk.models.volatility import fit_garch, garch_filter

VOL_MODELS = available_models("volatility")


def _garch_candles(n: int = 1500, seed: int = 0, freq: str = "D") -> pd.DataFrame:
    """Log returns from a GARCH(1,1) (omega 2e-5, alpha 0.1, beta 0.85) with OHLC around them."""
    rng = np.random.default_rng(seed)
    omega, alpha, beta = 2e-5, 0.1, 0.85
    s2, r = omega / (1 - alpha - beta), np.empty(n)
    for t in range(n):
        r[t] = math.sqrt(s2) * rng.standard_normal()
        s2 = omega + alpha * r[t] ** 2 + beta * s2
    close = 100 * np.exp(np.cumsum(r))
    open_ = np.concatenate([[100.0], close[:-1]])
    wiggle = np.abs(r) * 0.5 + 0.002
    frame = pd.DataFrame({"open": open_, "high": np.maximum(open_, close) * (1 + wiggle),
                          "low": np.minimum(open_, close) * (1 - wiggle), "close": close,
                          "volume": 1.0},
                         index=pd.date_range("2016-01-01", periods=n, freq=freq, tz="UTC"))
    return make_candles(frame, source="test", symbol="VOL", timeframe="1d" if freq == "D" else "1h")


def test_range_estimators_by_hand() -> None:
    frame = pd.DataFrame({"open": [100.0, 100.0], "high": [110.0, 105.0], "low": [95.0, 99.0],
                          "close": [104.0, 101.0], "volume": 1.0},
                         index=pd.date_range("2020-01-01", periods=2, freq="D", tz="UTC"))
    hl = math.log(110 / 95)
    assert bar_variance(frame, "parkinson")[0] == pytest.approx(hl**2 / (4 * math.log(2)))
    gk = 0.5 * hl**2 - (2 * math.log(2) - 1) * math.log(1.04) ** 2
    assert bar_variance(frame, "garman_klass")[0] == pytest.approx(gk)
    sq = bar_variance(frame, "squared")
    assert math.isnan(sq[0]) and sq[1] == pytest.approx(math.log(101 / 104) ** 2)


def test_intraday_bars_sum_into_daily_realised_variance() -> None:
    hourly = _garch_candles(24 * 5 + 7, seed=1, freq="h")
    with pytest.raises(Exception, match="30"):
        volatility_frame(hourly)  # 5 full days are too few for a run
    long = _garch_candles(24 * 40 + 7, seed=1, freq="h")
    out = volatility_frame(long)
    assert out.attrs["timeframe"] == "1d" and out.attrs["rv_method"] == "intraday"
    assert len(out) == 40  # the 7-hour last day is dropped
    r = np.diff(np.log(long["close"].to_numpy()))
    day2 = r[23:47]  # returns ending at the 24 hourly closes of the second day
    assert out["rv"].iloc[1] == pytest.approx(float(np.sum(day2 * day2)))


def test_ewma_by_hand() -> None:
    frame = volatility_frame(_garch_candles(200))
    model = create("ewma", {"lam": 0.5, "window": 3}).fit(frame, horizon=2, target="volatility")
    v = frame["rv"].to_numpy()[-3:]
    expected = (0.25 * v[0] + 0.5 * v[1] + 1.0 * v[2]) / 1.75
    np.testing.assert_allclose(model.predict(frame, 2).point, [expected, expected])


def test_har_is_the_least_squares_fit_of_its_three_components() -> None:
    frame = volatility_frame(_garch_candles(400))
    model = create("har").fit(frame, horizon=1, target="volatility")
    v = frame["rv"].to_numpy()
    rows, ys = [], []
    for t in range(21, len(v) - 1):
        rows.append([1.0, v[t], v[t - 4 : t + 1].mean(), v[t - 21 : t + 1].mean()])
        ys.append(v[t + 1])
    beta = np.linalg.lstsq(np.array(rows), np.array(ys), rcond=None)[0]
    np.testing.assert_allclose(model.coef[0], beta, rtol=1e-8)
    last = [1.0, v[-1], v[-5:].mean(), v[-22:].mean()]
    assert model.predict(frame, 1).point[0] == pytest.approx(max(float(np.dot(beta, last)),
                                                                 model.floor))


def test_garch_matches_the_arch_package() -> None:
    arch_model = pytest.importorskip("arch").arch_model
    candles = _garch_candles(2500, seed=5)
    r = np.diff(np.log(candles["close"].to_numpy()))
    ours = fit_garch(r)
    ref = arch_model(r * 100, mean="Constant", vol="GARCH", p=1, q=1, dist="normal",
                     rescale=False).fit(disp="off")
    assert ours.alpha == pytest.approx(ref.params["alpha[1]"], abs=0.02)
    assert ours.beta == pytest.approx(ref.params["beta[1]"], abs=0.03)
    assert ours.unconditional == pytest.approx(
        ref.params["omega"] / 1e4 / (1 - ref.params["alpha[1]"] - ref.params["beta[1]"]), rel=0.15)
    # and its multi-step forecast formula, by hand
    model = create("garch").fit(volatility_frame(candles), horizon=3, target="volatility")
    fit = model.fit_result
    eps = r[-500:] - fit.mu
    nxt = garch_filter(eps, fit.omega, fit.alpha, fit.beta, fit.unconditional)[-1]
    persist = fit.alpha + fit.beta
    expected = [fit.unconditional + persist**k * (nxt - fit.unconditional) for k in range(3)]
    np.testing.assert_allclose(model.predict(volatility_frame(candles), 3).point, expected)


def test_scores_by_hand() -> None:
    a, f = np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 2.0])
    expected = np.mean([0.5 - math.log(0.5) - 1, 0.0, 2 - math.log(2) - 1])
    assert qlike(a, f) == pytest.approx(expected)
    np.testing.assert_allclose(qlike_loss(a, f) - qlike_loss(a, a), a / f - np.log(a / f) - 1)
    assert mz_r2(a, a * 3 + 1) == pytest.approx(1.0)


@pytest.mark.parametrize("name", [*VOL_MODELS])
def test_volatility_target_has_no_look_ahead(name: str) -> None:
    frame = volatility_frame(_garch_candles(320, seed=2))
    spec = WalkForwardSpec(horizon=2, test_size=24, refit_every=12)
    config = {"n_estimators": 10, "num_leaves": 7, "min_data_in_leaf": 10} if name == "lightgbm" else {}
    base = walk_forward(create(name, config), frame, spec, target="volatility").forecasts
    cut = len(frame) - 24 + 12  # a refit happens at the origin before the cut
    spoiled = frame.copy()
    rng = np.random.default_rng(0)
    for col in ("open", "high", "low", "close", "rv"):
        values = spoiled[col].to_numpy().copy()
        values[cut:] = rng.permutation(values[cut:]) * 7.0
        spoiled[col] = values
    again = walk_forward(create(name, config), spoiled, spec, target="volatility").forecasts
    origin = frame.index[cut - 1]
    keep = base["origin"] <= origin
    np.testing.assert_array_equal(base.loc[keep, "forecast"].to_numpy(),
                                  again.loc[keep, "forecast"].to_numpy())


def test_price_models_refuse_the_volatility_target() -> None:
    frame = volatility_frame(_garch_candles(200))
    with pytest.raises(Exception, match="does not forecast volatility"):
        create("arima").fit(frame, horizon=1, target="volatility")
    assert "ewma" not in available_models() and "ewma" in available_models("volatility")


def test_volatility_backtest_beats_naive_on_garch_data() -> None:
    frame = volatility_frame(_garch_candles(1400, seed=9))
    report = run_backtest(frame, ["ewma", "garch", "har"], WalkForwardSpec(test_size=400,
                          refit_every=100), target="volatility")
    doc = report.to_json()
    assert doc["run"]["target"] == "volatility" and doc["run"]["ranked_by"] == "qlike"
    best = doc["models"][0]
    assert best["tier"] == "better than naive" and best["metrics"]["dm_p_value"] < 0.05
    assert {"qlike", "mse_var", "mz_r2", "dm_p_value"} <= set(best["metrics"])
    assert "calibration" not in best
