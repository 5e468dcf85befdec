"""Model library panel: save a results row as a bundle, list, details, Forecast now, rename,
export/import zip, delete with confirmation, damaged bundles; chart export as PNG/SVG."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from cryptodesk.paths import app_paths
from tests.gui.helpers import tiny_run

pytestmark = pytest.mark.gui


def _listed(window, qtbot, action, timeout: int = 30_000):
    with qtbot.waitSignal(window.library.listed, timeout=timeout) as blocker:
        action()
    return blocker.args[0]


def test_save_forecast_rename_export_delete_import(window, qtbot, tmp_path: Path,
                                                   monkeypatch) -> None:
    lib = window.library
    qtbot.waitUntil(lambda: not lib.runner.busy, timeout=10_000)
    assert lib.tree.topLevelItemCount() == 0
    tiny_run(window, ["drift"], test_size=30)
    with qtbot.waitSignal(window.run_finished, timeout=60_000) as run:
        window.start_training()
    window.results.select("drift")
    assert window.results.save_button.isEnabled()
    with qtbot.waitSignal(lib.listed, timeout=60_000):
        window.results.save_button.click()
    assert len(lib.bundles) == 1
    info = lib.bundles[0]
    assert info.ok and info.kind == "drift" and info.symbol == "DEMO/USD"
    assert info.metrics["rmse"] == pytest.approx(run.args[0].metrics()["drift"]["rmse"])
    item = lib.tree.topLevelItem(0)
    assert item.text(1) == "drift" and item.text(5) != "—" and item.text(6) != "—"
    assert lib.selected_id() == info.id
    assert "Out-of-sample metrics" in lib.details.toPlainText()

    # Forecast now: the path and its band after the last bar, and a table of it
    lib.horizon.setValue(7)
    with qtbot.waitSignal(lib.forecast_ready, timeout=30_000) as blocker:
        lib.forecast_button.click()
    fc = blocker.args[0]
    assert window.chart.price.future_points == 7 and lib.forecast_table.rowCount() == 7
    last = window.data_panel.current.pyramid.base.x[-1]
    assert np.all(fc.x > last)
    assert window.chart.future_band_visible() == (fc.lower is not None)
    assert window.session.current.future is fc  # the session holds it for this series

    # rename
    listing = _listed(window, qtbot, lambda: lib.rename(info.id, "my drift"))
    assert listing.bundles[0].label == "my drift" and lib.tree.topLevelItem(0).text(0) == "my drift"

    # export as zip through the (patched) file dialog
    target = tmp_path / "drift.zip"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    _listed(window, qtbot, lambda: lib.export_button.click())
    assert target.exists() and target.stat().st_size > 0

    # delete asks first: Cancel keeps it, Yes deletes
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Cancel)
    assert lib.confirm_delete(info.id) is False
    assert len(lib.bundles) == 1
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    listing = _listed(window, qtbot, lambda: lib.delete_button.click())
    assert listing.bundles == [] and lib.tree.topLevelItemCount() == 0

    # import the zip back
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(target), ""))
    listing = _listed(window, qtbot, window.menu_actions.import_model.trigger)
    assert [b.label for b in listing.bundles] == ["my drift"]


def test_damaged_bundle_listed_with_error(window, qtbot) -> None:
    bad = app_paths().models / "lightgbm-BROKEN-1d-x"
    bad.mkdir(parents=True)
    (bad / "manifest.json").write_text("{not json", encoding="utf-8")
    lib = window.library
    qtbot.waitUntil(lambda: not lib.runner.busy, timeout=10_000)
    _listed(window, qtbot, lib.refresh)
    assert len(lib.bundles) == 1 and lib.bundles[0].error
    lib.select(bad.name)
    item = lib.tree.topLevelItem(0)
    assert item.text(1) == "damaged" and "not valid JSON" in item.toolTip(0)
    assert "DAMAGED" in lib.details.toPlainText()
    assert not lib.forecast_button.isEnabled() and lib.delete_button.isEnabled()
    json.dumps([b.id for b in lib.bundles])


def test_charts_export_png_and_svg(window, qtbot, tmp_path: Path, monkeypatch) -> None:
    import xml.dom.minidom

    from PySide6.QtCore import QPointF, Qt

    from cryptodesk.gui.charts.export import export_item

    png = export_item(window.chart.glw.ci, tmp_path / "chart.png")
    assert png.stat().st_size > 2_000
    for item, name in ((window.chart.glw.ci, "chart.svg"),
                       (window.loss_chart.getPlotItem(), "loss.svg")):
        svg = export_item(item, tmp_path / name)  # Qt 6's "Z" path tokens are handled
        doc = xml.dom.minidom.parse(str(svg))
        assert doc.documentElement.tagName == "svg" and doc.getElementsByTagName("path")
    # File ▸ Export chart… (patched dialog) writes the chosen format
    target = tmp_path / "via-menu.svg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.menu_actions.export_chart.trigger()
    assert target.exists() and "Chart saved" in window.status_label.text()

    # a right click (no drag) on the chart opens the export menu
    class Click:
        def button(self):
            return Qt.MouseButton.RightButton

        def screenPos(self):
            return QPointF(100, 100)

        def scenePos(self):
            return QPointF(300, 200)

    window.chart.export_click(Click())
    menu = window.chart.glw._export_menu
    texts = [a.text() for a in menu.actions()]
    assert texts[-2:] == ["Export chart as PNG…", "Export chart as SVG…"]
    assert "Reset zoom (Home)" in texts and "Copy values at cursor" in texts
    menu.close()


def test_direct_model_forecast_capped_at_its_horizon(window, qtbot) -> None:
    """A LightGBM bundle (direct, fitted for 1 bar ahead) asked for 5 bars forecasts 1 and
    says why, instead of failing."""
    tp, lib = window.training, window.library
    tiny_run(window, ["lightgbm"], test_size=20)
    tp.select_model("lightgbm")
    qtbot.waitUntil(lambda: tp.form("lightgbm") is not None, timeout=30_000)
    tp.form("lightgbm").set_values({"n_estimators": 10})
    with qtbot.waitSignal(window.run_finished, timeout=90_000):
        window.start_training()
    with qtbot.waitSignal(lib.listed, timeout=60_000):
        assert window.runs.save_model("lightgbm", label="gbm")
    info = lib.bundles[0]
    assert info.label == "gbm" and info.manifest["target"]["horizon"] == 1
    assert info.manifest["model"]["config"]["n_estimators"] == 10  # the run's config
    lib.horizon.setValue(5)
    # as on a first use of LightGBM by the workers: the status bar says it is loading
    window.compute.loaded_libraries.discard("LightGBM")
    with qtbot.waitSignal(lib.forecast_ready, timeout=30_000) as blocker:
        lib.forecast(info.id)
        assert window.library_label.text() == "Loading LightGBM…"
        assert window.library_label.isVisibleTo(window)
    qtbot.waitUntil(lambda: not window.library_label.isVisibleTo(window), timeout=5_000)
    assert len(blocker.args[0].table) == 1 and lib.forecast_table.rowCount() == 1
    assert "showing 1 step" in lib.message.text()
    assert "--horizon 5" in lib.message.text()  # the command that trains one for 5 steps
    assert window.chart.price.future_points == 1 and window.chart.future_band_visible()
