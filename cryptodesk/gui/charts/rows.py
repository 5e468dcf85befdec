"""The chart rows under the price: volume, residual, equity, drawdown, sentiment, volatility.

Each is one :class:`~cryptodesk.gui.charts.row.ChartRow`: its own items, ``plot`` with the
arrays it draws, ``clear``, ``apply_theme`` and ``info_text`` for the crosshair's readout.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from cryptodesk.gui.charts.axes import CompactAxis
from cryptodesk.gui.charts.items import VolumeItem
from cryptodesk.gui.charts.levels import OhlcPyramid
from cryptodesk.gui.charts.row import (
    ChartRow,
    Legend,
    curve,
    fmt_compact,
    fmt_price,
    legend_colors,
    value_at,
)
from cryptodesk.gui.theme import Theme

EMPTY = np.array([])


def _nice_ceiling(value: float) -> float:
    """The next of 1, 2, 5 × 10^k at or above ``value`` (1 for nothing)."""
    if not np.isfinite(value) or value <= 0:
        return 1.0
    base = 10.0 ** np.floor(np.log10(value))
    return float(next(m * base for m in (1, 2, 5, 10) if m * base >= value))


def _has(item: pg.PlotDataItem) -> bool:
    return item.xData is not None and len(item.xData) > 0


class VolumeRow(ChartRow):
    """Volume bars coloured by the candle's direction."""

    name = "volume"
    title = "Volume"
    stretch = 2.0
    always = True

    def left_axis(self) -> pg.AxisItem:
        return CompactAxis("left")

    def __init__(self) -> None:
        super().__init__()
        self.bars = VolumeItem()
        self.plot_item.addItem(self.bars)

    @property
    def has_data(self) -> bool:
        return self.bars.pyramid is not None and len(self.bars.pyramid) > 0

    def plot(self, pyramid: OhlcPyramid | None) -> None:
        self.bars.set_pyramid(pyramid)
        self._data_changed()

    def clear(self) -> None:
        self.plot(None)

    def info_text(self, x: float) -> str:
        pyr = self.bars.pyramid
        if pyr is None or not len(pyr):
            return ""
        value = value_at(pyr.base.x, pyr.base.volume, x)
        return "" if value is None else f"V {fmt_compact(value)}"

    def apply_theme(self, theme: Theme) -> None:
        super().apply_theme(theme)
        self.bars.set_colors(theme.up, theme.down)


class ResidualRow(ChartRow):
    """Actual minus forecast of the model the chart details, around a zero line, and a second
    selected model's beside it (a residual comparison: whose errors are smaller, and when).

    The y range is symmetric about zero and only grows while a run streams in (re-fitting it
    to every new point would re-draw the row's axis ten times a second); a new model or run
    fits it afresh. A volatility run has no price residuals: the row gives its place up
    (:meth:`set_applies`) until a price run is on show again."""

    name = "residual"
    title = "Residual"
    stretch = 2.0
    always = True

    def __init__(self) -> None:
        super().__init__()
        self.zero = pg.InfiniteLine(pos=0.0, angle=0, movable=False)
        self.curve = curve()
        self.other = curve()  # the second selected model's residuals
        self.plot_item.addItem(self.zero)
        self.plot_item.addItem(self.other, ignoreBounds=True)
        self.plot_item.addItem(self.curve, ignoreBounds=True)
        self.plot_item.enableAutoRange(y=False)
        self.legend = self.plot_item.addLegend(offset=(8, 2), colCount=2)
        self._legend = Legend(self.legend)
        self.model = ""
        self.other_model = ""
        self._limit = 0.0
        self.applies = True

    @property
    def has_data(self) -> bool:
        return _has(self.curve)

    @property
    def shown(self) -> bool:
        return super().shown and (self.applies or self.has_data)

    def set_applies(self, on: bool) -> None:
        """Whether the run on show has residuals to draw (a price run; not a volatility run)."""
        if on != self.applies:
            self.applies = on
            self._data_changed()

    def plot(self, x: np.ndarray, residual: np.ndarray, model: str = "") -> None:
        if model != self.model:
            self._limit = 0.0
        self.model = model
        self.curve.setData(x, residual)
        self._fit_range()
        self._show_legend()
        self._data_changed()

    def compare(self, x: np.ndarray, residual: np.ndarray, model: str = "") -> None:
        """A second model's residuals (empty ``x`` removes them)."""
        if model != self.other_model:
            self._limit = 0.0
        self.other_model = model if x.size else ""
        self.other.setData(x, residual)
        self._fit_range()
        self._show_legend()

    def _fit_range(self) -> None:
        parts = [np.abs(c.yData[np.isfinite(c.yData)]) for c in (self.curve, self.other)
                 if c.yData is not None and len(c.yData)]
        largest = max((float(p.max()) for p in parts if p.size), default=0.0)
        if largest > self._limit or (largest and largest < self._limit / 4):
            self._limit = _nice_ceiling(largest * 1.1)
            self.plot_item.setYRange(-self._limit, self._limit, padding=0)

    def _show_legend(self) -> None:
        entries = []
        if self.other_model and _has(self.curve):
            entries = [(self.curve, self.model), (self.other, self.other_model)]
        self._legend.show(entries, self.theme)

    def clear(self) -> None:
        self.compare(EMPTY, EMPTY)
        self.plot(EMPTY, EMPTY)

    def info_text(self, x: float) -> str:
        parts = []
        for item, model, color in ((self.curve, self.model, self.theme.residual),
                                   (self.other, self.other_model, self._other_color())):
            value = value_at(item.xData, item.yData, x)
            if value is not None and np.isfinite(value):
                parts.append(self._span(f"resid {model} {value:+,.4g}".replace("  ", " "),
                                        color))
        return " · ".join(parts)

    def _other_color(self) -> str:
        colors = self.theme.series_colors
        return colors[1 % len(colors)]

    def apply_theme(self, theme: Theme) -> None:
        super().apply_theme(theme)
        self.curve.setPen(pg.mkPen(theme.residual, width=1.2))
        # dashed: where two models' residuals coincide, both stay visible
        self.other.setPen(pg.mkPen(self._other_color(), width=1.4, style=Qt.PenStyle.DashLine))
        self.zero.setPen(pg.mkPen(theme.muted, style=Qt.PenStyle.DashLine))
        legend_colors(self.legend, theme)


class EquityRow(ChartRow):
    """A strategy's equity (1 = start) with buy-and-hold's beside it."""

    name = "equity"
    title = "Equity"
    stretch = 2.5

    def __init__(self) -> None:
        super().__init__()
        self.legend = self.plot_item.addLegend(offset=(8, 2), colCount=2)
        self._legend = Legend(self.legend)
        self.bench = curve()
        self.curve = curve()
        self.one = pg.InfiniteLine(pos=1.0, angle=0, movable=False)
        self.plot_item.addItem(self.bench)
        self.plot_item.addItem(self.curve)
        self.plot_item.addItem(self.one, ignoreBounds=True)
        self.label = ""

    @property
    def has_data(self) -> bool:
        return _has(self.curve)

    def plot(self, name: str, x: np.ndarray, equity: np.ndarray,
             bench: tuple[np.ndarray, np.ndarray] | None = None, strategy: str = "") -> None:
        """``name``'s equity (``strategy``: how it traded) and buy-and-hold's (x, equity)."""
        self.label = name
        self.curve.setData(x, equity)
        self.bench.setData(*(bench if bench is not None and x.size else (EMPTY, EMPTY)))
        how = f" · {strategy}" if strategy else ""
        entries = [(self.curve, f"{name}{how}")] if x.size else []
        if x.size and bench is not None:
            entries.append((self.bench, "buy & hold"))
        self._legend.show(entries, self.theme)
        self._data_changed()

    def clear(self) -> None:
        self.plot("", EMPTY, EMPTY)

    def info_text(self, x: float) -> str:
        value = value_at(self.curve.xData, self.curve.yData, x)
        if value is None:
            return ""
        text = self._span(f"equity {value:.3f}", self.theme.equity)
        bench = value_at(self.bench.xData, self.bench.yData, x)
        if bench is not None:
            text += " · " + self._span(f"b&amp;h {bench:.3f}", self.theme.benchmark)
        return text

    def apply_theme(self, theme: Theme) -> None:
        super().apply_theme(theme)
        self.curve.setPen(pg.mkPen(theme.equity, width=1.6))
        self.bench.setPen(pg.mkPen(theme.benchmark, width=1.2, style=Qt.PenStyle.DashLine))
        self.one.setPen(pg.mkPen(theme.muted, style=Qt.PenStyle.DotLine))
        legend_colors(self.legend, theme)


class DrawdownRow(ChartRow):
    """The strategy's fall from its peak, in percent (buy-and-hold's dashed)."""

    name = "drawdown"
    title = "DD %"
    stretch = 1.5

    def __init__(self) -> None:
        super().__init__()
        self.bench = curve()
        self.curve = pg.PlotDataItem(connect="finite", fillLevel=0.0)
        self.curve.setClipToView(True)
        self.plot_item.addItem(self.bench)
        self.plot_item.addItem(self.curve)

    @property
    def has_data(self) -> bool:
        return _has(self.curve)

    def plot(self, x: np.ndarray, drawdown: np.ndarray,
             bench: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Drawdowns as fractions (drawn in percent); ``bench``: buy-and-hold's (x, dd)."""
        self.curve.setData(x, drawdown * 100.0)
        if bench is not None and x.size:
            self.bench.setData(bench[0], bench[1] * 100.0)
        else:
            self.bench.setData(EMPTY, EMPTY)
        self._data_changed()

    def clear(self) -> None:
        self.plot(EMPTY, EMPTY)

    def info_text(self, x: float) -> str:
        value = value_at(self.curve.xData, self.curve.yData, x)
        return "" if value is None else self._span(f"DD {value:.1f} %", self.theme.drawdown)

    def apply_theme(self, theme: Theme) -> None:
        super().apply_theme(theme)
        self.curve.setPen(pg.mkPen(theme.drawdown, width=1.2))
        self.curve.setBrush(pg.mkBrush(theme.drawdown + "55"))
        self.bench.setPen(pg.mkPen(theme.benchmark, width=1.0, style=Qt.PenStyle.DashLine))


class SentimentRow(ChartRow):
    """A sentiment dataset's per-bar features (score, share negative)."""

    name = "sentiment"
    title = "Sentiment"
    stretch = 2.0

    def __init__(self) -> None:
        super().__init__()
        self.legend = self.plot_item.addLegend(offset=(8, 2), colCount=2)
        self.curves: list[pg.PlotDataItem] = []
        self.zero = pg.InfiniteLine(pos=0.0, angle=0, movable=False)
        self.plot_item.addItem(self.zero, ignoreBounds=True)

    @property
    def has_data(self) -> bool:
        return bool(self.curves)

    def plot(self, columns: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Column name -> (x, values); empty hides the row."""
        for item in self.curves:
            self.plot_item.removeItem(item)
        self.curves = []
        self.legend.clear()
        for name, (x, y) in columns.items():
            item = curve(name=name)  # the plot adds it to its legend under this name
            item.setData(x, y)
            self.plot_item.addItem(item)
            self.curves.append(item)
        self.apply_theme(self.theme)
        self._data_changed()

    def clear(self) -> None:
        self.plot({})

    def info_text(self, x: float) -> str:
        parts = []
        for i, item in enumerate(self.curves):
            value = value_at(item.xData, item.yData, x)
            if value is not None and np.isfinite(value):
                color = self.theme.series_colors[i % len(self.theme.series_colors)]
                parts.append(self._span(f"{item.name()} {value:.3f}", color))
        return " · ".join(parts)

    def apply_theme(self, theme: Theme) -> None:
        super().apply_theme(theme)
        self.zero.setPen(pg.mkPen(theme.muted, style=Qt.PenStyle.DashLine))
        for i, item in enumerate(self.curves):
            item.setPen(pg.mkPen(theme.series_colors[i % len(theme.series_colors)], width=1.3))
        legend_colors(self.legend, theme)


class VolatilityRow(ChartRow):
    """Realised volatility of the series and a model's volatility forecast (in percent):
    a volatility run's first shown model, one step ahead, against what was realised."""

    name = "volatility"
    title = "Vol %"
    stretch = 2.0

    def __init__(self) -> None:
        super().__init__()
        self.legend = self.plot_item.addLegend(offset=(8, 2), colCount=2)
        self._legend = Legend(self.legend)
        self.realised = curve()
        self.forecast = curve()
        self.plot_item.addItem(self.realised)
        self.plot_item.addItem(self.forecast)
        self.model = ""

    @property
    def has_data(self) -> bool:
        return _has(self.realised) or _has(self.forecast)

    def plot(self, x: np.ndarray, realised: np.ndarray,
             forecast: np.ndarray | None = None, model: str = "") -> None:
        """Volatility per bar as fractions (drawn in percent); ``forecast`` (of ``model``) on
        the same ``x`` (NaN where there is none)."""
        self.model = model
        self.realised.setData(x, realised * 100.0)
        self.forecast.setData(*((x, forecast * 100.0) if forecast is not None else (EMPTY, EMPTY)))
        entries = [(self.realised, "realised")] if x.size else []
        if x.size and forecast is not None:
            entries.append((self.forecast, f"{model} forecast" if model else "forecast"))
        self._legend.show(entries, self.theme)
        self._data_changed()

    def clear(self) -> None:
        self.plot(EMPTY, EMPTY)

    def info_text(self, x: float) -> str:
        parts = []
        named = f"{self.model} vol" if self.model else "vol forecast"
        for label, item, color in (("realised vol", self.realised, self.theme.actual),
                                   (named, self.forecast, self.theme.forecast)):
            value = value_at(item.xData, item.yData, x)
            if value is not None and np.isfinite(value):
                parts.append(self._span(f"{label} {fmt_price(value)} %", color))
        return " · ".join(parts)

    def apply_theme(self, theme: Theme) -> None:
        super().apply_theme(theme)
        self.realised.setPen(pg.mkPen(theme.actual, width=1.2))
        self.forecast.setPen(pg.mkPen(theme.forecast, width=1.6))
        legend_colors(self.legend, theme)
