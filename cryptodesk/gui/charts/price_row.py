"""The price row: candles with gaps and regime shading, forecast overlays with their bands, and
a saved model's forecast after the last bar.

Several models' forecasts can be overlaid at once (one colour each, the first in the theme's
forecast colour); every curve is created once and refilled with ``setData``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from cryptodesk.gui.charts.future_paths import FuturePaths, PathView
from cryptodesk.gui.charts.items import CandlestickItem, GapsItem, RegimeItem
from cryptodesk.gui.charts.levels import OhlcPyramid
from cryptodesk.gui.charts.row import (
    ChartRow,
    Legend,
    curve,
    fmt_price,
    legend_colors,
    value_at,
)
from cryptodesk.gui.theme import Theme

BAND_ALPHA = "40"


@dataclass(frozen=True)
class Overlay:
    """One model's forecasts on the price row: target times (epoch seconds), point forecasts
    and the 10–90 % band (None without one)."""

    name: str
    x: np.ndarray
    point: np.ndarray
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None

    @property
    def has_band(self) -> bool:
        return (self.lower is not None and self.upper is not None
                and bool(np.isfinite(self.lower).any()))


class _Band:
    """A line with a filled band around it (created once, refilled)."""

    def __init__(self, plot: pg.PlotItem, dashed: bool = False) -> None:
        self.line = curve()
        self.lo, self.hi = curve(), curve()
        self.fill = pg.FillBetweenItem(self.lo, self.hi)
        self.dashed = dashed
        # the band does not drive the y range (the candles and the point forecast do): a wide
        # band would otherwise squash the candles, and every new point would re-lay the axes
        for item in (self.fill, self.lo, self.hi):
            plot.addItem(item, ignoreBounds=True)
        plot.addItem(self.line)
        self.name = ""

    def set(self, name: str, x: np.ndarray, y: np.ndarray, lower: np.ndarray | None,
            upper: np.ndarray | None, band_x: np.ndarray | None = None) -> None:
        self.name = name
        self.line.setData(x, y)
        bx = x if band_x is None else band_x
        if lower is not None and upper is not None and np.isfinite(lower).any():
            ok = np.isfinite(lower) & np.isfinite(upper)
            self._edges(bx[ok], lower[ok], upper[ok])
            self.fill.setVisible(True)
        else:
            self._edges(np.array([]), np.array([]), np.array([]))
            self.fill.setVisible(False)

    def _edges(self, x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Both band edges, with one fill-path rebuild instead of one per edge."""
        self.lo.blockSignals(True)
        try:
            self.lo.setData(x, lower)
        finally:
            self.lo.blockSignals(False)
        self.hi.setData(x, upper)

    def clear(self) -> None:
        self.set("", np.array([]), np.array([]), None, None)

    @property
    def points(self) -> int:
        return 0 if self.line.xData is None else len(self.line.xData)

    def color(self, line: str, band: str) -> None:
        style = Qt.PenStyle.DashLine if self.dashed else Qt.PenStyle.SolidLine
        self.line.setPen(pg.mkPen(line, width=1.8 if self.dashed else 1.6, style=style))
        for edge in (self.lo, self.hi):
            edge.setPen(pg.mkPen(band))
        self.fill.setBrush(pg.mkBrush(band))


class PriceRow(ChartRow):
    """Candles, gaps, regimes, forecast overlays and the future path."""

    name = "price"
    title = "Price"
    stretch = 6.0
    always = True

    def __init__(self) -> None:
        super().__init__()
        plot = self.plot_item
        self.regimes = RegimeItem()
        self.regimes.setVisible(False)
        self.regime_names: tuple[str, ...] = ()
        self.gaps = GapsItem()
        self.candles = CandlestickItem()
        for item in (self.regimes, self.gaps, self.candles):
            plot.addItem(item)
        self.overlays: list[Overlay] = []
        self._bands: list[_Band] = []
        self.future = _Band(plot, dashed=True)
        self.paths = FuturePaths(plot)  # Run ▸ Forecast: the ticked models after the last bar
        self.legend = plot.addLegend(offset=(8, 8))
        self._legend = Legend(self.legend)
        self._band_swatch = pg.PlotDataItem([], [])  # legend entry only (never plotted)

    # ---------------------------------------------------------------- data
    @property
    def pyramid(self) -> OhlcPyramid | None:
        return self.candles.pyramid

    @property
    def has_data(self) -> bool:
        pyr = self.pyramid
        return pyr is not None and len(pyr) > 0

    def plot(self, pyramid: OhlcPyramid | None,
             gaps: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Show a series' candles and its gaps (None clears); overlays are cleared."""
        self.candles.set_pyramid(pyramid)
        self.gaps.set_gaps(*(gaps if gaps is not None else (np.array([]), np.array([]))))
        self.plot_forecasts([])
        self.plot_future("", np.array([]), np.array([]))
        self.paths.clear()
        self._data_changed()

    def clear(self) -> None:
        self.plot(None)
        self.plot_regimes(np.array([]), np.array([]), np.array([], dtype=np.int64))

    def plot_forecasts(self, overlays: list[Overlay]) -> None:
        """Draw each overlay (a model's forecasts and band); [] clears them."""
        self.overlays = list(overlays)
        while len(self._bands) < len(overlays):
            self._bands.append(_Band(self.plot_item))
            self._color_band(len(self._bands) - 1)
        for i, band in enumerate(self._bands):
            if i < len(overlays):
                o = overlays[i]
                band.set(o.name, o.x, o.point, o.lower, o.upper)
            else:
                band.clear()
        self._update_legend()

    def plot_future(self, name: str, x: np.ndarray, point: np.ndarray,
                    lower: np.ndarray | None = None, upper: np.ndarray | None = None) -> None:
        """A forecast path after the last bar (a saved model's "Forecast now"), joined to the
        last close so it reads as a continuation; empty ``x`` clears it."""
        pyr = self.pyramid
        if x.size and pyr is not None and len(pyr):
            base = pyr.base
            x0, c0 = float(base.x[-1]) + base.width, float(base.close[-1])
            px, py = np.concatenate([[x0], x]), np.concatenate([[c0], point])
        else:
            px, py = x, point
        self.future.set(name if x.size else "", px, py, lower, upper, band_x=x)
        self._update_legend()

    def plot_paths(self, paths: list[PathView]) -> None:
        """Several models' forecasts after the last bar, each joined to the last close."""
        pyr = self.pyramid
        if pyr is not None and len(pyr):
            self.paths.set(paths, float(pyr.base.x[-1]), float(pyr.base.close[-1]))
        else:
            self.paths.set(paths)

    def plot_regimes(self, x0: np.ndarray, x1: np.ndarray, level: np.ndarray,
                     names: tuple[str, ...] = ()) -> None:
        """Regime spans (shaded only while :meth:`show_regimes` is on)."""
        self.regime_names = tuple(names)
        self.regimes.set_spans(x0, x1, level)
        if not self.regimes.count:
            self.regimes.setVisible(False)

    def show_regimes(self, on: bool) -> None:
        self.regimes.setVisible(on and self.regimes.count > 0)

    @property
    def forecast_points(self) -> int:
        """Points of the first overlay (the model the chart details)."""
        return self._bands[0].points if self.overlays else 0

    @property
    def future_points(self) -> int:
        return max(0, self.future.points - 1)

    def band_visible(self, index: int = 0) -> bool:
        return index < len(self.overlays) and self._bands[index].fill.isVisible()

    def x_bounds(self) -> tuple[float, float] | None:
        """First bar start and last bar end (None without candles)."""
        pyr = self.pyramid
        if pyr is None or not len(pyr):
            return None
        base = pyr.base
        return float(base.x[0]), float(base.x[-1]) + base.width

    def bar_at(self, x: float) -> float | None:
        """Start time of the bar under ``x`` (the nearest one at the ends)."""
        pyr = self.pyramid
        if pyr is None or not len(pyr):
            return None
        base = pyr.base
        future = self.paths.x_values()
        if future.size and x >= float(base.x[-1]) + base.width / 2:  # a forecast step
            j = int(np.searchsorted(future, x - base.width / 2))
            return float(future[min(j, future.size - 1)])
        i = min(max(int(np.searchsorted(base.x, x, "right")) - 1, 0), len(base) - 1)
        return float(base.x[i])

    # ---------------------------------------------------------------- readout
    def info_text(self, x: float) -> str:
        pyr = self.pyramid
        if pyr is None or not len(pyr):
            return ""
        base = pyr.base
        i = int(np.searchsorted(base.x, x))
        if i >= len(base) or base.x[i] != x:
            return self.paths.info_text(x)  # after the last bar: the forecasts there
        th = self.theme
        color = th.up if base.close[i] >= base.open[i] else th.down
        parts = [f"O {fmt_price(base.open[i])}", f"H {fmt_price(base.high[i])}",
                 f"L {fmt_price(base.low[i])}",
                 self._span(f"C {fmt_price(base.close[i])}", color)]
        for index, o in enumerate(self.overlays):
            value = value_at(o.x, o.point, x)
            if value is None:
                continue
            text = f"{o.name} {fmt_price(value)}"
            lo, hi = value_at(o.x, o.lower, x), value_at(o.x, o.upper, x)
            if lo is not None and hi is not None and np.isfinite(lo):
                text += f" [{fmt_price(lo)} – {fmt_price(hi)}]"
            parts.append(self._span(text, self._colors(index)[0]))
        return "&nbsp;&nbsp;".join(parts)

    # ---------------------------------------------------------------- theme
    def _colors(self, index: int) -> tuple[str, str]:
        th = self.theme
        if index == 0:
            return th.forecast, th.band
        color = th.series_colors[index % len(th.series_colors)]
        return color, color + BAND_ALPHA

    def _color_band(self, index: int) -> None:
        self._bands[index].color(*self._colors(index))

    def apply_theme(self, theme: Theme) -> None:
        super().apply_theme(theme)
        self.candles.set_colors(theme.up, theme.down)
        self.gaps.set_color(theme.gap)
        self.regimes.set_color(theme.regime)
        for i in range(len(self._bands)):
            self._color_band(i)
        self.future.color(theme.future, theme.future_band)
        self.paths.apply_theme(theme)
        self._band_swatch.setPen(pg.mkPen(theme.band, width=10))
        legend_colors(self.legend, theme)

    def _update_legend(self) -> None:
        entries = [(self._bands[i].line, f"{o.name} forecast")
                   for i, o in enumerate(self.overlays)]
        if self.overlays and self.overlays[0].has_band:
            entries.append((self._band_swatch, "10–90 % band"))
        if self.future.name:
            entries.append((self.future.line, f"{self.future.name} · forecast from last bar"))
        self._legend.show(entries, self.theme)
