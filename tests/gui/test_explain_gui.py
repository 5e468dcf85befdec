"""The Explain dock: a model of the shown run is saved and explained in a worker; the global
importance is drawn as bars, largest first; the price chart's cursor picks the forecast whose
contributions are drawn (SHAP values that add up, with the base value, to the forecast)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.gui.helpers import tiny_run


def test_a_run_model_is_explained_and_the_cursor_picks_the_forecast(window, qtbot) -> None:
    parts = window.study_tune
    view = parts.explain
    tp = window.training
    tiny_run(window, ["lightgbm"], test_size=30)
    tp.select_model("lightgbm")
    tp.form("lightgbm").set_values({"n_estimators": 20})
    assert view.choices() == []  # nothing run or saved yet
    with qtbot.waitSignal(window.run_finished, timeout=240_000):
        window.start_training()
    assert [c.run_model for c in view.choices()] == ["lightgbm"]
    view.bars.setValue(40)
    with qtbot.waitSignal(view.explained, timeout=240_000) as done:
        parts.explain_action.trigger()  # Run › Explain model: saves it, then explains it
    expl = done.args[0]
    assert view.pending_save is None
    qtbot.waitUntil(lambda: not parts.explain_dock.visibleRegion().isEmpty(), timeout=5_000)
    assert window.docks.library.visibleRegion().isEmpty()  # raised over the library
    assert expl.kind == "lightgbm" and "shap" in expl.method.lower()
    # the saved model is now in the library and among the choices
    qtbot.waitUntil(lambda: any(c.ref == expl.ref for c in view.choices()), timeout=30_000)
    # global importance: the top features, largest first, drawn as bars
    chart = view.importance
    assert chart.names == expl.features[: len(chart.names)] and len(chart.names) >= 5
    assert np.all(np.diff(chart.values) <= 0) and chart.bars is not None
    # per forecast: the cursor on the chart picks the origin at or before it
    assert expl.contributions is not None and len(expl.x) == 40
    i = 10
    window.chart.crosshair.move_to(float(expl.x[i]) + 3600.0)  # within that bar
    row = expl.contributions[i]
    shown = view.contributions
    top = np.argsort(-np.abs(row), kind="stable")[: len(shown.names)]
    assert shown.names == [expl.features[j] for j in top]
    np.testing.assert_allclose(shown.values, row[top])
    day = str(np.datetime64(int(expl.x[i]), "s"))[:10]
    assert day in shown.getPlotItem().titleLabel.text
    # SHAP: base + contributions = the forecast log return at that origin
    assert expl.base is not None and expl.prediction is not None
    assert expl.base[i] + row.sum() == pytest.approx(expl.prediction[i], rel=1e-6, abs=1e-9)
    assert view.origin_at(float(expl.x[0]) - 1.0) is None  # before the first explained bar
    # the saved model itself, from the list: explained without saving again
    assert view.pick(f"({expl.kind}, DEMO/USD 1d)")
    assert view.model.currentData().ref == expl.ref
    with qtbot.waitSignal(view.explained, timeout=240_000) as again:
        assert view.explain_current()
    assert view.pending_save is None and again.args[0].ref == expl.ref
    np.testing.assert_allclose(again.args[0].importance, expl.importance)
    assert len(window.library.bundles) == 1  # nothing was saved a second time
    if os.environ.get("CRYPTODESK_SCREENSHOT_DIR"):
        keep = Path(os.environ["CRYPTODESK_SCREENSHOT_DIR"])
        keep.mkdir(parents=True, exist_ok=True)
        window.resize(1280, 800)
        window.chart.show_last(120)
        for theme in ("light", "dark"):
            window.apply_theme(theme)
            qtbot.wait(200)
            window.chart.crosshair.move_to(float(expl.x[-15]) + 3600.0)
            qtbot.wait(100)
            window.grab().toImage().save(str(keep / f"explain_{theme}.png"))


def test_a_model_without_explanation_says_so_in_one_line(window, qtbot) -> None:
    view = window.study_tune.explain
    tiny_run(window, ["drift"], test_size=30)
    with qtbot.waitSignal(window.run_finished, timeout=120_000):
        window.start_training()
    assert view.pick("run: drift")
    errors = []
    window.error_shown.connect(errors.append)
    with qtbot.waitSignal(view.slot.failed, timeout=240_000):
        view.explain_current()
    assert errors and "\n" not in errors[-1].strip() and "drift" in errors[-1]
    assert view.summary.text().startswith("Cannot explain: ")
