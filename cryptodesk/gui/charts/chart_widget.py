"""A chart made of rows: one :class:`~cryptodesk.gui.charts.row.ChartRow` per plot, stacked
on one time axis, with a crosshair and keyboard navigation.

:meth:`ChartWidget.add_row` takes a row class (vnpy's ``ChartWidget.add_plot``/``add_item``);
the first row added leads: the others follow its x range, and its bars define the crosshair's
snapping and the "show everything" range. Rows without data leave the layout and come back
when they get some; only the last shown row labels the time axis.

Mouse: drag to pan, wheel to zoom (x only; right-drag zooms freely), right-click for the menu
(:mod:`~cryptodesk.gui.charts.chart_menu`). Keyboard: Left/Right pan, Up/+ zoom in, Down/- zoom
out, Home shows everything, L switches the price scale between linear and log.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from pathlib import Path
from typing import TypeVar

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cryptodesk.gui.charts.chart_menu import install_chart_menu
from cryptodesk.gui.charts.crosshair import Crosshair, stamp_text
from cryptodesk.gui.charts.export import FILTERS
from cryptodesk.gui.charts.row import ChartRow
from cryptodesk.gui.theme import LIGHT, Theme

PAN_FRACTION = 0.1
ZOOM_FACTOR = 1.25
R = TypeVar("R", bound=ChartRow)


class ChartWidget(QWidget):
    """Title, readout and stacked rows (see module docstring)."""

    hovered = Signal(float)  # time (epoch seconds) under the mouse
    exported = Signal(object)  # Path of an exported image

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = LIGHT
        self.rows: dict[str, ChartRow] = {}
        self._layout_names: list[str] = []
        self._batch_depth = 0
        self.readout = QLabel(" ")
        self.readout.setObjectName("chartReadout")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        mono = QFont("DejaVu Sans Mono")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSizeF(max(8.0, self.font().pointSizeF() - 0.5))
        self.readout.setFont(mono)
        # long one-line texts must not set the window's minimum width (small screens)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # every series shown has its value in the readout: two lines, wrapped between them
        # (a fixed height: the chart must not jump as the mouse moves)
        self.readout.setWordWrap(True)
        self.readout.setFixedHeight(2 * self.readout.fontMetrics().lineSpacing() + 2)
        self.title = QLabel("No series loaded")
        self.title.setObjectName("chartTitle")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.head = QHBoxLayout()
        self.head.setContentsMargins(0, 0, 0, 0)
        self.head.addWidget(self.title, 1)
        self.log_button = QToolButton()
        self.log_button.setObjectName("logScaleButton")
        self.log_button.setText("Log")
        self.log_button.setCheckable(True)
        self.log_button.setToolTip("Logarithmic price scale (L, Ctrl+L): equal moves in percent "
                                   "look equal, so early years of a long history are not flat")
        self.log_button.toggled.connect(self.set_log_scale)
        self.head.addWidget(self.log_button)
        self.legends_shown = True
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.glw.installEventFilter(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        layout.addLayout(self.head)
        layout.addWidget(self.readout)
        layout.addWidget(self.glw, 1)
        self.crosshair = Crosshair(self)
        self.export_click = install_chart_menu(self)
        self.glw.setBackground(self.theme.chart_bg)

    # ---------------------------------------------------------------- rows
    def add_row(self, row_cls: type[R]) -> R:
        """Add a row of class ``row_cls`` below the others and return it."""
        row = row_cls()
        if row.name in self.rows:
            raise ValueError(f"the chart has a {row.name!r} row already")
        lead = self.lead
        self.rows[row.name] = row
        if lead is not None:
            row.plot_item.setXLink(lead.plot_item)
        row.on_change = self._on_row_change
        row.apply_theme(self.theme)
        self.crosshair.attach(row)
        self.relayout()
        return row

    def row(self, name: str) -> ChartRow:
        return self.rows[name]

    @property
    def lead(self) -> ChartRow | None:
        """The first row: the others follow its x range and its bars."""
        return next(iter(self.rows.values()), None)

    def shown_rows(self) -> list[ChartRow]:
        return [r for r in self.rows.values() if r.shown]

    def _on_row_change(self, _row: ChartRow) -> None:
        if not self._batch_depth and [r.name for r in self.shown_rows()] != self._layout_names:
            self.relayout()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Redraw several rows, then lay the chart out once (a layout pass costs tens of
        milliseconds: rows that come and go together should not pay it twice)."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if not self._batch_depth:
                self._on_row_change(self.lead)

    def relayout(self) -> None:
        """Put the shown rows in the layout (in the order they were added). Rows that come or
        go below the others are added or taken away alone; otherwise every row is placed
        again."""
        ci = self.glw.ci
        shown = self.shown_rows()
        names = [r.name for r in shown]
        laid = self._layout_names
        keep = len(laid) if names[: len(laid)] == laid else (
            len(names) if laid[: len(names)] == names else 0)
        for name in laid[keep:]:
            ci.removeItem(self.rows[name].plot_item)
        for index, row in enumerate(shown[keep:], start=keep):
            ci.addItem(row.plot_item, row=index, col=0)
            ci.layout.setRowStretchFactor(index, int(row.stretch * 10))
        for row in self.rows.values():
            row.plot_item.setVisible(row.shown)
            row.plot_item.getAxis("bottom").setStyle(showValues=bool(shown) and row is shown[-1])
        self._layout_names = names

    def set_row_hidden(self, name: str, hidden: bool) -> None:
        """Take row ``name`` off the chart (or put it back); the lead row always stays."""
        row = self.rows[name]
        if row is self.lead or row.hidden == hidden:
            return
        row.hidden = hidden
        self.relayout()

    # ---------------------------------------------------------------- scale, legends
    @property
    def log_scale(self) -> bool:
        return self.log_button.isChecked()

    def set_log_scale(self, on: bool) -> None:
        """Linear or logarithmic price scale on the lead row; the time range stays."""
        if self.log_button.isChecked() != on:
            self.log_button.setChecked(on)  # comes back here through toggled
            return
        font = self.log_button.font()
        font.setBold(on)  # a checked tool button is hard to tell in the dark theme
        self.log_button.setFont(font)
        lead = self.lead
        if lead is None:
            return
        x_range = self.x_range()
        lead.plot_item.setLogMode(x=False, y=on)  # (it turns every auto-range on)
        lead.plot_item.enableAutoRange(y=True)
        self.set_x_range(*x_range)

    def set_legends_shown(self, on: bool) -> None:
        """Show or hide every row's legend (they sit over the data)."""
        self.legends_shown = on
        for row in self.rows.values():
            legend = row.plot_item.legend
            if legend is not None:
                legend.user_hidden = not on
                legend.setVisible(on and bool(legend.items))

    # ---------------------------------------------------------------- cursor, export
    def cursor_at(self, scene_pos: QPointF) -> tuple[ChartRow, float, float] | None:
        """The shown row under ``scene_pos``, the bar time and the value there."""
        for row in self.shown_rows():
            if row.plot_item.sceneBoundingRect().contains(scene_pos):
                point = row.view_box.mapSceneToView(scene_pos)
                bar = self.bar_at(point.x())
                if bar is None:
                    return None
                y = point.y()
                if row is self.lead and self.log_scale:
                    y = 10.0 ** y
                return row, bar, y
        return None

    def refresh_readout(self) -> None:
        """The readout again where it was last taken (or at the last bar): what is drawn
        there changed (another model picked, new forecasts)."""
        x = self.crosshair.last_x
        pyramid = getattr(self.lead, "pyramid", None)
        if x is None and pyramid is not None and len(pyramid):
            x = float(pyramid.base.x[-1])
        self.readout.setText(" " if x is None else self.crosshair.text(x))

    def values_text(self, row: ChartRow, x: float, y: float) -> str:
        """The readout at bar ``x`` as plain text, and the value of ``row``'s axis at ``y``."""
        text = unescape(re.sub(r"<[^>]+>", "", self.crosshair.text(x))).replace("\xa0", " ")
        return f"{text.strip()}  |  {row.title or row.name} at cursor: {y:,.6g}"

    def copy_values(self, row: ChartRow, x: float, y: float) -> str:
        text = self.values_text(row, x, y)
        QApplication.clipboard().setText(text)
        return text

    def export_title(self) -> tuple[str, str]:
        """Title and subtitle of an exported image: the series, the models drawn, the range."""
        title = self.title.text()
        names = [o.name for o in getattr(self.lead, "overlays", [])]
        future = getattr(getattr(self.lead, "future", None), "name", "")
        if future:
            names.append(f"{future} (forecast from last bar)")
        lo, hi = self.x_range()
        bounds = self.x_bounds()
        if bounds is not None:
            lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
        span = f"{self.stamp(lo)} – {self.stamp(hi)}"
        scale = " · log scale" if self.log_scale else ""
        models = f"models: {', '.join(names)}" if names else "no model shown"
        return title, f"{models} · {span} (UTC){scale}"

    def export_to(self, path: str | Path) -> Path:
        """Write the chart (title, legends, rows) as PNG or SVG (by suffix); returns the path."""
        from cryptodesk.gui.charts.titled_export import export_titled

        shown = self.legends_shown
        self.set_legends_shown(True)  # an image without its legend says less
        try:
            title, subtitle = self.export_title()
            out = export_titled(self.glw.ci, path, title, subtitle, self.theme.chart_bg,
                                self.theme.chart_fg)
        finally:
            self.set_legends_shown(shown)
        self.exported.emit(out)
        return out

    def ask_export(self, suffix: str = ".png") -> Path | None:
        """Ask for a file name (PNG or SVG) and export there."""
        start = str(Path.home() / f"chart{suffix}")
        chosen = FILTERS if suffix == ".png" else ";;".join(reversed(FILTERS.split(";;")))
        path, selected = QFileDialog.getSaveFileName(self, "Export chart", start, chosen)
        if not path:
            return None
        if not Path(path).suffix:
            path += ".svg" if "svg" in selected.lower() else ".png"
        return self.export_to(path)

    # ---------------------------------------------------------------- time axis
    def bar_at(self, x: float) -> float | None:
        """Start of the lead row's bar under ``x`` (None without bars)."""
        bar_at = getattr(self.lead, "bar_at", None)
        return None if bar_at is None else bar_at(x)

    def stamp(self, x: float) -> str:
        pyramid = getattr(self.lead, "pyramid", None)
        width = pyramid.base.width if pyramid is not None and len(pyramid) else 86_400.0
        return stamp_text(x, width)

    def x_bounds(self) -> tuple[float, float] | None:
        bounds = getattr(self.lead, "x_bounds", None)
        return None if bounds is None else bounds()

    def x_range(self) -> tuple[float, float]:
        lo, hi = self.lead.plot_item.viewRange()[0]
        return float(lo), float(hi)

    def set_x_range(self, lo: float, hi: float, padding: float = 0.0) -> None:
        self.lead.plot_item.setXRange(lo, hi, padding=padding)

    def show_all(self) -> None:
        """Fit the whole series (or nothing) into view."""
        bounds = self.x_bounds()
        if bounds is not None:
            self.set_x_range(*bounds, padding=0.01)

    def show_last(self, bars: int, until: float | None = None) -> None:
        """Show the last ``bars`` bars (and up to ``until``, e.g. a forecast's end)."""
        pyramid = getattr(self.lead, "pyramid", None)
        if pyramid is None or not len(pyramid):
            return
        base = pyramid.base
        start = float(base.x[max(0, len(base) - bars)])
        end = float(base.x[-1]) + base.width if until is None else until + base.width
        self.set_x_range(start, end, padding=0.02)

    def pan(self, fraction: float) -> None:
        lo, hi = self.x_range()
        d = (hi - lo) * fraction
        self.set_x_range(lo + d, hi + d)

    def zoom(self, factor: float, center: float | None = None) -> None:
        """Zoom in (factor > 1) or out (< 1) about ``center`` (default: the middle)."""
        lo, hi = self.x_range()
        c = (lo + hi) / 2 if center is None else center
        self.set_x_range(c - (c - lo) / factor, c + (hi - c) / factor)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.glw and event.type() == QEvent.Type.KeyPress:
            return self._key(event)  # type: ignore[arg-type]
        if obj is self.glw and event.type() == QEvent.Type.Leave:
            self.crosshair.hide()
        return super().eventFilter(obj, event)

    def _key(self, event: QKeyEvent) -> bool:
        k = Qt.Key
        actions = {k.Key_Left: lambda: self.pan(-PAN_FRACTION),
                   k.Key_Right: lambda: self.pan(PAN_FRACTION),
                   k.Key_Up: lambda: self.zoom(ZOOM_FACTOR), k.Key_Plus: lambda: self.zoom(ZOOM_FACTOR),
                   k.Key_Equal: lambda: self.zoom(ZOOM_FACTOR),
                   k.Key_Down: lambda: self.zoom(1 / ZOOM_FACTOR),
                   k.Key_Minus: lambda: self.zoom(1 / ZOOM_FACTOR), k.Key_Home: self.show_all,
                   k.Key_L: lambda: self.set_log_scale(not self.log_scale)}
        action = actions.get(Qt.Key(event.key()))
        if action is None:
            return False
        action()
        return True

    # ---------------------------------------------------------------- theme
    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.glw.setBackground(theme.chart_bg)
        for row in self.rows.values():
            row.apply_theme(theme)
        self.crosshair.apply_theme(theme)
