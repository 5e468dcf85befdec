"""Metrics against hand-computed values; the Diebold–Mariano test against a worked example and
two independent implementations (Student's one-sample t-test for h = 1, which DM with the HLN
correction reduces to, and statsmodels' HAC regression with a uniform kernel for h > 1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptodesk.evaluation import metrics as m
from cryptodesk.evaluation.significance import dm_test, dm_test_differential

A = np.array([100.0, 102.0, 98.0, 101.0])
F = np.array([101.0, 100.0, 99.0, 103.0])
LAST = np.array([100.0, 100.0, 102.0, 102.0])
LO = np.array([99.0, 101.0, 97.0, 100.0])
HI = np.array([101.0, 103.0, 99.0, 100.5])


def test_point_metrics_by_hand() -> None:
    # errors a - f = [-1, 2, -1, -2]
    assert m.mae(A, F) == pytest.approx(1.5)
    assert m.rmse(A, F) == pytest.approx(math.sqrt(2.5))
    assert m.mape(A, F) == pytest.approx(100 * (1 / 100 + 2 / 102 + 1 / 98 + 2 / 101) / 4)
    assert m.smape(A, F) == pytest.approx(100 * (2 / 201 + 4 / 202 + 2 / 197 + 4 / 204) / 4)
    # naive errors a - last = [0, 2, -4, -1] -> RMSE sqrt(21 / 4)
    assert m.theils_u(A, F, LAST) == pytest.approx(math.sqrt(2.5 / 5.25))
    assert m.theils_u(A, LAST, LAST) == pytest.approx(1.0)
    # MASE: in-sample naive MAE of [10, 12, 11, 15] = (2 + 1 + 4) / 3
    scale = m.naive_scale(np.array([10.0, 12.0, 11.0, 15.0]))
    assert scale == pytest.approx(7 / 3)
    assert m.mase(A, F, scale) == pytest.approx(1.5 / (7 / 3))


def test_directional_accuracy_excludes_ties() -> None:
    # forecast changes [+1, 0, -3, +1], realised [0, +2, -4, -1]: two ties out, one hit, one miss
    assert m.directional_accuracy(A, F, LAST) == pytest.approx(50.0)
    assert math.isnan(m.directional_accuracy(A, LAST, LAST))  # naive never predicts a change


def test_interval_metrics_by_hand() -> None:
    assert m.coverage(A, LO, HI) == pytest.approx(75.0)
    assert m.pinball(A, LO, 0.1) == pytest.approx(0.1)
    assert m.pinball(A, HI, 0.9) == pytest.approx((0.1 * 3 + 0.45) / 4)
    assert m.interval_pinball(A, LO, HI) == pytest.approx((0.1 + 0.1875) / 2)


def test_nan_points_are_ignored_and_empty_is_nan() -> None:
    a = np.array([1.0, np.nan, 3.0])
    f = np.array([2.0, 5.0, np.nan])
    assert m.mae(a, f) == 1.0
    assert math.isnan(m.rmse(np.array([np.nan]), np.array([1.0])))
    assert math.isnan(m.coverage(A, np.full(4, np.nan), HI))
    with pytest.raises(ValueError):
        m.mae(A, F[:2])


def test_dm_worked_example_by_hand() -> None:
    # d = [1, 2, 3, 4]: mean 2.5, gamma0 = 1.25, DM = 2.5 / sqrt(1.25 / 4) = 4.4721;
    # HLN factor sqrt((4 + 1 - 2) / 4) = 0.8660 -> 3.8730; t(3) two-sided p = 0.03047
    res = dm_test_differential(np.array([1.0, 2.0, 3.0, 4.0]), 1)
    assert res.statistic == pytest.approx(2.5 / math.sqrt(1.25 / 4) * math.sqrt(0.75))
    assert res.statistic == pytest.approx(3.8730, abs=1e-4)
    assert res.p_value == pytest.approx(0.03047, abs=1e-4)
    # h = 2 by hand: gamma1 = ((-1.5)(-0.5) + (-0.5)(0.5) + (0.5)(1.5)) / 4 = 0.3125
    res2 = dm_test_differential(np.array([1.0, 2.0, 3.0, 4.0]), 2)
    var = 1.25 + 2 * 0.3125
    factor = math.sqrt((4 + 1 - 4 + 2 * 1 / 4) / 4)
    assert res2.statistic == pytest.approx(2.5 / math.sqrt(var / 4) * factor)


def test_dm_h1_equals_one_sample_t_test() -> None:
    from scipy import stats

    rng = np.random.default_rng(5)
    e1, e2 = rng.standard_normal(200), 1.1 * rng.standard_normal(200)
    res = dm_test(e1, e2, 1)
    ref = stats.ttest_1samp(e1**2 - e2**2, 0.0)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-8)
    less = dm_test(e1, e2, 1, alternative="less")
    assert less.p_value == pytest.approx(stats.ttest_1samp(e1**2 - e2**2, 0, alternative="less").pvalue)


@pytest.mark.parametrize("h", [2, 3, 5])
def test_dm_multi_step_matches_statsmodels_hac(h: int) -> None:
    import statsmodels.api as sm
    from scipy import stats

    rng = np.random.default_rng(h)
    shocks = rng.standard_normal(300 + h)
    d = np.convolve(shocks, np.ones(h), mode="valid")[:300] * 0.3 + 0.2  # MA(h-1) differential
    ols = sm.OLS(d, np.ones((d.size, 1))).fit(
        cov_type="HAC", cov_kwds={"maxlags": h - 1, "kernel": "uniform", "use_correction": False}
    )
    n = d.size
    expected = ols.tvalues[0] * math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    res = dm_test_differential(d, h)
    assert res.statistic == pytest.approx(expected, rel=1e-9)
    assert res.p_value == pytest.approx(2 * stats.t.sf(abs(expected), n - 1), rel=1e-9)


def test_dm_degenerate_cases() -> None:
    e = np.array([1.0, -2.0, 0.5])
    same = dm_test(e, e)
    assert math.isnan(same.statistic) and math.isnan(same.p_value)
    assert math.isnan(dm_test(np.array([1.0]), np.array([2.0])).p_value)
    assert same.to_dict()["p_value"] is None


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=40))
def test_dm_is_antisymmetric(values: list[float]) -> None:
    e1 = np.asarray(values)
    e2 = e1[::-1] * 0.5 + 1.0
    a, b = dm_test(e1, e2, 2), dm_test(e2, e1, 2)
    if math.isnan(a.statistic):
        assert math.isnan(b.statistic)
    else:
        assert a.statistic == pytest.approx(-b.statistic, rel=1e-9, abs=1e-9)
        assert a.p_value == pytest.approx(b.p_value, rel=1e-9, abs=1e-12)
