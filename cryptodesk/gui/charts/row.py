"""The chart row base class and the small helpers every row shares.

vnpy composes its chart from ``ChartItem`` classes, each drawing one thing and answering
``get_info_text`` for the cursor; ours is :class:`ChartRow`: one plot on the shared time axis
with ``plot(...)``, ``clear()``, ``apply_theme(theme)`` and ``info_text(x)``. A row says
whether it has something to show (:attr:`ChartRow.shown`); the chart lays out the rows that do
and the crosshair asks each of them for its readout. Adding a row is one class and one line in
the chart's row list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from cryptodesk.gui.charts.axes import ContextDateAxis, PriceAxis
from cryptodesk.gui.theme import LIGHT, Theme

LEFT_AXIS_WIDTH = 72


class ChartRow:
    """One row of the chart (see module docstring). Subclasses set ``name``, ``title`` (the
    y-axis label) and ``stretch`` (relative height), and ``always`` for rows shown even when
    empty; they define ``plot`` with their own arguments and call :meth:`_data_changed` when
    they gain or lose data."""

    name: ClassVar[str] = "row"
    title: ClassVar[str] = ""
    stretch: ClassVar[float] = 2.0
    always: ClassVar[bool] = False

    def __init__(self) -> None:
        self.plot_item = pg.PlotItem(axisItems={"bottom": ContextDateAxis(),
                                                "left": self.left_axis()})
        self.theme: Theme = LIGHT
        self.on_change: Callable[[ChartRow], None] | None = None
        self.reserved = False
        self.hidden = False  # the user took the row off the chart (right-click ▸ Rows)
        item = self.plot_item
        item.setMenuEnabled(False)
        item.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
        for side in ("left", "top", "right"):
            # the hidden top/right axes too: with the prefix on, every range change re-renders
            # their (invisible) label's HTML and re-lays them out
            item.getAxis(side).enableAutoSIPrefix(False)
        for side in ("left", "bottom"):
            # major and minor ticks only: the third tick level's grid lines cost more to blend
            # than all the candles of a frame
            item.getAxis(side).setStyle(maxTickLevel=1)
            item.getAxis(side).setZValue(-200)  # grid behind the data (opaque: axes.OpaqueGrid)
        item.setMouseEnabled(x=True, y=False)
        item.enableAutoRange(y=True)
        item.setAutoVisible(y=True)
        item.showGrid(x=True, y=True)
        item.setLabel("left", self.title)

    def left_axis(self) -> pg.AxisItem:
        """The row's value axis (prices; a volume row writes K/M/B)."""
        return PriceAxis("left")

    # ---------------------------------------------------------------- the row's contract
    @property
    def has_data(self) -> bool:
        """True when the row has something to draw."""
        return False

    @property
    def shown(self) -> bool:
        """Whether the chart gives this row a place."""
        return not self.hidden and (self.always or self.has_data or self.reserved)

    def reserve(self, on: bool) -> None:
        """Keep the row's place while it waits for data (a row that appears later re-lays
        the whole chart out: better once when a run starts than while it streams)."""
        if on != self.reserved:
            self.reserved = on
            self._data_changed()

    def plot(self, *args: object, **kwargs: object) -> None:  # pragma: no cover - per row
        raise NotImplementedError

    def clear(self) -> None:  # pragma: no cover - per row
        raise NotImplementedError

    def info_text(self, x: float) -> str:
        """The readout of this row at bar time ``x`` (rich text; "" when nothing there)."""
        del x
        return ""

    def apply_theme(self, theme: Theme) -> None:
        """Axis and grid colours; subclasses recolour their items after calling this."""
        self.theme = theme
        for side in ("left", "bottom"):
            axis = self.plot_item.getAxis(side)
            axis.setPen(pg.mkPen(theme.chart_fg))
            axis.setTextPen(pg.mkPen(theme.chart_fg))
            axis.grid_background = QColor(theme.chart_bg)
        self.plot_item.showGrid(x=True, y=True, alpha=theme.grid_alpha)

    # ---------------------------------------------------------------- helpers
    @property
    def view_box(self) -> pg.ViewBox:
        return self.plot_item.getViewBox()

    def _data_changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    def _span(self, text: str, color: str) -> str:
        return f"<span style='color:{color}'>{text}</span>"


def curve(**kwargs: object) -> pg.PlotDataItem:
    """A line for long series: NaN breaks it, peak downsampling, clipped to the view."""
    item = pg.PlotDataItem(connect="finite", **kwargs)
    item.setDownsampling(auto=True, method="peak")
    item.setClipToView(True)
    return item


def legend_colors(legend: pg.LegendItem, theme: Theme) -> None:
    """Recolour a legend and its existing labels (setLabelTextColor alone skips them)."""
    legend.setLabelTextColor(theme.chart_fg)
    legend.setBrush(pg.mkBrush(theme.chart_bg + "c0"))
    legend.setPen(pg.mkPen(theme.muted))
    for _sample, label in legend.items:
        label.setText(label.text, color=theme.chart_fg)


class Legend:
    """A legend rebuilt only when its entries change (a rebuild costs milliseconds; rows
    redraw many times a second while a run goes on)."""

    def __init__(self, legend: pg.LegendItem) -> None:
        self.legend = legend
        self._key: tuple[tuple[int, str], ...] | None = None

    def show(self, entries: list[tuple[pg.GraphicsObject, str]], theme: Theme) -> None:
        """List ``entries`` (item, label); [] hides the legend."""
        key = tuple((id(item), label) for item, label in entries)
        if key == self._key:
            return
        self._key = key
        self.legend.clear()
        for item, label in entries:
            self.legend.addItem(item, label)
        self.legend.setVisible(bool(entries) and not legend_hidden(self.legend))
        legend_colors(self.legend, theme)


def legend_hidden(legend: pg.LegendItem) -> bool:
    """Whether the user hid the chart's legends (right-click ▸ Show legends)."""
    return bool(getattr(legend, "user_hidden", False))


def value_at(xs: np.ndarray | None, ys: np.ndarray | None, x: float) -> float | None:
    """``ys`` at the point whose time is exactly ``x`` (bar times line up), else None."""
    if xs is None or ys is None or not len(xs):
        return None
    i = int(np.searchsorted(xs, x))
    if i < len(xs) and xs[i] == x and i < len(ys):
        return float(ys[i])
    return None


def fmt_price(value: float | None) -> str:
    """A price with sensible precision (thousands separated)."""
    if value is None or not np.isfinite(value):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.2f}"
    if abs(value) >= 1:
        return f"{value:.4f}"
    return f"{value:.6g}"


def fmt_compact(value: float | None) -> str:
    """1234567 -> ``1.23M``: volumes and other big counts, K/M/B."""
    if value is None or not np.isfinite(value):
        return "-"
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def data_of(item: pg.PlotDataItem) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The x and y arrays an item was given (None when empty)."""
    return item.xData, item.yData
