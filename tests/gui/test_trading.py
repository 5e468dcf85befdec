"""Trading view of a run: equity and drawdown under the price chart, trading metrics and
buy-and-hold in the results table, regime shading toggle, degradation badges."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.helpers import tiny_run

pytestmark = pytest.mark.gui


def test_equity_drawdown_metrics_regimes_after_run(window, qtbot) -> None:
    chart = window.chart
    assert not chart.equity.shown  # nothing before a run
    assert not chart.regime_toggle.isEnabled()
    tiny_run(window, ["drift"], test_size=60)
    with qtbot.waitSignal(window.run_finished, timeout=60_000) as blocker:
        window.start_training()
    tv = blocker.args[0].signals
    assert tv is not None and "fee 10 + slippage 5 bps" in tv.strategy
    # trading metrics beside the forecast metrics, buy-and-hold as a benchmark row
    rows = {r["model"]: r for r in window.results.rows()}
    bh = rows["buy & hold"]
    assert bh["status"] == "benchmark"
    assert bh["total_return"] == pytest.approx(tv.metrics["buy&hold"]["total_return"] * 100)
    drift = rows["drift"]
    assert drift["sharpe"] == pytest.approx(tv.metrics["drift"]["sharpe"])
    assert drift["max_drawdown"] <= 0 and np.isfinite(drift["total_return"])
    assert drift["health"] in ("ok", "degraded — retrain suggested")
    assert not window.results.savable("buy & hold")
    # equity and drawdown rows under the price chart, sharing its time axis
    shown = [row.name for row in chart.shown_rows()]
    assert shown[:3] == ["price", "volume", "residual"]
    assert "equity" in shown and "drawdown" in shown and shown[-1] == "drawdown"
    assert len(chart.equity.curve.xData) == 60 and len(chart.equity.bench.xData) == 60
    assert chart.equity.view_box.linkedView(0) is chart.price.view_box
    assert np.all(chart.drawdown.curve.yData <= 0)
    # the crosshair's readout asks every shown row, equity and drawdown included
    text = chart.crosshair.text(float(chart.equity.curve.xData[-1]))
    assert "equity " in text and "DD " in text and "b&amp;h" in text
    window.results.select("buy & hold")
    qtbot.waitUntil(lambda: chart.equity.bench.xData is None
                    or len(chart.equity.bench.xData) == 0, timeout=2_000)
    # regime shading toggles from the chart and from the View menu
    regimes, action = chart.price.regimes, window.menu_actions.regimes
    assert chart.regime_toggle.isEnabled() and regimes.count > 0 and action.isEnabled()
    assert not regimes.isVisible()
    action.trigger()
    assert chart.regime_toggle.isChecked() and regimes.isVisible()
    chart.regime_toggle.setChecked(False)
    assert not action.isChecked() and not regimes.isVisible()
    # another series: the run's trading view no longer applies
    other = window.data_panel.tree.topLevelItem(1)
    with qtbot.waitSignal(window.data_panel.series_loaded, timeout=30_000):
        window.data_panel.tree.setCurrentItem(other)
        other.setSelected(True)
    assert not chart.equity.shown and not chart.regime_toggle.isEnabled()
    assert window.results.rows() == []  # that series has no results
    # and back on the run's series: its trading view again
    first = window.data_panel.tree.topLevelItem(0)
    with qtbot.waitSignal(window.data_panel.series_loaded, timeout=30_000):
        window.data_panel.tree.setCurrentItem(first)
        first.setSelected(True)
    assert chart.equity.shown and chart.regime_toggle.isEnabled()
    assert {r["model"] for r in window.results.rows()} == {"naive", "drift", "buy & hold"}


def test_degraded_badge_in_results_table(window) -> None:
    model = window.results.model
    window.results.set_row("lightgbm", status="done", health="degraded — retrain suggested",
                           health_reasons=["rolling Theil's U above 1 for the last 20 forecasts"])
    window.results.set_row("drift", status="done", health="ok")
    col = [c[0] for c in model_columns()].index("health")
    bad = model.index(model.row_of("lightgbm"), col)
    good = model.index(model.row_of("drift"), col)
    assert model.data(bad) == "degraded — retrain suggested"
    assert model.data(bad, Qt.ItemDataRole.ForegroundRole) == model.degraded
    assert "Theil" in model.data(bad, Qt.ItemDataRole.ToolTipRole)
    assert model.data(good, Qt.ItemDataRole.ForegroundRole) is None


def model_columns():
    from cryptodesk.gui.table_models import RESULT_COLUMNS

    return RESULT_COLUMNS
