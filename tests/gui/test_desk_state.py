"""The desk as it was left: last series, ticked models, settings and the last run's results
come back after a restart; a hostile state file is ignored with one warning; walk-forward
settings follow the timeframe; error columns keep their digits at XRP's price scale."""

from __future__ import annotations

import logging
import math

import pytest
from PySide6.QtGui import QFontMetrics

from cryptodesk.app.desk_state import STATE_NAME, desk_folder
from cryptodesk.gui.table_models import RESULT_COLUMNS, fmt_error
from cryptodesk.paths import app_paths
from tests.gui.helpers import tiny_run

pytestmark = pytest.mark.gui


def _open(qtbot):
    from cryptodesk.gui.app import application, create_window, init_logging

    init_logging()
    win = create_window(application())
    qtbot.addWidget(win)
    win.resize(1440, 900)
    win.show()
    qtbot.waitUntil(lambda: win.data_panel.current is not None
                    and win.training.wf_form is not None, timeout=15_000)
    return win


def _show(window, qtbot, row: int) -> None:
    item = window.data_panel.tree.topLevelItem(row)
    with qtbot.waitSignal(window.data_panel.series_loaded, timeout=60_000):
        window.data_panel.tree.setCurrentItem(item)
        item.setSelected(True)


def test_state_is_restored_after_a_restart(window, qtbot) -> None:
    tp = window.training
    _show(window, qtbot, 1)  # the hourly demo series: not the default one
    hourly = window.session.key
    assert hourly.timeframe == "1h"
    tiny_run(window, ["lightgbm", "drift"], test_size=48, refit_every=24)
    tp.select_model("lightgbm")
    tp.form("lightgbm").set_values({"n_estimators": 12, "num_leaves": 7})
    tp.set_strategy(fee_bps=25.0)
    with qtbot.waitSignal(window.run_finished, timeout=120_000) as done:
        window.start_training()
    rows = {r["model"]: r for r in window.results.rows()}
    window.close()

    again = _open(qtbot)
    qtbot.waitUntil(lambda: again.session.key == hourly, timeout=15_000)
    assert set(again.training.checked()) == {"naive", "lightgbm", "drift"}
    assert again.training.spec().test_size == 48 and again.training.spec().refit_every == 24
    assert again.training.strategy().fee_bps == 25.0
    form = again.training.form("lightgbm")
    assert form.config().n_estimators == 12 and form.config().num_leaves == 7
    # the last run's results are back on their series, from its saved spec and report
    assert again.memory.restored_run
    current = again.session.current
    assert current.spec.to_dict() == done.args[0].spec.to_dict()
    restored = {r["model"]: r for r in again.results.rows()}
    for name in ("naive", "lightgbm", "drift"):
        assert restored[name]["status"] == "done"
        assert restored[name]["rmse"] == pytest.approx(rows[name]["rmse"])
    assert again.chart.overlays()  # the best model's forecasts are drawn again
    again.close()


def test_a_hostile_state_file_is_ignored_with_one_warning(qtbot, caplog) -> None:
    folder = desk_folder(app_paths().data)
    folder.mkdir(parents=True, exist_ok=True)
    for text in ('{"version": 1, "checked": "rm -rf /"}', "\x00\xff not json",
                 "[" * 5000, '{"version": 1, "series": ["a", "b"]}'):
        (folder / STATE_NAME).write_bytes(text.encode("latin-1"))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="cryptodesk.app.desk_state"):
            win = _open(qtbot)
        warnings = [r.getMessage() for r in caplog.records
                    if r.name == "cryptodesk.app.desk_state"]
        assert len(warnings) == 1 and "\n" not in warnings[0]
        assert warnings[0].startswith("ignoring the desk state")
        assert win.session.key is not None  # started as on a first run
        win.close()


def test_walk_forward_settings_follow_the_timeframe(window, qtbot) -> None:
    tp = window.training
    assert tp.spec().test_size == 365 and tp.spec().refit_every == 30
    _show(window, qtbot, 1)  # hourly: WF1 uses 720 test bars refitted every 168
    assert tp.spec().test_size == 720 and tp.spec().refit_every == 168
    _show(window, qtbot, 0)
    assert tp.spec().test_size == 365
    tp.set_spec(test_size=100)  # typed by the user: the pair stays as it is
    _show(window, qtbot, 1)
    assert tp.spec().test_size == 100 and tp.spec().refit_every == 30


def test_errors_keep_their_digits_at_xrp_prices(window) -> None:
    assert fmt_error(0.002345) == "0.00234" and fmt_error(1234.56) == "1,235"
    assert fmt_error(0.5678) == "0.568" and fmt_error(12.345) == "12.3"
    panel = window.results
    panel.set_row("lightgbm", status="done", mae=0.0023456, rmse=0.0031234)
    col = next(i for i, c in enumerate(RESULT_COLUMNS) if c[0] == "mae")
    index = panel.proxy.index(0, col)
    text = index.data()
    assert text == "0.00235"
    metrics = QFontMetrics(panel.view.font())
    assert metrics.horizontalAdvance(text) + 8 <= panel.view.columnWidth(col)  # not elided
    assert not math.isnan(float(text))
