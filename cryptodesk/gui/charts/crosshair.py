"""The crosshair: a vertical line through every shown row, a horizontal one in the row under the
mouse, and a readout built from each shown row's ``info_text`` at the bar under the cursor.

It knows nothing of what the rows draw; a new row's readout appears without touching this
module (vnpy's ``ChartCursor`` asking every ``ChartItem.get_info_text``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from cryptodesk.gui.theme import Theme

if TYPE_CHECKING:
    from cryptodesk.gui.charts.chart_widget import ChartWidget
    from cryptodesk.gui.charts.row import ChartRow

MOUSE_RATE_HZ = 30
SEPARATOR = "&nbsp;&nbsp;"
WRAP_SEPARATOR = "&nbsp; "  # the one place a long readout may wrap


class Crosshair:
    """Lines and readout over a :class:`~cryptodesk.gui.charts.chart_widget.ChartWidget`."""

    def __init__(self, chart: ChartWidget) -> None:
        self.chart = chart
        self._vlines: dict[str, pg.InfiniteLine] = {}
        self.hline = pg.InfiniteLine(angle=0, movable=False)
        self._hline_row: ChartRow | None = None
        self.last_x: float | None = None  # where the readout was last taken
        self._proxy = pg.SignalProxy(chart.glw.scene().sigMouseMoved, rateLimit=MOUSE_RATE_HZ,
                                     slot=self._on_mouse)

    def attach(self, row: ChartRow) -> None:
        """Give a newly added row its vertical line."""
        line = pg.InfiniteLine(angle=90, movable=False)
        line.setVisible(False)
        row.plot_item.addItem(line, ignoreBounds=True)
        self._vlines[row.name] = line

    def hide(self) -> None:
        for line in self._vlines.values():
            line.setVisible(False)
        self.hline.setVisible(False)

    def _on_mouse(self, args: tuple[Any, ...]) -> None:
        pos = args[0]
        row = next((r for r in self.chart.shown_rows()
                    if r.plot_item.sceneBoundingRect().contains(pos)), None)
        if row is None:
            self.hide()
            return
        point = row.view_box.mapSceneToView(pos)
        self.move_to(point.x(), row, point.y())

    def move_to(self, x: float, row: ChartRow | None = None, y: float | None = None) -> None:
        """Put the crosshair at time ``x`` (and height ``y`` in ``row``); update the readout."""
        for name, line in self._vlines.items():
            line.setPos(x)
            line.setVisible(self.chart.row(name).shown)
        if self._hline_row is not row and self._hline_row is not None:
            self._hline_row.plot_item.removeItem(self.hline)
            self._hline_row = None
        if row is not None and y is not None:
            if self._hline_row is None:
                row.plot_item.addItem(self.hline, ignoreBounds=True)
                self._hline_row = row
            self.hline.setPos(y)
            self.hline.setVisible(True)
        else:
            self.hline.setVisible(False)
        self.last_x = x
        self.chart.readout.setText(self.text(x))
        self.chart.hovered.emit(x)

    def text(self, x: float) -> str:
        """The readout at time ``x``: the bar's time, then every shown row's info."""
        bar = self.chart.bar_at(x)
        if bar is None:
            return " "
        parts = [f"<b>{self.chart.stamp(bar)}</b>"]
        for row in self.chart.shown_rows():
            info = row.info_text(bar)
            if info:
                parts.append(info)
        # a long readout wraps between the rows' parts, never inside one ("O 2.29" stays whole)
        return WRAP_SEPARATOR.join(f"<span style='white-space:nowrap'>{p}</span>"
                                   for p in parts)

    def apply_theme(self, theme: Theme) -> None:
        pen = pg.mkPen(theme.crosshair, style=Qt.PenStyle.DotLine)
        for line in (*self._vlines.values(), self.hline):
            line.setPen(pen)


def stamp_text(x: float, bar_seconds: float) -> str:
    """``2025-12-31`` for daily bars and wider, ``2025-12-31 13:00:00`` below."""
    text = str(np.datetime64(int(x), "s")).replace("T", " ")
    return text[:10] if bar_seconds >= 86_400 else text
