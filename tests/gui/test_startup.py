"""First run and start-up: welcome panel, window fitting the screen, icon, lazy libraries with a
visible loading state, and the smoke-exit switch used by the packaging script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cryptodesk.paths import app_paths

pytestmark = pytest.mark.gui
REPO = Path(__file__).resolve().parents[2]


def test_welcome_on_first_start_dismissed_for_good(window, qtbot) -> None:
    panel = window.welcome
    assert panel is not None and panel.isVisible()
    text = panel.text.text()
    assert "SYNTHETIC" in text and "Import CSV" in text
    for folder in (app_paths().candles, app_paths().models, app_paths().config):
        assert str(folder) in text
    panel.close()  # closed without ticking: shown again next time
    assert not window.welcome_dismissed()
    window.show_welcome()
    assert panel.isVisible()
    panel.dont_show.setChecked(True)
    panel.close()
    assert window.welcome_dismissed()
    window.close()

    from cryptodesk.gui.app import create_window

    again = create_window(start=False)
    qtbot.addWidget(again)
    again.start()
    assert again.welcome is None  # never shown again
    again.menu_actions.welcome.trigger()  # Help ▸ Welcome re-opens it
    assert again.welcome is not None and again.welcome.isVisible()
    assert again.welcome.dont_show.isChecked()
    again.close()
    assert again.menu_actions.welcome in again.menuBar().actions()[-1].menu().actions()


def test_first_start_fits_screen_and_has_icon(qtbot) -> None:
    from cryptodesk.gui.app import application, create_window

    app = application()
    win = create_window(app, start=False)
    qtbot.addWidget(win)
    avail = win.screen().availableGeometry()  # offscreen: 800 x 600
    assert win.width() <= avail.width() and win.height() <= avail.height()
    icon = app.windowIcon()
    assert not icon.isNull()
    for size in (16, 64, 256):  # the SVG scales; the PNGs back it up
        assert icon.pixmap(size, size).width() == size
    assert not win.windowIcon().isNull()
    win.close()


def test_model_form_at_once_and_library_warmed_up_in_a_worker(window, qtbot) -> None:
    """Picking a model draws its form at once (its light config class: no model library in
    this process); ticking it warms its library up in a worker, with a visible loading state
    meanwhile, so the run does not wait for the import."""
    from cryptodesk.models.registry import model_entry

    assert model_entry("lstm").library == "PyTorch"
    assert model_entry("lightgbm").library == "LightGBM" and model_entry("naive").library == ""
    tp = window.training
    with qtbot.waitSignal(tp.form_ready, timeout=1_000,
                          check_params_cb=lambda name: name == "lightgbm"):
        tp.select_model("lightgbm")
    assert tp.stack.currentWidget() is tp.form("lightgbm")
    assert "LightGBM" in tp.model_title.text()
    texts: list[str] = []
    window.runs.library_loading.connect(texts.append)
    with qtbot.waitSignal(window.runs.warm_slot.finished, timeout=60_000) as blocker:
        tp.set_checked(["lightgbm"])
        assert window.library_label.isVisibleTo(window)
        assert window.library_label.text() == "Loading LightGBM…"
    assert blocker.args[0] == ["lightgbm"]  # imported in the worker
    assert texts == ["Loading LightGBM…", ""]
    assert not window.library_label.isVisibleTo(window)
    assert "LightGBM" in window.compute.loaded_libraries
    tp.set_checked(["drift", "lightgbm"])  # warmed already: no second warm-up
    assert not window.runs.warm_slot.busy


def test_smoke_exit_closes_cleanly(tmp_path: Path) -> None:
    """``CRYPTODESK_SMOKE_EXIT_MS``: window shown, then closed with exit code 0."""
    env = dict(os.environ, CRYPTODESK_HOME=str(tmp_path), QT_QPA_PLATFORM="offscreen",
               CRYPTODESK_SMOKE_EXIT_MS="300")
    out = subprocess.run([sys.executable, "-m", "cryptodesk", "gui"], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    log = (tmp_path / "log" / "cryptodesk.log").read_text(encoding="utf-8")
    assert "window shown" in log and "closing after 300 ms" in log
    assert (tmp_path / "config" / "window.ini").exists()  # closed through closeEvent
