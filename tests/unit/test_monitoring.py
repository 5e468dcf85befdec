"""Monitoring: rolling Theil's U and coverage against naive, and the degraded flag's K rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cryptodesk.errors import DataError
from cryptodesk.evaluation.monitoring import (
    DEGRADED,
    MonitorSpec,
    monitor_model,
    status_table,
)

N = 100


def _frames(err_model: np.ndarray, half_width: float = np.nan):
    """Naive errs by +-1 every bar; the model by ``err_model`` (actual - forecast)."""
    idx = pd.date_range("2024-01-01", periods=N + 1, freq="h", tz="UTC")
    last = np.full(N, 100.0)
    actual = last + np.where(np.arange(N) % 2 == 0, 1.0, -1.0)
    base = {"origin": idx[:-1], "target_time": idx[1:], "horizon": 1, "actual": actual,
            "last_close": last, "p_up": np.nan}
    naive = pd.DataFrame({**base, "forecast": last, "lower": np.nan, "upper": np.nan})
    fc = actual - err_model
    model = pd.DataFrame({**base, "forecast": fc, "lower": fc - half_width,
                          "upper": fc + half_width})
    return model, naive


def test_rolling_u_by_hand() -> None:
    err = np.full(N, 0.5)
    err[-10:] = 2.0
    model, naive = _frames(err)
    st = monitor_model("m", model, naive, MonitorSpec(window=20, k=5))
    # last 20 forecasts: 10 errors of 0.5 and 10 of 2 vs naive's 1: U = sqrt((2.5 + 40) / 20)
    assert st.last_u == pytest.approx(math.sqrt((10 * 0.25 + 10 * 4.0) / 20))
    assert st.series["rolling_u"].iloc[:19].isna().all()
    assert st.series["rolling_u"].iat[19] == pytest.approx(0.5)


def test_degraded_after_exactly_k_forecasts_above_one() -> None:
    spec = MonitorSpec(window=10, k=5)
    for run, expect in ((4, False), (5, True)):
        err = np.full(N, 0.5)
        # errors of 2.5 among 0.5s: one in the 10-forecast window gives U^2 = 0.85, two give
        # 1.45, so U stays above 1 from the second one on
        err[N - run - 1 :] = 2.5
        model, naive = _frames(err)
        st = monitor_model("m", model, naive, spec)
        assert st.u_run == run
        assert st.degraded is expect
        assert st.status == (DEGRADED if expect else "ok")


def test_a_model_better_than_naive_is_ok_and_naive_is_never_flagged_on_u() -> None:
    model, naive = _frames(np.full(N, 0.5))
    assert not monitor_model("m", model, naive).degraded
    st = monitor_model("naive", naive, naive, MonitorSpec(window=10, k=1, u_tolerance=-0.5))
    assert st.last_u == pytest.approx(1.0) and not st.degraded


def test_coverage_outside_the_band_is_flagged() -> None:
    # half width 0.5 never covers an error of 1 (coverage 0 %); 1.5 always does (100 %)
    for width, flagged in ((0.5, True), (1.5, True)):
        model, naive = _frames(np.full(N, 1.0), half_width=width)
        st = monitor_model("m", model, naive, MonitorSpec(window=20, k=50))
        assert st.degraded is flagged and "coverage" in st.reasons[0]
    # 80 % inside: errors of 1 in 4 of every 5 bars, 3 otherwise, half width 2
    err = np.where(np.arange(N) % 5 == 0, 3.0, 1.0)
    model, naive = _frames(err, half_width=2.0)
    st = monitor_model("m", model, naive, MonitorSpec(window=20, k=200))
    assert st.last_coverage == pytest.approx(0.8) and not st.degraded


def test_status_table_and_json() -> None:
    err = np.full(N, 3.0)
    model, naive = _frames(err)
    st = monitor_model("m", model, naive, MonitorSpec(window=10, k=5))
    row = status_table({"m": st}).iloc[0]
    assert row["status"] == DEGRADED and "Theil" in row["reasons"]
    d = st.to_dict()
    assert d["degraded"] is True and d["rolling_coverage"] is None


def test_validation() -> None:
    with pytest.raises(DataError):
        MonitorSpec(window=1)
    model, naive = _frames(np.zeros(N))
    with pytest.raises(DataError):
        monitor_model("m", model.assign(horizon=2), naive)
