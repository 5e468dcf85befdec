"""Charts by composition: each row draws, clears, themes itself and answers the crosshair; a new
row is one class and one ``add_row``."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from cryptodesk.gui.charts.chart_area import ROWS
from cryptodesk.gui.charts.chart_widget import ChartWidget
from cryptodesk.gui.charts.levels import build_pyramid
from cryptodesk.gui.charts.price_row import Overlay
from cryptodesk.gui.charts.row import ChartRow, curve, fmt_compact, value_at
from cryptodesk.gui.theme import DARK, LIGHT

pytestmark = pytest.mark.gui
DAY = 86_400.0
N = 50
X = 1_700_006_400.0 + DAY * np.arange(N)


def _pyramid():
    close = 100.0 + np.arange(N, dtype=float)
    return build_pyramid(X, close - 0.5, close + 2.0, close - 2.0, close, 1500.0 + 0 * close, DAY)


@pytest.fixture
def chart(qtbot) -> ChartWidget:
    widget = ChartWidget()
    qtbot.addWidget(widget)
    for row_cls in ROWS:  # the desk's rows, without the session
        widget.add_row(row_cls)
    widget.resize(1000, 700)
    widget.show()
    return widget


def _names(chart: ChartWidget) -> list[str]:
    return [r.name for r in chart.shown_rows()]


def test_rows_show_when_they_have_data_and_share_the_time_axis(chart: ChartWidget) -> None:
    assert _names(chart) == ["price", "volume", "residual"]  # the rows always shown
    price = chart.row("price")
    price.plot(_pyramid())
    chart.row("volume").plot(_pyramid())
    chart.row("equity").plot("drift", X, np.linspace(1, 1.2, N), (X, np.ones(N)), "sign")
    chart.row("drawdown").plot(X, -np.linspace(0, 0.1, N))
    assert _names(chart) == ["price", "volume", "residual", "equity", "drawdown"]
    for row in chart.shown_rows()[1:]:
        assert row.view_box.linkedView(0) is price.view_box
    # only the last shown row labels the time axis
    shown = chart.shown_rows()
    assert [r.plot_item.getAxis("bottom").style["showValues"] for r in shown] == \
        [False] * (len(shown) - 1) + [True]
    chart.row("equity").clear()
    chart.row("drawdown").clear()
    assert _names(chart) == ["price", "volume", "residual"]
    chart.show_all()
    lo, hi = chart.x_range()
    assert lo <= X[0] and hi >= X[-1]


def test_every_row_answers_the_crosshair(chart: ChartWidget) -> None:
    price = chart.row("price")
    price.plot(_pyramid())
    chart.row("volume").plot(_pyramid())
    point = 100.0 + np.arange(N) + 1.0
    price.plot_forecasts([Overlay("lstm", X, point, point - 3, point + 3),
                          Overlay("gru", X, point + 1)])
    chart.row("residual").plot(X, -np.ones(N), "lstm")
    chart.row("equity").plot("lstm", X, np.full(N, 1.25), (X, np.full(N, 1.1)))
    chart.row("drawdown").plot(X, np.full(N, -0.05))
    chart.row("sentiment").plot({"sent_x_score": (X, np.full(N, 0.25))})
    chart.row("volatility").plot(X, np.full(N, 0.02), np.full(N, 0.03))
    text = chart.crosshair.text(X[10] + DAY / 3)  # inside the bar: snaps to its start
    for part in ("2023-11-25", "C 110.0000", "V 1.5K", "lstm 111.0000 [108.0000 – 114.0000]",
                 "gru 112.0000", "resid lstm -1", "equity 1.250", "b&amp;h 1.100", "DD -5.0 %",
                 "sent_x_score 0.250", "vol 2.0000 %", "vol forecast 3.0000 %"):
        assert part in text, part
    assert price.forecast_points == N and price.band_visible(0) and not price.band_visible(1)
    assert [label.text for _sample, label in price.legend.items] == \
        ["lstm forecast", "gru forecast", "10–90 % band"]
    chart.crosshair.move_to(X[5], price, 105.0)
    assert chart.readout.text() == chart.crosshair.text(X[5])
    assert chart.crosshair.hline.isVisible()


def test_rows_take_the_theme(chart: ChartWidget) -> None:
    equity = chart.row("equity")
    equity.plot("x", X, np.ones(N))
    chart.apply_theme(DARK)
    assert equity.curve.opts["pen"].color().name() == DARK.equity
    assert chart.row("price").plot_item.getAxis("left").pen().color().name() == DARK.chart_fg
    chart.apply_theme(LIGHT)
    assert equity.curve.opts["pen"].color().name() == LIGHT.equity


def test_future_path_starts_at_the_last_close(chart: ChartWidget) -> None:
    price = chart.row("price")
    price.plot(_pyramid())
    fx = X[-1] + DAY * np.arange(1, 4)
    price.plot_future("saved", fx, np.array([150.0, 151.0, 152.0]), np.full(3, 140.0),
                      np.full(3, 160.0))
    assert price.future_points == 3
    assert price.future.line.yData[0] == 149.0 and price.future.fill.isVisible()
    price.plot(None)  # a new series clears the overlays
    assert price.future_points == 0 and not price.has_data


class MarkerRow(ChartRow):
    """A new row: one class…"""

    name = "marker"
    title = "Marker"
    stretch = 1.0

    def __init__(self) -> None:
        super().__init__()
        self.line = curve()
        self.plot_item.addItem(self.line)

    @property
    def has_data(self) -> bool:
        return self.line.xData is not None and len(self.line.xData) > 0

    def plot(self, x: np.ndarray, y: np.ndarray) -> None:
        self.line.setData(x, y)
        self._data_changed()

    def clear(self) -> None:
        self.plot(np.array([]), np.array([]))

    def info_text(self, x: float) -> str:
        value = value_at(self.line.xData, self.line.yData, x)
        return "" if value is None else f"marker {fmt_compact(value)}"

    def apply_theme(self, theme) -> None:
        super().apply_theme(theme)
        self.line.setPen(pg.mkPen(theme.forecast))


def test_a_new_row_is_one_class_and_one_line(chart: ChartWidget) -> None:
    chart.row("price").plot(_pyramid())
    row = chart.add_row(MarkerRow)  # …and one line
    assert "marker" not in _names(chart)
    row.plot(X, np.full(N, 2_500_000.0))
    assert _names(chart)[-1] == "marker"
    assert row.view_box.linkedView(0) is chart.row("price").view_box
    assert "marker 2.5M" in chart.crosshair.text(X[3])
    with pytest.raises(ValueError, match="already"):
        chart.add_row(MarkerRow)
