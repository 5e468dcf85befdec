"""The models behind the walk-forward, checked on their own: ARIMA's CSS estimates against
statsmodels' exact maximum likelihood, its order search and forecast algebra; drift's
closed form; LightGBM's options (classifier P(up), external features, no quantiles)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptodesk.data.schema import make_candles
from cryptodesk.features.external import join_asof
from cryptodesk.features.spec import FeatureSpec
from cryptodesk.models.arima import (
    ArimaConfig,
    ArimaForecaster,
    arma_forecast,
    fit_arma,
    psi_weights,
)
from cryptodesk.models.base import Z90
from cryptodesk.models.baselines import DriftForecaster
from cryptodesk.models.lgbm import LightGBMConfig, LightGBMForecaster


def _arma(n: int, phi: list[float], theta: list[float], seed: int, mu: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    e = rng.standard_normal(n + 100)
    y = np.zeros(n + 100)
    for t in range(2, n + 100):
        y[t] = sum(p * y[t - 1 - i] for i, p in enumerate(phi)) + e[t]
        y[t] += sum(q * e[t - 1 - j] for j, q in enumerate(theta))
    return y[100:] + mu


def _candles_from_returns(ret: np.ndarray) -> pd.DataFrame:
    close = 100 * np.exp(np.concatenate([[0.0], np.cumsum(ret)]))
    frame = pd.DataFrame(
        {"open": close, "high": close * 1.01, "low": close * 0.99, "close": close,
         "volume": np.linspace(1, 2, close.size)},
        index=pd.date_range("2015-01-01", periods=close.size, freq="D", tz="UTC"),
    )
    return make_candles(frame, source="test", symbol="A-USD", timeframe="1d")


def test_css_matches_statsmodels_mle() -> None:
    from statsmodels.tsa.arima.model import ARIMA

    y = _arma(2000, [0.5], [0.3], seed=1, mu=0.2)
    ref = ARIMA(y, order=(1, 0, 1), trend="c").fit()
    ours = fit_arma(y, 1, 1)
    assert ours is not None
    const, ar, ma, sigma2 = ref.params
    assert ours.phi[0] == pytest.approx(ar, abs=0.02)
    assert ours.theta[0] == pytest.approx(ma, abs=0.02)
    assert ours.mu == pytest.approx(const, abs=0.02)
    assert ours.sigma2 == pytest.approx(sigma2, rel=0.02)


def test_order_search_finds_ar2_and_white_noise() -> None:
    ar2 = _candles_from_returns(_arma(3000, [0.4, -0.3], [], seed=2) * 0.01)
    model = ArimaForecaster().fit(ar2)  # default grid p, q <= 2, AIC
    assert (model.fit_result.p, model.fit_result.q) == (2, 0)
    assert model.fit_result.phi == pytest.approx((0.4, -0.3), abs=0.05)
    # on a wider grid AIC may take a near-redundant ARMA(3,1); BIC's penalty keeps AR(2)
    model = ArimaForecaster(ArimaConfig(max_p=3, max_q=1, criterion="bic")).fit(ar2)
    assert (model.fit_result.p, model.fit_result.q) == (2, 0)
    noise = np.random.default_rng(3).standard_normal(3000) * 0.01
    model = ArimaForecaster().fit(_candles_from_returns(noise))
    assert (model.fit_result.p, model.fit_result.q) == (0, 0)


def test_arma_forecast_and_psi_algebra() -> None:
    phi, theta = np.array([0.6]), np.array([])
    y = np.array([0.0, 1.0, 2.0])
    np.testing.assert_allclose(arma_forecast(y, phi, theta, 3), [1.2, 0.72, 0.432])
    np.testing.assert_allclose(psi_weights(phi, np.array([0.5]), 3), [1.0, 1.1, 0.66])
    # ARIMA forecast: cumulative log return mean and sd from psi weights
    model = ArimaForecaster().fit(_candles_from_returns(_arma(500, [0.3], [], 4) * 0.01))
    fit = model.fit_result
    fc = model.predict(_candles_from_returns(_arma(500, [0.3], [], 4) * 0.01), 2)
    assert fc.q10[0] < fc.point[0] < fc.q90[0] and fc.q90[1] - fc.q10[1] > fc.q90[0] - fc.q10[0]
    assert fit.sigma2 > 0


def test_drift_closed_form() -> None:
    ret = np.random.default_rng(5).normal(0.001, 0.02, 400)
    data = _candles_from_returns(ret)
    model = DriftForecaster().fit(data)
    assert model.mu == pytest.approx(ret.mean()) and model.sigma == pytest.approx(ret.std(ddof=1))
    fc = model.predict(data, 4)
    last = data["close"].iat[-1]
    np.testing.assert_allclose(fc.point, last * np.exp(model.mu * np.arange(1, 5)))
    np.testing.assert_allclose(fc.q90[3], last * np.exp(4 * model.mu + Z90 * 2 * model.sigma))


def test_lightgbm_options() -> None:
    ret = np.random.default_rng(6).normal(0, 0.02, 400)
    data = _candles_from_returns(ret)
    fast = dict(n_estimators=10, num_leaves=4, min_data_in_leaf=10)
    clf = LightGBMForecaster(LightGBMConfig(p_up="classifier", quantiles=True, **fast)).fit(
        data, horizon=2)
    fc = clf.predict(data, 2)
    assert set(clf.boosters) == {f"{h}_h{s}" for h in ("point", "q10", "q90", "up") for s in (1, 2)}
    assert np.all((fc.p_up > 0) & (fc.p_up < 1))
    plain = LightGBMForecaster(LightGBMConfig(quantiles=False, p_up="off", interval="model",
                                              **fast)).fit(data)
    only = plain.predict(data, 1)
    assert only.q10 is None and only.p_up is None and set(plain.boosters) == {"point_h1"}
    # the default: one point booster per step, band and P(up) from the conformal calibration
    default = LightGBMForecaster(LightGBMConfig(**fast)).fit(data, horizon=2)
    assert set(default.boosters) == {"point_h1", "point_h2"}
    band = default.predict(data, 2)
    assert np.all(band.q10 < band.q90) and np.all((band.p_up > 0) & (band.p_up < 1))
    assert "ret_0" in plain.feature_importance()
    # an external column joined as-of feeds the trees through the feature spec
    ext = pd.Series(np.sin(np.arange(len(data))), index=data.index.tz_localize(None), name="sent")
    joined = join_asof(data, ext)
    spec = FeatureSpec(external=("sent",))
    model = LightGBMForecaster(LightGBMConfig(features=spec, **fast)).fit(joined)
    assert "ext_sent" in model.feature_importance()
    assert np.isfinite(model.predict(joined, 1).point).all()
