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
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from cryptodesk.gui.charts.items import CandlestickItem, GapsItem, VolumeItem
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
        self.title = QLabel("No series loaded")
        self.title.setObjectName("chartTitle")
        tf = self.title.font()
        tf.setBold(True)
        self.title.setFont(tf)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.glw.installEventFilter(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.readout)
        layout.addWidget(self.glw, 1)

        self.price = self.glw.addPlot(row=0, col=0, axisItems={"bottom": pg.DateAxisItem()})
        self.volume = self.glw.addPlot(row=1, col=0, axisItems={"bottom": pg.DateAxisItem()})
        self.resid = self.glw.addPlot(row=2, col=0, axisItems={"bottom": pg.DateAxisItem()})
        gl = self.glw.ci.layout
        gl.setRowStretchFactor(0, 6)
        gl.setRowStretchFactor(1, 2)
        gl.setRowStretchFactor(2, 2)
        for plot in (self.price, self.volume, self.resid):
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
        self.volume.setXLink(self.price)
        self.resid.setXLink(self.price)
        self.price.getAxis("bottom").setStyle(showValues=False)
        self.volume.getAxis("bottom").setStyle(showValues=False)
        self.price.setLabel("left", "Price")
        self.volume.setLabel("left", "Volume")
        self.resid.setLabel("left", "Residual")
        self.legend = self.price.addLegend(offset=(8, 8))

        self.gaps = GapsItem()
        self.candles = CandlestickItem()
        self.volume_bars = VolumeItem()
        self.band_lo = _curve()
        self.band_hi = _curve()
        self.band = pg.FillBetweenItem(self.band_lo, self.band_hi)
        self.forecast = _curve(name="forecast")
        self._band_proxy = pg.PlotDataItem([], [])  # legend swatch only (never plotted)
        self.price.addItem(self.gaps)
        self.price.addItem(self.candles)
        self.price.addItem(self.band)
        self.price.addItem(self.band_lo)
        self.price.addItem(self.band_hi)
        self.price.addItem(self.forecast)
        self.volume.addItem(self.volume_bars)
        self.resid_zero = pg.InfiniteLine(pos=0.0, angle=0, movable=False)
        self.resid_curve = _curve()
        self.resid.addItem(self.resid_zero)
        self.resid.addItem(self.resid_curve)
        self.legend.removeItem(self.forecast)

        self.vlines = [pg.InfiniteLine(angle=90, movable=False) for _ in range(3)]
        self.hline = pg.InfiniteLine(angle=0, movable=False)
        for plot, line in zip((self.price, self.volume, self.resid), self.vlines, strict=True):
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
        self.legend.clear()
        self.legend.setVisible(bool(x.size))
        if x.size:
            self.legend.addItem(self.forecast, f"{name} forecast")
            if has_band:
                self.legend.addItem(self._band_proxy, "10–90 % band")
            _legend_colors(self.legend, self.theme)
        if actual is not None:
            self.resid_curve.setData(x, actual - point)
        else:
            self.resid_curve.setData([], [])

    def clear_forecast(self) -> None:
        self.set_forecast("", np.array([]), np.array([]), None, None, None)

    @property
    def forecast_points(self) -> int:
        return int(self._fc_x.size)

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
        for candidate in (self.price, self.volume, self.resid):
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
        for plot in (self.price, self.volume, self.resid):
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
        self.resid_curve.setPen(pg.mkPen(theme.residual, width=1.2))
        self.resid_zero.setPen(pg.mkPen(theme.muted, style=Qt.PenStyle.DashLine))
        cross = pg.mkPen(theme.crosshair, style=Qt.PenStyle.DotLine)
        for line in (*self.vlines, self.hline):
            line.setPen(cross)
        _legend_colors(self.legend, theme)
