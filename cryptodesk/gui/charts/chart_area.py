"""The chart area: candlesticks with gaps and the forecast overlay, volume below, residuals.

Every item is created once; new data go in with ``setData``/``set_pyramid``. Curves use
``setDownsampling(auto=True, method='peak')``, ``setClipToView(True)`` and ``connect='finite'``.
Mouse: drag to pan, wheel to zoom (x only by default; right-drag zooms freely). Keyboard:
Left/Right pan, Up/+ zoom in, Down/- zoom out, Home shows everything.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from cryptodesk.gui.charts.export import install_export_menu
from cryptodesk.gui.charts.items import CandlestickItem, GapsItem, RegimeItem, VolumeItem
from cryptodesk.gui.charts.levels import OhlcPyramid
from cryptodesk.gui.theme import LIGHT, Theme

PAN_FRACTION = 0.1
ZOOM_FACTOR = 1.25


def _fmt_price(value: float) -> str:
    if not np.isfinite(value):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.2f}"
    if abs(value) >= 1:
        return f"{value:.4f}"
    return f"{value:.6g}"


def _curve(**kwargs: object) -> pg.PlotDataItem:
    item = pg.PlotDataItem(connect="finite", **kwargs)
    item.setDownsampling(auto=True, method="peak")
    item.setClipToView(True)
    return item


def _legend_colors(legend: pg.LegendItem, theme: Theme) -> None:
    """Recolour a legend and its existing labels (setLabelTextColor alone skips them)."""
    legend.setLabelTextColor(theme.chart_fg)
    legend.setBrush(pg.mkBrush(theme.chart_bg + "c0"))
    legend.setPen(pg.mkPen(theme.muted))
    for _sample, label in legend.items:
        label.setText(label.text, color=theme.chart_fg)


class ChartArea(QWidget):
    """Price (candles + forecast band), volume and residual plots sharing one time axis."""

    hovered = Signal(float)  # x (epoch seconds) under the mouse
    exported = Signal(object)  # Path of an exported image

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = LIGHT
        self.readout = QLabel(" ")
        self.readout.setObjectName("chartReadout")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        mono = QFont("DejaVu Sans Mono")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSizeF(max(8.0, self.font().pointSizeF() - 0.5))
        self.readout.setFont(mono)
        # long one-line texts must not set the window's minimum width (small screens)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title = QLabel("No series loaded")
        self.title.setObjectName("chartTitle")
        tf = self.title.font()
        tf.setBold(True)
        self.title.setFont(tf)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.glw.installEventFilter(self)
        self.regime_toggle = QCheckBox("Shade regimes")
        self.regime_toggle.setObjectName("regimeToggle")
        self.regime_toggle.setToolTip("Shade the volatility regimes of the last run on the price "
                                      "chart (darker = more turbulent; fitted before the test "
                                      "window)")
        self.regime_toggle.setEnabled(False)
        self.regime_toggle.toggled.connect(self._on_regime_toggle)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.title, 1)
        head.addWidget(self.regime_toggle)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        layout.addLayout(head)
        layout.addWidget(self.readout)
        layout.addWidget(self.glw, 1)

        def plot() -> pg.PlotItem:
            return pg.PlotItem(axisItems={"bottom": pg.DateAxisItem()})

        self.price = plot()
        self.volume = plot()
        self.resid = plot()
        self.equity = plot()
        self.drawdown = plot()
        self.sentiment = plot()
        # (plot, stretch) in drawing order; which are shown is decided by _relayout
        self._rows = [(self.price, 6), (self.volume, 2), (self.resid, 2), (self.equity, 2.5),
                      (self.drawdown, 1.5), (self.sentiment, 2)]
        self._shown = {self.price, self.volume, self.resid}
        self._relayout()
        for plot in (self.price, self.volume, self.resid, self.equity, self.drawdown,
                     self.sentiment):
            plot.setMenuEnabled(False)
            plot.getAxis("left").setWidth(72)
            plot.getAxis("left").enableAutoSIPrefix(False)
            for side in ("left", "bottom"):
                # major and minor ticks only: the third tick level's grid lines cost more to
                # blend than all the candles of a frame
                plot.getAxis(side).setStyle(maxTickLevel=1)
            plot.setMouseEnabled(x=True, y=False)
            plot.enableAutoRange(y=True)
            plot.setAutoVisible(y=True)
            plot.showGrid(x=True, y=True)
        for other in (self.volume, self.resid, self.equity, self.drawdown, self.sentiment):
            other.setXLink(self.price)
        self.price.setLabel("left", "Price")
        self.volume.setLabel("left", "Volume")
        self.resid.setLabel("left", "Residual")
        self.equity.setLabel("left", "Equity")
        self.drawdown.setLabel("left", "DD %")
        self.sentiment.setLabel("left", "Sentiment")
        self.legend = self.price.addLegend(offset=(8, 8))
        self.equity_legend = self.equity.addLegend(offset=(8, 2), colCount=2)
        self.equity_curve = _curve(name="strategy")
        self.benchmark_curve = _curve(name="buy & hold")
        self.equity.addItem(self.benchmark_curve)
        self.equity.addItem(self.equity_curve)
        self.equity_one = pg.InfiniteLine(pos=1.0, angle=0, movable=False)
        self.equity.addItem(self.equity_one, ignoreBounds=True)
        self.drawdown_curve = pg.PlotDataItem(connect="finite", fillLevel=0.0)
        self.drawdown_curve.setClipToView(True)
        self.drawdown_bench = _curve()
        self.drawdown.addItem(self.drawdown_bench)
        self.drawdown.addItem(self.drawdown_curve)
        self.sentiment_legend = self.sentiment.addLegend(offset=(8, 2), colCount=2)
        self.sentiment_curves: list[pg.PlotDataItem] = []
        self.sentiment_zero = pg.InfiniteLine(pos=0.0, angle=0, movable=False)
        self.sentiment.addItem(self.sentiment_zero, ignoreBounds=True)
        self.regimes = RegimeItem()
        self.regimes.setVisible(False)
        self._regime_names: tuple[str, ...] = ()

        self.gaps = GapsItem()
        self.candles = CandlestickItem()
        self.volume_bars = VolumeItem()
        self.band_lo = _curve()
        self.band_hi = _curve()
        self.band = pg.FillBetweenItem(self.band_lo, self.band_hi)
        self.forecast = _curve(name="forecast")
        # a saved model's forecast after the last bar ("Forecast now"): path and band
        self.future_lo = _curve()
        self.future_hi = _curve()
        self.future_band = pg.FillBetweenItem(self.future_lo, self.future_hi)
        self.future = _curve(name="future")
        self._future_name = ""
        self._band_proxy = pg.PlotDataItem([], [])  # legend swatch only (never plotted)
        self.price.addItem(self.regimes)
        self.price.addItem(self.gaps)
        self.price.addItem(self.candles)
        self.price.addItem(self.band)
        self.price.addItem(self.band_lo)
        self.price.addItem(self.band_hi)
        self.price.addItem(self.forecast)
        for item in (self.future_band, self.future_lo, self.future_hi, self.future):
            self.price.addItem(item)
        self.volume.addItem(self.volume_bars)
        self.resid_zero = pg.InfiniteLine(pos=0.0, angle=0, movable=False)
        self.resid_curve = _curve()
        self.resid.addItem(self.resid_zero)
        self.resid.addItem(self.resid_curve)
        self.legend.removeItem(self.forecast)

        plots = [p for p, _ in self._rows]
        self.vlines = [pg.InfiniteLine(angle=90, movable=False) for _ in plots]
        self.hline = pg.InfiniteLine(angle=0, movable=False)
        for plot, line in zip(plots, self.vlines, strict=True):
            plot.addItem(line, ignoreBounds=True)
        self.price.addItem(self.hline, ignoreBounds=True)
        self._crosshair_visible(False)
        self._mouse_proxy = pg.SignalProxy(
            self.glw.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse
        )
        self._fc_x = np.array([])
        self._fc_y = np.array([])
        self._fc_lo = np.array([])
        self._fc_hi = np.array([])
        self._fc_name = ""
        self.export_click = install_export_menu(self.glw, self.glw.ci, "chart", self.exported.emit)
        self.apply_theme(self.theme)

    # ---------------------------------------------------------------- data
    def set_series(self, pyramid: OhlcPyramid | None, title: str = "",
                   gaps: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Show a series (None clears); resets the forecast overlay and the view."""
        self.candles.set_pyramid(pyramid)
        self.volume_bars.set_pyramid(pyramid)
        self.gaps.set_gaps(*(gaps if gaps is not None else (np.array([]), np.array([]))))
        self.title.setText(title or "No series loaded")
        self.clear_forecast()
        self.clear_future()
        self.show_all()
        if pyramid is not None and len(pyramid):
            self.readout.setText(self.readout_text(float(pyramid.base.x[-1])))
        else:
            self.readout.setText(" ")

    def set_forecast(self, name: str, x: np.ndarray, point: np.ndarray,
                     lower: np.ndarray | None, upper: np.ndarray | None,
                     actual: np.ndarray | None) -> None:
        """Draw one model's forecasts (time = target time, epoch seconds) and residuals."""
        self._fc_name = name
        self._fc_x, self._fc_y = x, point
        self._fc_lo = lower if lower is not None else np.full(x.shape, np.nan)
        self._fc_hi = upper if upper is not None else np.full(x.shape, np.nan)
        self.forecast.setData(x, point)
        has_band = lower is not None and upper is not None and np.isfinite(lower).any()
        if has_band:
            ok = np.isfinite(lower) & np.isfinite(upper)
            self.band_lo.setData(x[ok], lower[ok])
            self.band_hi.setData(x[ok], upper[ok])
        else:
            self.band_lo.setData([], [])
            self.band_hi.setData([], [])
        self.band.setVisible(bool(has_band))
        self._update_legend()
        if actual is not None:
            self.resid_curve.setData(x, actual - point)
        else:
            self.resid_curve.setData([], [])

    def clear_forecast(self) -> None:
        self.set_forecast("", np.array([]), np.array([]), None, None, None)

    def set_future(self, name: str, x: np.ndarray, point: np.ndarray,
                   lower: np.ndarray | None = None, upper: np.ndarray | None = None) -> None:
        """Draw a forecast path after the last bar (a saved model's "Forecast now"), joined to
        the last close so it reads as a continuation; empty ``x`` clears it."""
        self._future_name = name if x.size else ""
        pyr = self.candles.pyramid
        if x.size and pyr is not None and len(pyr):
            base = pyr.base
            x0, c0 = float(base.x[-1]) + base.width, float(base.close[-1])
            px, py = np.concatenate([[x0], x]), np.concatenate([[c0], point])
        else:
            px, py = x, point
        self.future.setData(px, py)
        if x.size and lower is not None and upper is not None and np.isfinite(lower).any():
            ok = np.isfinite(lower) & np.isfinite(upper)
            self.future_lo.setData(x[ok], lower[ok])
            self.future_hi.setData(x[ok], upper[ok])
            self.future_band.setVisible(True)
        else:
            self.future_lo.setData([], [])
            self.future_hi.setData([], [])
            self.future_band.setVisible(False)
        self._update_legend()

    def clear_future(self) -> None:
        self.set_future("", np.array([]), np.array([]))

    @property
    def future_points(self) -> int:
        return max(0, len(self.future.xData if self.future.xData is not None else []) - 1)

    def show_future(self, bars: int = 120) -> None:
        """Show the last ``bars`` bars and the whole future path."""
        pyr = self.candles.pyramid
        fx = self.future.xData
        if pyr is None or not len(pyr) or fx is None or not len(fx):
            return
        base = pyr.base
        start = float(base.x[max(0, len(base) - bars)])
        self.price.setXRange(start, float(fx[-1]) + base.width, padding=0.02)

    def _update_legend(self) -> None:
        self.legend.clear()
        has_fc = bool(self._fc_x.size)
        self.legend.setVisible(has_fc or bool(self._future_name))
        if has_fc:
            self.legend.addItem(self.forecast, f"{self._fc_name} forecast")
            if self.band.isVisible():
                self.legend.addItem(self._band_proxy, "10–90 % band")
        if self._future_name:
            self.legend.addItem(self.future, f"{self._future_name} · forecast from last bar")
        _legend_colors(self.legend, self.theme)

    @property
    def forecast_points(self) -> int:
        return int(self._fc_x.size)

    # ---------------------------------------------------------------- extra rows
    def _plots_shown(self) -> list[pg.PlotItem]:
        return [p for p, _ in self._rows if p in self._shown]

    def _relayout(self) -> None:
        """Put the shown plots in rows (hidden ones leave the layout), the time axis labels on
        the last one only."""
        ci = self.glw.ci
        for plot, _ in self._rows:
            if plot in ci.items:
                ci.removeItem(plot)
        shown = self._plots_shown()
        stretch = dict(self._rows)
        for row, plot in enumerate(shown):
            ci.addItem(plot, row=row, col=0)
            ci.layout.setRowStretchFactor(row, int(stretch[plot] * 10))
            plot.getAxis("bottom").setStyle(showValues=plot is shown[-1])
            plot.setVisible(True)
        for plot, _ in self._rows:
            if plot not in self._shown:
                plot.setVisible(False)

    def show_row(self, plot: pg.PlotItem, on: bool) -> None:
        """Show or hide one of the optional rows (equity, drawdown, sentiment)."""
        if (plot in self._shown) == on:
            return
        if on:
            self._shown.add(plot)
        else:
            self._shown.discard(plot)
        self._relayout()

    def set_equity(self, name: str, x: np.ndarray, equity: np.ndarray, drawdown: np.ndarray,
                   bench: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> None:
        """One strategy's equity and drawdown (and buy-and-hold's) under the price chart; an
        empty ``x`` hides both rows."""
        on = bool(x.size)
        self.equity_curve.setData(x, equity)
        self.drawdown_curve.setData(x, drawdown * 100.0)
        if on and bench is not None:
            self.benchmark_curve.setData(bench[0], bench[1])
            self.drawdown_bench.setData(bench[0], bench[2] * 100.0)
        else:
            self.benchmark_curve.setData([], [])
            self.drawdown_bench.setData([], [])
        self.equity_legend.clear()
        if on:
            self.equity_legend.addItem(self.equity_curve, f"{name} · sign strategy, after costs")
            if bench is not None:
                self.equity_legend.addItem(self.benchmark_curve, "buy & hold")
            _legend_colors(self.equity_legend, self.theme)
        self.show_row(self.equity, on)
        self.show_row(self.drawdown, on)

    def clear_equity(self) -> None:
        self.set_equity("", np.array([]), np.array([]), np.array([]))

    def set_regimes(self, x0: np.ndarray, x1: np.ndarray, level: np.ndarray,
                    names: tuple[str, ...] = ()) -> None:
        """Regime spans for the shading (shown while the toggle is on)."""
        self._regime_names = tuple(names)
        self.regimes.set_spans(x0, x1, level)
        has = bool(np.asarray(x0).size)
        self.regime_toggle.setEnabled(has)
        if names:
            self.regime_toggle.setToolTip(
                "Shade the volatility regimes of the last run on the price chart: "
                + " < ".join(names) + " (darker = more turbulent; fitted before the test window)")
        self.regimes.setVisible(has and self.regime_toggle.isChecked())

    def _on_regime_toggle(self, on: bool) -> None:
        self.regimes.setVisible(on and self.regimes.count > 0)

    def set_sentiment(self, columns: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Sentiment series (column name -> (x, values)) under the price chart; empty hides
        the row."""
        for curve in self.sentiment_curves:
            self.sentiment.removeItem(curve)
        self.sentiment_curves = []
        self.sentiment_legend.clear()
        colors = self.theme.series_colors
        for i, (name, (x, y)) in enumerate(columns.items()):
            curve = _curve(name=name)  # the plot adds it to its legend under this name
            curve.setPen(pg.mkPen(colors[i % len(colors)], width=1.3))
            curve.setData(x, y)
            self.sentiment.addItem(curve)
            self.sentiment_curves.append(curve)
        _legend_colors(self.sentiment_legend, self.theme)
        self.show_row(self.sentiment, bool(columns))

    # ---------------------------------------------------------------- view
    def show_all(self) -> None:
        """Fit the whole series (or nothing) into view."""
        pyr = self.candles.pyramid
        if pyr is None or not len(pyr):
            return
        base = pyr.base
        self.price.setXRange(float(base.x[0]), float(base.x[-1]) + base.width, padding=0.01)

    def show_last(self, bars: int) -> None:
        """Show the last ``bars`` bars."""
        pyr = self.candles.pyramid
        if pyr is None or not len(pyr):
            return
        base = pyr.base
        start = float(base.x[max(0, len(base) - bars)])
        self.price.setXRange(start, float(base.x[-1]) + base.width, padding=0.02)

    def x_range(self) -> tuple[float, float]:
        lo, hi = self.price.viewRange()[0]
        return float(lo), float(hi)

    def pan(self, fraction: float) -> None:
        lo, hi = self.x_range()
        d = (hi - lo) * fraction
        self.price.setXRange(lo + d, hi + d, padding=0)

    def zoom(self, factor: float, center: float | None = None) -> None:
        """Zoom in (factor > 1) or out (< 1) about ``center`` (default: the middle)."""
        lo, hi = self.x_range()
        c = (lo + hi) / 2 if center is None else center
        half_lo, half_hi = (c - lo) / factor, (hi - c) / factor
        self.price.setXRange(c - half_lo, c + half_hi, padding=0)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.glw and event.type() == QEvent.Type.KeyPress:
            return self._key(event)  # type: ignore[arg-type]
        if obj is self.glw and event.type() == QEvent.Type.Leave:
            self._crosshair_visible(False)
        return super().eventFilter(obj, event)

    def _key(self, event: QKeyEvent) -> bool:
        key = event.key()
        k = Qt.Key
        if key == k.Key_Left:
            self.pan(-PAN_FRACTION)
        elif key == k.Key_Right:
            self.pan(PAN_FRACTION)
        elif key in (k.Key_Up, k.Key_Plus, k.Key_Equal):
            self.zoom(ZOOM_FACTOR)
        elif key in (k.Key_Down, k.Key_Minus):
            self.zoom(1 / ZOOM_FACTOR)
        elif key == k.Key_Home:
            self.show_all()
        else:
            return False
        return True

    # ---------------------------------------------------------------- crosshair
    def _crosshair_visible(self, on: bool) -> None:
        for line in (*self.vlines, self.hline):
            line.setVisible(on)

    def _on_mouse(self, args: tuple) -> None:
        pos = args[0]
        plot = None
        for candidate in self._plots_shown():
            if candidate.sceneBoundingRect().contains(pos):
                plot = candidate
                break
        if plot is None:
            self._crosshair_visible(False)
            return
        point = plot.vb.mapSceneToView(pos)
        x = point.x()
        for line in self.vlines:
            line.setPos(x)
        self._crosshair_visible(True)
        self.hline.setVisible(plot is self.price)
        if plot is self.price:
            self.hline.setPos(point.y())
        self.readout.setText(self.readout_text(x))
        self.hovered.emit(x)

    def readout_text(self, x: float) -> str:
        """Time, OHLC(V) of the bar under ``x`` and the forecast for that bar, as rich text."""
        pyr = self.candles.pyramid
        if pyr is None or not len(pyr):
            return " "
        base = pyr.base
        i = int(np.searchsorted(base.x, x, "right")) - 1
        i = min(max(i, 0), len(base) - 1)
        t = np.datetime64(int(base.x[i]), "s")
        stamp = str(t).replace("T", " ")
        if base.width >= 86_400:
            stamp = stamp[:10]
        th = self.theme
        color = th.up if base.close[i] >= base.open[i] else th.down
        parts = [
            f"<b>{stamp}</b>",
            f"O {_fmt_price(base.open[i])}", f"H {_fmt_price(base.high[i])}",
            f"L {_fmt_price(base.low[i])}",
            f"<span style='color:{color}'>C {_fmt_price(base.close[i])}</span>",
            f"V {base.volume[i]:,.0f}" if np.isfinite(base.volume[i]) else "V -",
        ]
        if self._fc_x.size:
            j = int(np.searchsorted(self._fc_x, base.x[i]))
            if j < self._fc_x.size and self._fc_x[j] == base.x[i]:
                text = f"{self._fc_name} {_fmt_price(self._fc_y[j])}"
                if np.isfinite(self._fc_lo[j]):
                    text += f" [{_fmt_price(self._fc_lo[j])} – {_fmt_price(self._fc_hi[j])}]"
                parts.append(f"<span style='color:{th.forecast}'>{text}</span>")
        return "&nbsp;&nbsp;".join(parts)

    # ---------------------------------------------------------------- theme
    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.glw.setBackground(theme.chart_bg)
        for plot, _ in self._rows:
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(pg.mkPen(theme.chart_fg))
                axis.setTextPen(pg.mkPen(theme.chart_fg))
            plot.showGrid(x=True, y=True, alpha=theme.grid_alpha)
        self.candles.set_colors(theme.up, theme.down)
        self.volume_bars.set_colors(theme.up, theme.down)
        self.gaps.set_color(theme.gap)
        self.forecast.setPen(pg.mkPen(theme.forecast, width=1.6))
        self.band_lo.setPen(pg.mkPen(theme.band))
        self.band_hi.setPen(pg.mkPen(theme.band))
        self.band.setBrush(pg.mkBrush(theme.band))
        self._band_proxy.setPen(pg.mkPen(theme.band, width=10))
        self.future.setPen(pg.mkPen(theme.future, width=1.8, style=Qt.PenStyle.DashLine))
        self.equity_curve.setPen(pg.mkPen(theme.equity, width=1.6))
        self.benchmark_curve.setPen(pg.mkPen(theme.benchmark, width=1.2, style=Qt.PenStyle.DashLine))
        self.equity_one.setPen(pg.mkPen(theme.muted, style=Qt.PenStyle.DotLine))
        self.drawdown_curve.setPen(pg.mkPen(theme.drawdown, width=1.2))
        self.drawdown_curve.setBrush(pg.mkBrush(theme.drawdown + "55"))
        self.drawdown_bench.setPen(pg.mkPen(theme.benchmark, width=1.0, style=Qt.PenStyle.DashLine))
        self.sentiment_zero.setPen(pg.mkPen(theme.muted, style=Qt.PenStyle.DashLine))
        self.regimes.set_color(theme.regime)
        for i, curve in enumerate(self.sentiment_curves):
            curve.setPen(pg.mkPen(theme.series_colors[i % len(theme.series_colors)], width=1.3))
        _legend_colors(self.equity_legend, theme)
        _legend_colors(self.sentiment_legend, theme)
        self.future_lo.setPen(pg.mkPen(theme.future_band))
        self.future_hi.setPen(pg.mkPen(theme.future_band))
        self.future_band.setBrush(pg.mkBrush(theme.future_band))
        self.resid_curve.setPen(pg.mkPen(theme.residual, width=1.2))
        self.resid_zero.setPen(pg.mkPen(theme.muted, style=Qt.PenStyle.DashLine))
        cross = pg.mkPen(theme.crosshair, style=Qt.PenStyle.DotLine)
        for line in (*self.vlines, self.hline):
            line.setPen(cross)
        _legend_colors(self.legend, theme)
