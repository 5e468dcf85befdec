"""The chart as a trader uses it: log scale, time labels with context, K/M/B volumes that are
never clipped, legends that can go, the right-click menu, titled exports, residuals of two
models, the band at every zoom level, a readout of every series."""

from __future__ import annotations

import xml.dom.minidom

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QImage
from PySide6.QtWidgets import QApplication

from cryptodesk.gui.charts.axes import CompactAxis, ContextDateAxis, context_labels
from cryptodesk.gui.charts.chart_area import ROWS
from cryptodesk.gui.charts.chart_menu import build_menu
from cryptodesk.gui.charts.chart_widget import ChartWidget
from cryptodesk.gui.charts.levels import build_pyramid
from cryptodesk.gui.charts.price_row import Overlay
from cryptodesk.gui.charts.titled_export import header_height

pytestmark = pytest.mark.gui
DAY, HOUR = 86_400.0, 3_600.0


def _series(n: int, step: float, growth: float = 0.0):
    rng = np.random.default_rng(3)
    close = 100.0 * np.exp(np.cumsum(rng.normal(growth, 0.02, n)))
    open_ = np.r_[close[0], close[:-1]]
    high, low = np.maximum(open_, close) * 1.01, np.minimum(open_, close) * 0.99
    volume = np.abs(rng.normal(3e9, 5e8, n))
    x = 1_400_000_000.0 - 1_400_000_000.0 % DAY + step * np.arange(n)
    return x, close, build_pyramid(x, open_, high, low, close, volume, step)


@pytest.fixture
def chart(qtbot) -> ChartWidget:
    widget = ChartWidget()
    qtbot.addWidget(widget)
    for row_cls in ROWS:
        widget.add_row(row_cls)
    widget.resize(1280, 800)
    widget.show()
    return widget


def _paint(qtbot, chart: ChartWidget) -> None:
    QApplication.processEvents()
    chart.glw.viewport().repaint()
    QApplication.processEvents()


def test_log_scale_by_button_key_and_menu_keeps_the_time_range(chart, qtbot) -> None:
    _x, close, pyr = _series(3000, DAY, growth=0.003)  # ~ x8000: linear squashes the start
    chart.row("price").plot(pyr)
    chart.show_all()
    _paint(qtbot, chart)
    span = chart.x_range()
    chart.log_button.click()
    _paint(qtbot, chart)
    price = chart.row("price")
    assert chart.log_scale and price.plot_item.ctrl.logYCheck.isChecked()
    assert chart.log_button.font().bold()  # visibly on, in either theme
    lo, hi = price.view_box.viewRange()[1]
    # the view is in log10 units now, covering the whole history's lows and highs
    assert lo <= np.log10(close.min()) and hi >= np.log10(close.max()) and hi - lo < 6
    assert chart.x_range() == pytest.approx(span)
    # the axis writes prices, not exponents
    labels = price.plot_item.getAxis("left").logTickStrings([2.0, 3.0, 4.0], 1.0, 1.0)
    assert labels == ["100", "1K", "10K"]
    qtbot.keyClick(chart.glw, Qt.Key.Key_L)  # the key toggles it back
    assert not chart.log_scale and not price.plot_item.ctrl.logYCheck.isChecked()
    menu = build_menu(chart, None)
    log = next(a for a in menu.actions() if a.text().startswith("Log price scale"))
    log.trigger()
    assert chart.log_scale and chart.log_button.isChecked()


def test_time_labels_carry_month_and_year() -> None:
    hours = [1_717_192_800.0 + HOUR * 6 * i for i in range(6)]  # 2024-05-31 22:00, every 6 h
    labels = context_labels(hours, 6 * HOUR)
    assert labels[0] == "22:00\n31 May 2024"
    assert labels[1] == "04:00\n1 Jun 2024" and labels[2] == "10:00"
    days = [1_717_027_200.0 + DAY * i for i in range(4)]  # 30 May 2024 ...
    assert context_labels(days, DAY) == ["30\nMay 2024", "31", "1\nJun 2024", "2"]
    months = [1_701_388_800.0, 1_704_067_200.0]  # 1 Dec 2023, 1 Jan 2024
    assert context_labels(months, 31 * DAY) == ["Dec\n2023", "Jan\n2024"]
    # a first tick at the very left edge is not drawn: the second one carries the context
    assert context_labels(days, DAY, first_hidden=True)[1] == "31\nMay 2024"


def test_hourly_axis_shows_two_lines_on_the_last_row(chart, qtbot) -> None:
    x, _close, pyr = _series(600, HOUR)
    chart.row("price").plot(pyr)
    chart.row("volume").plot(pyr)
    chart.set_x_range(float(x[100]), float(x[160]))
    _paint(qtbot, chart)
    axis = chart.shown_rows()[-1].plot_item.getAxis("bottom")
    assert isinstance(axis, ContextDateAxis)
    lo, hi = axis.range
    levels = axis.tickValues(lo, hi, axis.width())
    assert len(levels) == 1  # one level: context across majors and minors
    spacing, values = levels[0]
    assert spacing < DAY
    labels = axis.tickStrings(values, 1.0, spacing)
    assert any(":" in s.split("\n")[0] and len(s.split("\n")) == 2 for s in labels)
    assert axis.height() >= 2 * QFontMetrics(axis.font()).height()  # both lines fit


def test_volume_axis_in_kmb_and_tallest_bar_not_clipped(chart, qtbot) -> None:
    x, _close, pyr = _series(200_000, 60.0)  # a level pyramid: coarse levels sum volumes
    chart.row("price").plot(pyr)
    volume = chart.row("volume")
    volume.plot(pyr)
    axis = volume.plot_item.getAxis("left")
    assert isinstance(axis, CompactAxis)
    assert axis.tickStrings([0.0, 2.5e6, 3e9], 1.0, 1e6) == ["0", "2.5M", "3B"]
    for lo, hi in ((x[0], x[-1]), (x[1000], x[6000]), (x[5000], x[5300])):
        chart.set_x_range(float(lo), float(hi))
        _paint(qtbot, chart)
        _paint(qtbot, chart)
        item = volume.bars
        level, j0, j1 = item.pyramid.pick(float(lo), float(hi), item._max_bars)
        drawn = float(np.nanmax(level.peak_volume[j0:j1]))
        top = volume.view_box.viewRange()[1][1]
        assert top >= drawn, f"tallest drawn bar {drawn:.3g} above the row's top {top:.3g}"
        # zoomed out the axis still reads volume per bar (the readout's unit), not sums
        i0, i1 = pyr.index_range(float(lo), float(hi))
        assert top <= 1.5 * float(np.nanmax(pyr.base.volume[max(0, i0 - 64):i1 + 64]))


def test_legends_toggle_and_menu_rows(chart, qtbot) -> None:
    x, close, pyr = _series(300, DAY)
    price = chart.row("price")
    price.plot(pyr)
    price.plot_forecasts([Overlay("lightgbm", x[-50:], close[-50:], close[-50:] * 0.9,
                                  close[-50:] * 1.1)])
    assert price.legend.isVisible()
    chart.set_legends_shown(False)
    assert not price.legend.isVisible()
    price.plot_forecasts([Overlay("lstm", x[-50:], close[-50:])])  # new entries stay hidden
    assert not price.legend.isVisible()
    chart.set_legends_shown(True)
    assert price.legend.isVisible()
    menu = build_menu(chart, None)
    texts = [a.text() for a in menu.actions() if a.text()]
    for wanted in ("Reset zoom (Home)", "Log price scale (L)", "Show legends", "Rows",
                   "Copy values at cursor", "Export chart as PNG…", "Export chart as SVG…"):
        assert wanted in texts
    rows_menu = next(a.menu() for a in menu.actions() if a.text() == "Rows")
    volume_action = next(a for a in rows_menu.actions() if a.text() == "Volume")
    volume_action.trigger()  # unticked: the volume row leaves the chart
    assert "volume" not in [r.name for r in chart.shown_rows()]
    assert not next(a for a in rows_menu.actions() if a.text() == "Price").isEnabled()
    chart.set_row_hidden("volume", False)
    assert "volume" in [r.name for r in chart.shown_rows()]


def test_copy_values_at_cursor(chart, qtbot) -> None:
    x, close, pyr = _series(300, DAY)
    chart.row("price").plot(pyr)
    chart.row("volume").plot(pyr)
    chart.row("price").plot_forecasts([Overlay("lightgbm", x[-50:], close[-50:] * 1.01,
                                               close[-50:] * 0.95, close[-50:] * 1.05)])
    chart.show_last(60)
    _paint(qtbot, chart)
    price = chart.row("price")
    target = QPointF(float(x[-10]) + DAY / 2, float(close[-10]))
    scene = price.view_box.mapViewToScene(target)
    at = chart.cursor_at(scene)
    assert at is not None and at[0] is price and at[1] == float(x[-10])
    text = chart.copy_values(*at)
    assert QApplication.clipboard().text() == text
    assert "O " in text and "V " in text and "lightgbm" in text and "Price at cursor" in text
    assert "<" not in text and "&nbsp;" not in text


def test_export_carries_title_and_legend(chart, qtbot, tmp_path) -> None:
    x, close, pyr = _series(300, DAY)
    chart.title.setText("BTC-USD 1d (yahoo)")
    price = chart.row("price")
    price.plot(pyr)
    price.plot_forecasts([Overlay("lightgbm", x[-50:], close[-50:], close[-50:] * 0.9,
                                  close[-50:] * 1.1), Overlay("lstm", x[-50:], close[-50:])])
    chart.show_all()
    chart.set_legends_shown(False)  # hidden on screen, but an export carries it
    title, subtitle = chart.export_title()
    assert title == "BTC-USD 1d (yahoo)" and "lightgbm, lstm" in subtitle
    assert str(np.datetime64(int(x[0]), "s"))[:10] in subtitle
    png = chart.export_to(tmp_path / "chart.png")
    image = QImage(str(png))
    plain = chart.glw.ci.boundingRect()
    assert image.height() == int(plain.height()) + header_height()
    # the title band is painted: dark text pixels on the light band
    band = [QColor(image.pixel(i, j)).lightness() for i in range(0, 400, 2)
            for j in range(4, header_height() - 2)]
    assert min(band) < 120
    assert not price.legend.isVisible()  # back as the user left it
    svg = chart.export_to(tmp_path / "chart.svg")
    doc = xml.dom.minidom.parse(str(svg))
    texts = [t.firstChild.data for t in doc.getElementsByTagName("text") if t.firstChild]
    assert "BTC-USD 1d (yahoo)" in texts[0]
    assert any("lightgbm forecast" in t for t in texts)  # the legend travelled


def test_residuals_of_two_models_compared(chart) -> None:
    x, close, _pyr = _series(100, DAY)
    residual = chart.row("residual")
    residual.plot(x, close * 0.01, "lightgbm")
    residual.compare(x, -close * 0.02, "lstm")
    assert residual.other_model == "lstm" and residual.legend.isVisible()
    info = residual.info_text(float(x[5]))
    assert "lightgbm" in info and "lstm" in info
    _lo, hi = residual.view_box.viewRange()[1]
    assert hi >= float(np.abs(close * 0.02).max())  # the larger residuals fit
    residual.compare(np.array([]), np.array([]))
    assert "lstm" not in residual.info_text(float(x[5])) and not residual.legend.isVisible()


@pytest.mark.parametrize("bars", [2_000, 50_000])
def test_band_visible_at_every_zoom(chart, qtbot, bars) -> None:
    x, close, pyr = _series(bars, DAY if bars < 10_000 else HOUR)
    price = chart.row("price")
    price.plot(pyr)
    k = 365
    price.plot_forecasts([Overlay("lightgbm", x[-k:], close[-k:], close[-k:] * 0.85,
                                  close[-k:] * 1.15)])
    for view in ("all", "last"):
        chart.show_all() if view == "all" else chart.show_last(400)
        _paint(qtbot, chart)
        image = chart.glw.grab().toImage()
        band = QColor(chart.theme.band[:7])
        right = image.width() - 20
        hits = sum(1 for i in range(right - 200, right) for j in range(0, image.height(), 2)
                   if _near(QColor(image.pixel(i, j)), band, chart.theme.chart_bg))
        assert hits > 20, f"no band pixels when showing {view} of {bars} bars"


def _near(pixel: QColor, band: QColor, bg: str) -> bool:
    """A pixel tinted by the band over the background (not background, not a line)."""
    back = QColor(bg)
    far_from_line = sum(abs(a - b) for a, b in ((pixel.red(), band.red()),
                        (pixel.green(), band.green()), (pixel.blue(), band.blue()))) > 90
    if pixel == back or not far_from_line:  # background, or the forecast line itself
        return False
    # between the background and the band colour on every channel
    return all(min(b, c) - 6 <= p <= max(b, c) + 6 for p, b, c in
               ((pixel.red(), back.red(), band.red()), (pixel.green(), back.green(), band.green()),
                (pixel.blue(), back.blue(), band.blue())))


def test_view_menu_log_scale_and_legends(window) -> None:
    acts, chart, loss = window.menu_actions, window.chart, window.loss_chart
    assert acts.log_scale.shortcut().toString() == "Ctrl+L"
    acts.log_scale.trigger()
    assert chart.log_scale and acts.log_scale.isChecked()
    chart.log_button.click()  # the button and the menu stay in step
    assert not chart.log_scale and not acts.log_scale.isChecked()
    loss.set_losses("lstm", np.arange(1.0, 4.0), np.ones(3), np.ones(3))
    assert loss.legend.isVisible()
    acts.legends.trigger()  # off: both charts' legends go, and stay gone on new data
    assert not chart.legends_shown and not loss.legend.isVisible()
    loss.set_losses("lstm", np.arange(1.0, 5.0), np.ones(4), np.ones(4))
    assert not loss.legend.isVisible()
    acts.legends.trigger()
    assert chart.legends_shown and loss.legend.isVisible()
