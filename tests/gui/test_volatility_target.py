"""The volatility target in the GUI (issue 15): the training panel's target choice builds a run
spec with target "volatility" and the chosen measure, offers only models that forecast it; the
chart's volatility row draws forecast against realised volatility; the results table shows
QLIKE, MSE var, MZ R² and DM p."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from cryptodesk.gui.table_models import RESULT_COLUMNS
from tests.gui.helpers import tiny_run

pytestmark = pytest.mark.gui


def _enabled(tp, name: str) -> bool:
    item = tp.models.item(tp.model_names().index(name))
    return bool(item.flags() & Qt.ItemFlag.ItemIsEnabled)


def test_target_choice_offers_only_models_of_that_target(window) -> None:
    tp = window.training
    tp.set_checked(["drift", "lightgbm"])
    assert tp.target() == "price" and not tp.target_box.measure_combo.isEnabled()
    assert not _enabled(tp, "ewma") and _enabled(tp, "drift")
    tp.target_box.set_target("volatility", "garman_klass")
    assert tp.target_box.measure_combo.isEnabled()
    assert not tp.forecast_bar.forecast_button.isEnabled()  # future paths are prices
    for name in ("ewma", "garch", "har", "lightgbm", "naive"):
        assert _enabled(tp, name), name
    for name in ("drift", "arima", "lstm"):
        assert not _enabled(tp, name), name
    assert tp.checked() == ["naive", "lightgbm"]  # drift forecasts prices only: unticked
    request = tp.run_request()
    assert request.target == "volatility" and request.rv_method == "garman_klass"
    tp.target_box.set_target("price")
    assert not _enabled(tp, "har") and _enabled(tp, "arima")
    assert tp.forecast_bar.forecast_button.isEnabled()


def test_volatility_run_fills_row_and_table(window, qtbot) -> None:
    tp = window.training
    tp.target_box.set_target("volatility", "parkinson")
    tiny_run(window, ["ewma", "har"], test_size=60)
    with qtbot.waitSignal(window.run_finished, timeout=90_000) as blocker:
        window.start_training()
    result = blocker.args[0]
    assert result.spec.target == "volatility" and result.spec.rv_method == "parkinson"
    assert result.report["run"]["ranked_by"] == "qlike"
    rows = {r["model"]: r for r in window.results.rows()}
    for name in ("ewma", "har"):
        metrics = result.metrics()[name]
        for key in ("qlike", "mse_var", "mz_r2", "dm_p_value"):
            assert rows[name][key] == pytest.approx(metrics[key]), (name, key)
            assert np.isfinite(rows[name][key])
    keys = [key for key, *_r in RESULT_COLUMNS]
    view = window.results.view
    for key in ("qlike", "mse_var", "mz_r2", "dm_p_value"):
        assert not view.isColumnHidden(keys.index(key)), key
    for key in ("mae", "rmse", "theils_u", "sharpe"):
        assert view.isColumnHidden(keys.index(key)), key
    assert "volatility target (parkinson measure)" in window.results.summary.text()
    assert "best by QLIKE" in window.status_label.text()
    # the chart: variances never on the price axis; the volatility row has both curves
    chart = window.chart
    assert chart.overlays() == []
    best = window.session.current.selection[0]
    vol = chart.volatility
    assert vol.shown and vol.model == best
    assert not chart.residual.shown  # no price residuals in a volatility run: no empty row
    assert "residual" not in [r.name for r in chart.shown_rows()]
    series = result.volatility_series(best)
    assert np.allclose(vol.forecast.yData, series["forecast"] * 100.0)
    assert np.allclose(vol.realised.yData, series["realised"] * 100.0, equal_nan=True)
    x = float(series["x"][10])
    text = chart.crosshair.text(x)
    assert "realised vol" in text and f"{best} vol" in text
    window.results.select("har")
    assert vol.model == "har"
    assert not window.results.save_button.isEnabled()  # bundles forecast prices only
    # Forecast (the future path) is for prices: a one-line refusal
    shown: list[str] = []
    window.error_shown.connect(shown.append)
    assert window.forecasts.start() is False
    assert "target to price" in shown[-1]
    # back to price: the row goes
    tp.target_box.set_target("price")
    tiny_run(window, ["drift"], test_size=30)
    with qtbot.waitSignal(window.run_finished, timeout=60_000):
        window.start_training()
    assert not vol.shown and chart.overlays()
    assert chart.residual.shown and chart.residual.has_data
    assert not view.isColumnHidden(keys.index("rmse")) and view.isColumnHidden(keys.index("qlike"))


def test_volatility_screenshot(window, qtbot) -> None:
    window.resize(1280, 800)
    window.training.target_box.set_target("volatility")
    tiny_run(window, ["ewma", "garch", "har"], test_size=120)
    with qtbot.waitSignal(window.run_finished, timeout=90_000):
        window.start_training()
    window.chart.show_last(140)
    qtbot.wait(200)
    image = window.grab().toImage()
    assert image.width() == 1280
    if os.environ.get("CRYPTODESK_SCREENSHOT_DIR"):
        keep = Path(os.environ["CRYPTODESK_SCREENSHOT_DIR"])
        keep.mkdir(parents=True, exist_ok=True)
        image.save(str(keep / "volatility_run_light.png"))
