"""The desk fits a 1280×800 screen (and 1920×1080): no sideways scrolling in the training panel
or the results table, the walk-forward settings stay in sight whatever model is ticked, and the
Train and Cancel buttons do not move."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication, QScrollArea

from cryptodesk.gui.window_layout import size_docks

pytestmark = pytest.mark.gui


def _settle(qtbot) -> None:
    for _ in range(5):
        QApplication.processEvents()
    qtbot.wait(50)


def _in_sight(widget, panel) -> bool:
    """``widget`` is shown and lies wholly inside ``panel``'s rectangle."""
    top_left = widget.mapTo(panel, QPoint(0, 0))
    return (widget.isVisible() and top_left.y() >= 0 and top_left.x() >= 0
            and top_left.y() + widget.height() <= panel.height()
            and top_left.x() + widget.width() <= panel.width())


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_training_panel_fits_without_sideways_scrolling(window, qtbot, size) -> None:
    width, height = size
    window.resize(width, height)
    size_docks(window, window.docks, width, height)
    _settle(qtbot)
    tp = window.training
    scroll = tp.findChild(QScrollArea)
    train_at = tp.train_button.mapTo(window, QPoint(0, 0))
    for ticked, shown in ((["lightgbm"], "lightgbm"), (["lightgbm", "lstm"], "lstm"),
                          (["transformer"], "transformer"), (["arima"], "arima")):
        tp.set_checked(ticked)
        tp.select_model(shown)
        qtbot.waitUntil(lambda s=shown: tp.form(s) is not None, timeout=10_000)
        _settle(qtbot)
        inner = scroll.widget()
        assert scroll.horizontalScrollBar().maximum() == 0
        # nothing is cut on the right: the content fits the viewport at its minimum width
        assert inner.minimumSizeHint().width() <= scroll.viewport().width(), shown
        assert inner.width() <= scroll.viewport().width()
        assert _in_sight(tp.wf_strip, tp), f"walk-forward settings out of sight with {shown}"
        assert tp.wf_strip.line.text().startswith("test ")
        assert tp.train_button.mapTo(window, QPoint(0, 0)) == train_at, "the buttons moved"
    tp.wf_strip.toggle.click()  # the form folds out; the buttons stay where they were
    _settle(qtbot)
    assert _in_sight(tp.wf_form, tp) and tp.wf_form.isVisible()
    assert tp.train_button.mapTo(window, QPoint(0, 0)) == train_at
    tp.set_spec(test_size=720, refit_every=168)
    assert "test 720 bars · refit every 168" in tp.wf_strip.line.text()
    assert window.results.view.horizontalScrollBar().maximum() == 0
