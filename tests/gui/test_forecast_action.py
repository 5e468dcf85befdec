"""Forecast as a first-class action (issue 15): Run ▸ Forecast / the training panel's button /
Ctrl+F fit the ticked models on every bar in a worker and draw each one's future path and band,
overlaid in distinct colours, legend outside the plot, a readout per step; "Export forecast…"
writes the documented CSV and the chart PNG under default names; one-line errors; cancel."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtGui import QImage, QKeySequence
from PySide6.QtWidgets import QFileDialog

pytestmark = pytest.mark.gui

FORECAST_COLUMNS = ["timestamp", "symbol", "model", "horizon", "forecast", "lower", "upper",
                    "p_up", "actual", "origin"]


def _keep(image: QImage, name: str) -> None:
    if os.environ.get("CRYPTODESK_SCREENSHOT_DIR"):  # kept for a look (docs/screenshots)
        keep = Path(os.environ["CRYPTODESK_SCREENSHOT_DIR"])
        keep.mkdir(parents=True, exist_ok=True)
        image.save(str(keep / name))


def _forecast(window, qtbot, models: list[str], horizon: int = 7, trigger=None):
    window.training.set_checked(models)
    window.training.forecast_bar.horizon.setValue(horizon)
    with qtbot.waitSignal(window.forecasts.forecast_ready, timeout=90_000) as blocker:
        (trigger or window.menu_actions.forecast.trigger)()
    return blocker.args[0]


def test_forecast_overlays_models_with_bands_and_readout(window, qtbot) -> None:
    fc = _forecast(window, qtbot, ["drift", "arima"], horizon=7)
    assert [p.model for p in fc.paths] == ["naive", "drift", "arima"]
    current = window.session.current
    assert current.forecast is fc  # the session holds it for this series
    price = window.chart.price
    assert price.paths.names == ["naive", "drift", "arima"]
    last = float(window.data_panel.current.pyramid.base.x[-1])
    for i, path in enumerate(fc.paths):
        assert price.paths.points(i) == 7 and np.all(path.x > last)
        assert price.paths.band_visible(i)  # every model has its calibrated band
    colours = {price.paths.color_of(i) for i in range(3)}
    assert len(colours) == 3  # one colour per model
    # the legend is outside the plot: the chart's header, not a legend item over the data
    legend = window.chart.forecast_legend.text()
    assert all(name in legend for name in ("naive", "drift", "arima")) and "80 % band" in legend
    assert not any("drift" in label.text for _s, label in price.legend.items)
    # the crosshair snaps to the future steps and reads out each model's forecast and band
    step3 = float(fc.paths[1].x[2])
    assert window.chart.bar_at(step3 + 3600) == step3
    text = window.chart.crosshair.text(step3)
    for path in fc.paths:
        lo, hi = path.lower[2], path.upper[2]
        assert path.model in text
        assert f"{lo:,.0f}" in text and f"{hi:,.0f}" in text
    assert "P(up)" in text
    # the view scrolled to show the forecasts
    _lo_x, hi_x = window.chart.x_range()
    assert hi_x >= float(fc.paths[0].x[-1])
    assert "Forecast 7 bars" in window.status_label.text()


def test_forecast_button_and_shortcut(window, qtbot) -> None:
    action = window.menu_actions.forecast
    assert action.shortcut() == QKeySequence("Ctrl+F")
    clashes = [a.text() for a in window.findChildren(type(action))
               if a is not action and a.shortcut() == action.shortcut()]
    assert clashes == []
    assert action in window.menuBar().actions()[1].menu().actions()  # the Run menu
    bar = window.training.forecast_bar
    fc = _forecast(window, qtbot, ["drift"], horizon=3, trigger=bar.forecast_button.click)
    assert fc.horizon == 3 and window.chart.price.paths.points(1) == 3
    assert bar.export_button.isEnabled()
    assert window.training.forecast_bar.horizon.value() == 3


def test_export_forecast_writes_csv_and_png(window, qtbot, tmp_path: Path,
                                            monkeypatch) -> None:
    from cryptodesk.io.exports import read_forecasts_csv

    fc = _forecast(window, qtbot, ["drift", "arima"], horizon=5)
    asked: list[str] = []

    def save_name(_parent, _title, start, _filter):
        asked.append(start)
        return str(tmp_path / Path(start).name), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_name)
    with qtbot.waitSignal(window.forecasts.exported, timeout=30_000) as blocker:
        window.training.forecast_bar.export_button.click()
    csv_path, png_path = blocker.args[0]
    # default names carry symbol, timeframe and the last candle's date
    assert Path(asked[0]).name == "forecast_DEMO-USD_1d_2025-12-31.csv" == fc.csv_name
    assert png_path.name == "forecast_DEMO-USD_1d_2025-12-31.png" == fc.chart_name
    table = read_forecasts_csv(csv_path)
    assert list(table.columns) == FORECAST_COLUMNS
    assert len(table) == 3 * 5 and table["actual"].isna().all()
    assert set(table["model"]) == {"naive", "drift", "arima"}
    assert (table["timestamp"] > pd.Timestamp("2025-12-31", tz="UTC")).all()
    drift = table[table["model"] == "drift"]
    assert np.allclose(drift["forecast"], fc.paths[1].point)
    assert np.allclose(drift["lower"], fc.paths[1].lower)
    image = QImage(str(png_path))
    assert not image.isNull() and image.width() > 400
    assert "Exported" in window.status_label.text()


def test_forecast_errors_are_one_line(window, qtbot, tmp_path: Path) -> None:
    shown: list[str] = []
    window.error_shown.connect(shown.append)
    window.training.set_checked([])  # naive alone
    assert window.forecasts.start() is False
    assert shown[-1] == "Tick at least one model besides naive to forecast with."
    assert window.forecasts.choose_export() is False
    assert "Forecast first" in shown[-1]
    # too little data for LightGBM: the core's one-line reason
    rows = 40
    times = pd.date_range("2024-01-01", periods=rows, freq="D", tz="UTC")
    close = 100 + np.cumsum(np.random.default_rng(0).normal(0, 1, rows))
    frame = pd.DataFrame({"timestamp": times.strftime("%Y-%m-%d"), "open": close,
                          "high": close + 1, "low": close - 1, "close": close,
                          "volume": 1000.0})
    path = tmp_path / "SHORT-USD.csv"
    frame.to_csv(path, index=False)
    with qtbot.waitSignal(window.data_panel.imported, timeout=30_000):
        window.data_panel.import_csv(path, "SHORT-USD")
    qtbot.waitUntil(lambda: window.session.series.meta.symbol == "SHORT-USD", timeout=10_000)
    window.training.set_checked(["lightgbm"])
    with qtbot.waitSignal(window.forecasts.forecast_failed, timeout=90_000) as blocker:
        window.forecasts.start()
    message = blocker.args[0]
    assert message == "lightgbm: needs at least 169 training bars, got 40"
    assert "\n" not in shown[-1] and "169" in shown[-1]
    assert not window.training.cancel_button.isEnabled()


def test_forecast_progress_and_cancel(window, qtbot) -> None:
    tp = window.training
    tp.set_checked(["lightgbm"])
    tp.select_model("lightgbm")
    qtbot.waitUntil(lambda: tp.form("lightgbm") is not None, timeout=30_000)
    tp.form("lightgbm").set_values({"n_estimators": 5000, "learning_rate": 0.001})
    tp.forecast_bar.horizon.setValue(30)
    assert window.forecasts.start()
    assert tp.cancel_button.isEnabled() and "Forecasting" in tp.progress_label.text()
    assert tp.forecast_bar.forecast_button.text() == "Forecasting…"
    qtbot.waitUntil(lambda: "fitting" in tp.progress_label.text()
                    or "lightgbm" in tp.progress_label.text(), timeout=60_000)
    with qtbot.waitSignal(window.forecasts.slot.cancelled, timeout=30_000):
        tp.cancel_button.click()
    assert "cancelled" in window.status_label.text().lower()
    assert not tp.cancel_button.isEnabled() and tp.progress_label.text() != ""
    assert window.session.current is None or window.session.current.forecast is None


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_forecast_screenshot(window, qtbot, theme: str) -> None:
    window.resize(1280, 800)
    _forecast(window, qtbot, ["drift", "arima", "lightgbm"], horizon=14)
    window.apply_theme(theme)
    fc = window.session.current.forecast
    window.chart.crosshair.move_to(float(fc.paths[0].x[6]))
    qtbot.wait(200)
    image = window.grab().toImage()
    assert image.width() == 1280 and image.height() == 800
    _keep(image, f"forecast_overlay_{theme}.png")
