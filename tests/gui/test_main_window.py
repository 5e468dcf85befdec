"""The desktop app end to end, offscreen: start-up, import, backtest, cancel, errors, themes."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from cryptodesk.data.schema import SeriesKey
from cryptodesk.data.store import CandleStore
from cryptodesk.paths import app_paths
from tests.gui.helpers import tiny_run

pytestmark = pytest.mark.gui

def _distinct_colours(image: QImage, step: int = 7) -> int:
    """How many distinct colours a sample grid of the image has (1 = blank)."""
    colours = set()
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            colours.add(image.pixel(x, y))
            if len(colours) > 200:
                return len(colours)
    return len(colours)


def test_window_opens_with_demo_series(window) -> None:
    loaded = window.data_panel.current
    assert loaded.meta.symbol == "DEMO/USD" and loaded.meta.synthetic
    assert window.data_panel.tree.topLevelItemCount() == 2  # demo 1d and 1h
    assert window.chart.price.pyramid is not None and len(window.chart.price.pyramid) == 3000
    assert "SYNTHETIC" in window.chart.title.text()
    assert "SYNTHETIC" in window.series_label.text()
    assert window.data_panel.table_model.rowCount() == 3000
    assert "gaps: none" in window.data_panel.quality.toPlainText()
    # the crosshair readout names the bar's time and prices
    x = float(loaded.pyramid.base.x[-1])
    text = window.chart.crosshair.text(x)
    assert "2025-12-31" in text and "C " in text and "V " in text  # price and volume rows
    assert {"naive", "drift", "lightgbm"} <= set(window.training.model_names())


def test_import_real_csv_through_panel(window, qtbot, shared_data: Path) -> None:
    path = shared_data / "hourly" / "ETH-USDT-1h.csv"
    with qtbot.waitSignal(window.data_panel.imported, timeout=30_000) as blocker:
        window.data_panel.import_csv(path)
    outcome = blocker.args[0]
    assert outcome.write.added == 26_279
    loaded = window.data_panel.current
    assert loaded.meta.symbol == "ETH-USDT" and loaded.meta.timeframe == "1h"
    assert len(loaded.report.gaps) == 1 and window.chart.price.gaps.count == 1  # missing hour
    assert "gaps: 1" in window.data_panel.quality.toPlainText()
    qtbot.waitUntil(lambda: window.data_panel.tree.topLevelItemCount() == 3, timeout=10_000)
    assert CandleStore().info(SeriesKey("csv", "ETH-USDT", "1h")).rows == 26_279


def test_end_to_end_backtest_fills_results(window, qtbot, tmp_path: Path) -> None:
    tiny_run(window, ["drift"], test_size=40)
    partials: list[int] = []
    window.runs.run_slot.events.connect(lambda batch: partials.append(len(batch)))
    with qtbot.waitSignal(window.run_finished, timeout=60_000) as blocker:
        window.start_training()
    outcome = blocker.args[0]
    rows = {r["model"]: r for r in window.results.rows()}
    assert set(rows) == {"naive", "drift", "buy & hold"}  # the trading benchmark row
    for name in ("naive", "drift"):
        assert rows[name]["status"] == "done" and rows[name]["n"] == 40
        assert np.isfinite(rows[name]["rmse"]) and np.isfinite(rows[name]["mae"])
    assert rows["naive"]["theils_u"] == pytest.approx(1.0)
    assert 0.0 <= rows["drift"]["dm_p_value"] <= 1.0
    # metrics are the core's
    assert rows["drift"]["rmse"] == pytest.approx(outcome.metrics()["drift"]["rmse"])
    assert partials, "forecasts arrive as events while the run goes on"
    # the best model is selected and its forecasts (with a band) are on the chart
    assert window.results.selected() == "drift"
    assert window.chart.price.forecast_points == 40 and window.chart.price.band_visible()
    window.results.select("naive")
    qtbot.waitUntil(lambda: window.chart.overlays() == ["naive"], timeout=2_000)
    # results sort by a numeric column
    window.results.view.sortByColumn(4, window.results.view.horizontalHeader().sortIndicatorOrder())
    # export writes the forecasts CSV, the JSON report and the run spec
    target = tmp_path / "fc.csv"
    with qtbot.waitSignal(window.runs.exported, timeout=10_000):
        window.runs.export(target)
    assert target.exists() and target.with_suffix(".json").exists()
    assert (tmp_path / "fc.spec.json").exists()
    assert "drift" in target.read_text()
    metrics = (tmp_path / "fc.metrics.csv").read_text().splitlines()
    assert metrics[0].startswith("model,n,mae,rmse") and len(metrics) == 3  # naive, drift


def test_cancel_mid_run(window, qtbot) -> None:
    window.training.set_checked(["lightgbm"])
    window.training.select_model("lightgbm")
    qtbot.waitUntil(lambda: window.training.form("lightgbm") is not None, timeout=20_000)
    window.training.form("lightgbm").set_values({"n_estimators": 20, "quantiles": False})
    window.training.set_spec(test_size=300, refit_every=1)  # slow: refit at every origin
    window.start_training()
    qtbot.waitUntil(
        lambda: window.results.model.row_values("lightgbm").get("status") == "running",
        timeout=60_000,
    )
    import time

    with qtbot.waitSignal(window.run_cancelled, timeout=30_000) as blocker:
        started = time.monotonic()
        window.cancel_all()
    took = time.monotonic() - started
    assert blocker.args == [""]  # stopped at a boosting round: no termination needed
    assert took < 1.0, f"cancel took {took:.2f} s"
    rows = {r["model"]: r["status"] for r in window.results.rows()}
    assert rows == {"naive": "done", "lightgbm": "cancelled"}
    assert not window.runs.running
    # the app stays usable: a new run goes through
    tiny_run(window, ["drift"], test_size=20)
    with qtbot.waitSignal(window.run_finished, timeout=60_000):
        window.start_training()


def test_superseded_run_results_are_dropped(window, qtbot) -> None:
    tiny_run(window, ["drift"], test_size=30)
    finished: list[object] = []
    window.run_finished.connect(finished.append)
    window.start_training()
    tiny_run(window, ["drift"], test_size=25)
    with qtbot.waitSignal(window.run_finished, timeout=60_000):
        window.start_training()  # restarts: the first run is cancelled and dropped
    qtbot.wait(200)
    assert len(finished) == 1
    assert window.results.model.row_values("drift")["n"] == 25


def test_malformed_csv_shows_error_and_store_unchanged(window, qtbot, tmp_path: Path,
                                                       caplog) -> None:
    bad = tmp_path / "broken.csv"
    bad.write_text("this,is,not\na,candle,file\n", encoding="utf-8")
    before = [(i.key, i.rows) for i in CandleStore().list()]
    with qtbot.waitSignal(window.error_shown, timeout=15_000) as blocker:
        window.data_panel.import_csv(bad, "BROKEN")
    assert "broken.csv" in blocker.args[0]
    box = window.last_error
    assert box is not None and box.isVisible() and "broken.csv" in box.text()
    assert box.detailedText()  # expandable details
    assert [(i.key, i.rows) for i in CandleStore().list()] == before
    logging.getLogger().handlers[0].flush() if logging.getLogger().handlers else None
    assert "broken.csv" in app_paths().log_file.read_text(encoding="utf-8")
    box.close()
    # still usable: the demo series is still shown
    assert window.data_panel.current.meta.symbol == "DEMO/USD"


def test_unexpected_job_exception_shows_dialog(window, qtbot) -> None:
    def boom(ctx):
        raise RuntimeError("kaboom")

    window.data_panel._start(boom, "Test job", lambda _r: None)
    with qtbot.waitSignal(window.error_shown, timeout=10_000):
        pass
    assert "kaboom" in window.last_error.text()
    assert "Traceback" in window.last_error.detailedText()
    assert "kaboom" in app_paths().log_file.read_text(encoding="utf-8")


def test_shortcuts_about_and_layout_restore(window, qtbot) -> None:
    shortcuts = {a.shortcut().toString() for a in window.actions()}
    assert {"Ctrl+O", "Ctrl+R", "Esc", "Ctrl+E", "Ctrl+Q"} <= shortcuts
    box = window.show_about()
    text = box.text()
    for name in ("CryptoDesk", "Qt", "PyTorch", "LightGBM", "ccxt"):
        assert name in text
    box.close()
    window.resize(700, 520)  # inside the offscreen screen (800x600): restore clamps to it
    size = (window.width(), window.height())
    window.docks.results.hide()
    window.close()
    from cryptodesk.gui.app import create_window

    again = create_window()
    qtbot.addWidget(again)
    assert not again.docks.results.isVisibleTo(again) or again.docks.results.isHidden()
    # the offscreen screen is 800x600 and restoreGeometry keeps windows on screen: compare the
    # height, which fits
    assert again.height() == size[1]
    again.close()


def test_keyboard_zoom_and_pan(window, qtbot) -> None:
    from PySide6.QtCore import Qt

    chart = window.chart
    lo, hi = chart.x_range()
    qtbot.keyClick(chart.glw, Qt.Key.Key_Up)
    lo2, hi2 = chart.x_range()
    assert hi2 - lo2 < hi - lo
    qtbot.keyClick(chart.glw, Qt.Key.Key_Left)
    lo3, _ = chart.x_range()
    assert lo3 < lo2
    qtbot.keyClick(chart.glw, Qt.Key.Key_Home)
    lo4, hi4 = chart.x_range()
    assert hi4 - lo4 > hi - lo


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshots_not_blank(window, qtbot, theme: str, tmp_path: Path) -> None:
    tiny_run(window, ["drift"], test_size=60)
    with qtbot.waitSignal(window.run_finished, timeout=60_000):
        window.start_training()
    window.apply_theme(theme)
    from cryptodesk.settings import load_settings

    assert load_settings(app_paths().settings_file)[0].theme == theme  # kept for the next start
    qtbot.wait(150)
    image = window.grab().toImage()
    out = tmp_path / f"main_window_{theme}.png"
    assert image.save(str(out))
    assert image.width() >= 1200 and _distinct_colours(image) > 20
    # the chart area alone is not blank either
    assert _distinct_colours(window.chart.grab().toImage()) > 10
    if os.environ.get("CRYPTODESK_SCREENSHOT_DIR"):  # keep them for a look
        keep = Path(os.environ["CRYPTODESK_SCREENSHOT_DIR"])
        keep.mkdir(parents=True, exist_ok=True)
        image.save(str(keep / f"main_window_{theme}.png"))


@pytest.mark.slow  # imports torch (seconds; far more on a busy machine)
def test_lstm_loss_curve_drawn_live(window, qtbot) -> None:
    window.training.set_checked(["lstm"])
    window.training.select_model("lstm")
    qtbot.waitUntil(lambda: window.training.form("lstm") is not None, timeout=60_000)
    window.training.form("lstm").set_values(
        {"lookback": 8, "max_epochs": 3, "patience": 0, "batch_size": 128})
    window.training.set_spec(test_size=5, refit_every=0)
    with qtbot.waitSignal(window.run_finished, timeout=120_000):
        window.start_training()
    loss = window.session.current.models["lstm"].losses
    assert loss.epochs == [1.0, 2.0, 3.0] and all(np.isfinite(loss.train))
    window.results.select("lstm")
    qtbot.waitUntil(lambda: window.loss_chart.train.xData is not None
                    and len(window.loss_chart.train.xData) == 3, timeout=5_000)
    assert window.results.model.row_values("lstm")["status"] == "done"


def test_startup_imports_no_heavy_library(tmp_path: Path) -> None:
    """torch, LightGBM and ccxt are imported only by the jobs that need them."""
    child = (
        "import sys\n"
        "from cryptodesk.gui import app\n"
        "q = app.application()\n"
        "w = app.create_window(q)\n"
        "print(sorted(m for m in ('pandas', 'pyarrow') if m in sys.modules))\n"
        "w.show()\n"
        "q.processEvents()\n"
        "print(sorted(m for m in ('torch', 'lightgbm', 'ccxt', 'statsmodels') if m in sys.modules))\n"
        "w.close()\n"
    )
    env = dict(os.environ, CRYPTODESK_HOME=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert lines[-2] == "[]"  # the window is built before pandas loads (in the first job)
    assert lines[-1] == "[]"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Qt deprecates the QPoint ctor
def test_drop_csv_on_window_imports_it(window, qtbot, shared_data: Path) -> None:
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(shared_data / "daily" / "XRP-USD.csv"))])
    pos = QPointF(200, 200)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.data_panel.imported, timeout=30_000):
        window.dropEvent(drop)
    assert window.data_panel.current.meta.symbol == "XRP-USD"
    assert len(window.data_panel.current.frame) == 2063


def test_closing_during_training_cancels_cleanly(qtbot) -> None:
    from cryptodesk.gui.app import application, create_window

    win = create_window(application())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.data_panel.current is not None
                    and win.training.wf_form is not None, timeout=15_000)
    win.training.set_checked(["lightgbm"])
    win.training.set_spec(test_size=300, refit_every=1)
    win.start_training()
    qtbot.waitUntil(lambda: win.results.model.row_values("naive").get("status") == "done",
                    timeout=30_000)
    assert win.runs.running
    pid = win.runs.run_slot.relay.worker_pid
    assert pid is not None
    win.close()  # cancels, waits for the relay thread and stops the worker process
    assert not win.runs.running and win.compute.workers() == []
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
