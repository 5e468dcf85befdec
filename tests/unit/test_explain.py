"""Explanations: LightGBM's SHAP values add up to its forecasts and rank a planted driver
first; a net's permutation importance finds the input it depends on; ``explain`` writes CSV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptodesk.models.explain import explain
from cryptodesk.models.registry import create, model_class
from tests.support.series import candles_from_returns


def _driven(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Returns driven by an external column known one bar ahead: r[t+1] = 0.8 * d[t] + noise."""
    rng = np.random.default_rng(seed)
    driver = rng.normal(0, 0.01, n)
    ret = np.concatenate([[0.0], 0.8 * driver[:-1]]) + rng.normal(0, 0.002, n)
    data = candles_from_returns(ret, seed)
    data["driver"] = driver
    return data


def test_lightgbm_shap_adds_up_and_ranks_the_driver_first() -> None:
    data = _driven()
    cfg = {"n_estimators": 60, "features": {"external": ["driver"]}}
    model = create("lightgbm", cfg).fit(data.iloc[:500])
    found = explain(model, data, bars=80)
    assert found.method == "shap" and len(found.times) == 80
    assert found.features[int(np.argmax(found.importance))] == "ext_driver"
    np.testing.assert_allclose(found.contributions.sum(axis=1) + found.base, found.prediction)
    # each row explains the forecast made at that origin
    for i in (0, 40, 79):
        origin = data.index.get_loc(found.times[i])
        point = model.predict(data.iloc[: origin + 1], 1).point[0]
        last = data["close"].iat[origin]
        assert np.log(point / last) == pytest.approx(found.prediction[i], abs=1e-9)


def test_net_permutation_importance_finds_the_input_it_uses() -> None:
    pytest.importorskip("torch")
    data = _driven(500)
    cfg = model_class("lstm").fast_config(external=("driver",), max_epochs=15, patience=0,
                                          hidden=(16,), learning_rate=5e-3)
    model = create("lstm", cfg).fit(data)
    found = explain(model, data, bars=30, train=data, repeats=3)
    assert found.method == "permutation"
    assert found.features == ["log_return", "driver"]
    assert found.importance[1] > 5 * max(found.importance[0], 1e-12)
    assert found.contributions.shape == (30, 2) and found.times[-1] == data.index[-1]


def test_ensemble_contributions_are_its_weighted_members() -> None:
    data = _driven(320)
    model = create("ensemble", {"members": ["drift", "naive"]}).fit(data.iloc[:300])
    found = explain(model, data.iloc[:310], bars=5)
    assert found.features == ["drift", "naive"]
    last = data["close"].iat[309]
    point = model.predict(data.iloc[:310], 1).point[0]
    assert found.prediction[-1] == pytest.approx(np.log(point / last))


def test_explain_command_prints_and_writes_csv(tmp_path, capsys) -> None:
    from cryptodesk.app.library import train_and_save
    from cryptodesk.cli import main
    from cryptodesk.data.store import CandleStore

    data = _driven(400).drop(columns="driver")
    CandleStore().write(data)
    saved = train_and_save(data, "lightgbm", {"n_estimators": 20}, evaluate=False)
    out, contrib = tmp_path / "imp.csv", tmp_path / "contrib.csv"
    assert main(["explain", "--model", saved.bundle.id, "--bars", "50", "--out", str(out),
                 "--contributions", str(contrib)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["feature", "importance", "rank"]
    assert table["importance"].is_monotonic_decreasing and len(table) == 21
    rows = pd.read_csv(contrib)
    assert len(rows) == 50 and {"origin", "prediction", "base", "ret_0"} <= set(rows.columns)
    assert "shap importance over 50 forecasts" in capsys.readouterr().out
