"""Several models' forecasts after the last candle on the price row (Run ▸ Forecast).

Each model's path is a dashed line joined to the last close, with its 80 % band opening from
that close, one distinct colour per model (the theme's series colours, in the order the
models were ticked). The legend is not drawn over the data: :meth:`FuturePaths.legend_html`
gives a rich-text legend the chart shows in its header, outside the plot (and in the exported
picture, which is the whole chart widget). The crosshair snaps to the future steps too, and
:meth:`FuturePaths.info_text` reads out each model's forecast, band and P(up) there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from cryptodesk.gui.charts.row import curve, fmt_price, value_at
from cryptodesk.gui.theme import LIGHT, Theme

BAND_FILL_ALPHA = "22"
BAND_EDGE_ALPHA = "90"


@dataclass(frozen=True)
class PathView:
    """What the chart draws of one model's future path: target times (epoch seconds), point
    forecasts, the 80 % band and P(up) per step (None where the model has none)."""

    name: str
    x: np.ndarray
    point: np.ndarray
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    p_up: np.ndarray | None = None

    @property
    def has_band(self) -> bool:
        return (self.lower is not None and self.upper is not None
                and bool(np.isfinite(self.lower).any()))

    @classmethod
    def of(cls, path: object) -> PathView:
        """From the app layer's ``FuturePath`` (or anything with the same fields)."""
        return cls(str(path.model), np.asarray(path.x, np.float64),  # type: ignore[attr-defined]
                   np.asarray(path.point, np.float64),  # type: ignore[attr-defined]
                   _array(path.lower), _array(path.upper),  # type: ignore[attr-defined]
                   _array(path.p_up))  # type: ignore[attr-defined]


def _short(value: float) -> str:
    """A band edge: whole units from 1,000 up (the readout holds one band per model)."""
    return f"{value:,.0f}" if abs(value) >= 1000 else fmt_price(value)


def _array(values: object) -> np.ndarray | None:
    return None if values is None else np.asarray(values, np.float64)


class _PathItems:
    """The line, band edges and fill of one path (created once, refilled)."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.line = curve()
        self.lo, self.hi = curve(), curve()
        self.fill = pg.FillBetweenItem(self.lo, self.hi)
        for item in (self.fill, self.lo, self.hi):  # a wide band must not squash the candles
            plot.addItem(item, ignoreBounds=True)
        plot.addItem(self.line)

    def set(self, x: np.ndarray, y: np.ndarray, lower: np.ndarray | None,
            upper: np.ndarray | None) -> None:
        self.line.setData(x, y)
        if lower is not None and upper is not None:
            ok = np.isfinite(lower) & np.isfinite(upper)
            self.lo.blockSignals(True)  # one fill rebuild for both edges
            try:
                self.lo.setData(x[ok], lower[ok])
            finally:
                self.lo.blockSignals(False)
            self.hi.setData(x[ok], upper[ok])
            self.fill.setVisible(bool(ok.any()))
        else:
            self.lo.setData(np.array([]), np.array([]))
            self.hi.setData(np.array([]), np.array([]))
            self.fill.setVisible(False)

    def color(self, color: str) -> None:
        self.line.setPen(pg.mkPen(color, width=2.0, style=Qt.PenStyle.DashLine))
        for edge in (self.lo, self.hi):
            edge.setPen(pg.mkPen(color + BAND_EDGE_ALPHA, width=1.0, style=Qt.PenStyle.DotLine))
        self.fill.setBrush(pg.mkBrush(color + BAND_FILL_ALPHA))


class FuturePaths:
    """The future paths of a price row's plot (see module docstring)."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.paths: list[PathView] = []
        self._items: list[_PathItems] = []
        self.theme: Theme = LIGHT

    # ---------------------------------------------------------------- data
    def set(self, paths: list[PathView], x0: float | None = None,
            close0: float | None = None) -> None:
        """Draw ``paths``, each joined to the last close ``close0`` at bar time ``x0`` (when
        given); [] clears them."""
        self.paths = list(paths)
        while len(self._items) < len(self.paths):
            self._items.append(_PathItems(self.plot))
            self._items[-1].color(self.color_of(len(self._items) - 1))
        for i, items in enumerate(self._items):
            if i >= len(self.paths):
                items.set(np.array([]), np.array([]), None, None)
                continue
            p = self.paths[i]
            x, y, lo, hi = p.x, p.point, p.lower, p.upper
            if x0 is not None and close0 is not None and x.size:
                x = np.concatenate([[x0], x])
                y = np.concatenate([[close0], y])
                if p.has_band:
                    lo = np.concatenate([[close0], lo])  # type: ignore[list-item]
                    hi = np.concatenate([[close0], hi])  # type: ignore[list-item]
            items.set(x, y, lo if p.has_band else None, hi if p.has_band else None)

    def clear(self) -> None:
        self.set([])

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.paths]

    def x_values(self) -> np.ndarray:
        """Every future step's time, sorted (the crosshair snaps to them)."""
        if not self.paths:
            return np.array([])
        return np.unique(np.concatenate([p.x for p in self.paths]))

    def band_visible(self, index: int) -> bool:
        return index < len(self.paths) and self._items[index].fill.isVisible()

    def points(self, index: int) -> int:
        """Steps drawn for path ``index`` (without the join to the last close)."""
        return int(self.paths[index].x.size) if index < len(self.paths) else 0

    # ---------------------------------------------------------------- colours, legend, readout
    def color_of(self, index: int) -> str:
        colors = self.theme.series_colors
        return colors[index % len(colors)]

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        for i, items in enumerate(self._items):
            items.color(self.color_of(i))

    def legend_html(self) -> str:
        """A one-line legend (rich text) for outside the plot; "" without paths."""
        if not self.paths:
            return ""
        parts = [f"<span style='color:{self.color_of(i)}'>╌╌ {p.name}</span>"
                 for i, p in enumerate(self.paths)]
        band = " · shaded: 80 % band" if any(p.has_band for p in self.paths) else ""
        return ("Forecast from the last bar: " + "&nbsp;&nbsp;".join(parts)
                + f"<span style='color:{self.theme.muted}'>{band}</span>")

    def info_text(self, x: float) -> str:
        """Each model's forecast at future step ``x``: point, [band] and P(up)."""
        parts = []
        for i, p in enumerate(self.paths):
            value = value_at(p.x, p.point, x)
            if value is None:
                continue
            text = f"{p.name} {fmt_price(value)}"
            lo, hi = value_at(p.x, p.lower, x), value_at(p.x, p.upper, x)
            if lo is not None and hi is not None and np.isfinite(lo) and np.isfinite(hi):
                text += f" [{_short(lo)} – {_short(hi)}]"
            up = value_at(p.x, p.p_up, x)
            if up is not None and np.isfinite(up):
                text += f" P(up) {up:.2f}"
            text = text.replace(" ", "&nbsp;")  # a wrapped readout breaks between models only
            parts.append(f"<span style='color:{self.color_of(i)}'>{text}</span>")
        return " · ".join(parts)
