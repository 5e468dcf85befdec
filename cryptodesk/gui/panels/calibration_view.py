"""The results panel's "Calibration…" window: is the selected model's 80 % band honest, and is
its P(up) worth anything?

Three small plots of the finished run's report (``RunResult.calibration()`` through the
Qt-free :func:`~cryptodesk.app.calibration_display.calibration_display`): coverage of the band
per horizon step against the nominal 80 % (the 75-85 % range shaded), the PIT histogram against
the flat line a calibrated band gives, and the reliability diagram of P(up) against the
diagonal, with the Brier score in the line above. It follows the session: the first selected
model of the series shown; volatility runs have no band and say so. A non-modal window
(:class:`CalibrationDialog`), because three readable plots need more height than the results
dock has at 1280×800.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

from cryptodesk.app.session import BENCHMARK_ROW, Change, Session
from cryptodesk.gui.session_view import follow
from cryptodesk.gui.theme import Theme, theme_named

EMPTY = np.array([])


class CalibrationView(QWidget):
    """Coverage per horizon, PIT histogram and reliability diagram of one model."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.display: Any = None  # CalibrationDisplay shown, or None
        self.summary = QLabel("Calibration of the selected model appears here after a run.")
        self.summary.setObjectName("calibrationSummary")
        self.summary.setWordWrap(True)
        self.glw = pg.GraphicsLayoutWidget()
        self.coverage = self._plot(0, "Coverage % per step", "step h")
        self.pit = self._plot(1, "PIT histogram", "PIT")
        self.reliability = self._plot(2, "Reliability of P(up)", "forecast P(up)")
        self.cov_bars = pg.BarGraphItem(x=EMPTY, height=EMPTY, width=0.6)
        self.cov_ok = pg.LinearRegionItem((75.0, 85.0), orientation="horizontal", movable=False)
        self.cov_nominal = pg.InfiniteLine(pos=80.0, angle=0, movable=False)
        for item in (self.cov_ok, self.cov_bars, self.cov_nominal):
            self.coverage.addItem(item)
        self.coverage.setYRange(50, 100)
        self.pit_bars = pg.BarGraphItem(x0=EMPTY, x1=EMPTY, height=EMPTY)
        self.pit_flat = pg.InfiniteLine(angle=0, movable=False)
        self.pit_flat.setVisible(False)
        self.pit.addItem(self.pit_bars)
        self.pit.addItem(self.pit_flat)
        self.diagonal = pg.PlotDataItem([0, 1], [0, 1])
        self.rel_points = pg.ScatterPlotItem()
        self.rel_line = pg.PlotDataItem()
        for item in (self.diagonal, self.rel_line, self.rel_points):
            self.reliability.addItem(item)
        self.reliability.setXRange(0, 1)
        self.reliability.setYRange(0, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        layout.addWidget(self.summary)
        layout.addWidget(self.glw, 1)
        self.theme: Theme = theme_named("light")
        self._apply_theme(self._palette_theme())
        follow(session, self, self._on_change, ("series", "run", "selection"))
        self.refresh()

    def _plot(self, col: int, title: str, xlabel: str) -> pg.PlotItem:
        plot = self.glw.addPlot(row=0, col=col)
        plot.setTitle(title, size="9pt")
        plot.setLabel("bottom", xlabel)
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.showGrid(x=False, y=True, alpha=0.2)
        return plot

    # ---------------------------------------------------------------- following the session
    def _on_change(self, change: Change) -> None:
        if change.topic == "series" or change.key == self.session.key:
            self.refresh()

    def model_shown(self) -> str | None:
        """The model whose calibration is drawn: the first selected, else the run's best."""
        current = self.session.current
        if current is None or current.result is None:
            return None
        names = [n for n in current.selection if n != BENCHMARK_ROW]
        return names[0] if names else current.best()

    def refresh(self) -> None:
        from cryptodesk.app.calibration_display import calibration_display

        current = self.session.current
        name = self.model_shown()
        if name is None:
            self._draw(None, "Calibration of the selected model appears here after a run.")
            return
        if current.result.spec.target != "price":
            self._draw(None, "A volatility run forecasts no price band or P(up): see its "
                             "QLIKE, MZ R² and DM p in the table.")
            return
        display = calibration_display(name, current.result.calibration().get(name))
        self._draw(display, f"{name}: no calibration in this run's report." if display is None
                   else display.summary())

    def _draw(self, display: Any, text: str) -> None:
        self.display = display
        self.summary.setText(text)
        if display is None:
            self.cov_bars.setOpts(x=EMPTY, height=EMPTY)
            self.pit_bars.setOpts(x0=EMPTY, x1=EMPTY, height=EMPTY)
            self.pit_flat.setVisible(False)
            self.rel_points.setData([], [])
            self.rel_line.setData([], [])
            return
        th = self.theme
        colors = [th.series_colors[0] if v == "calibrated" else th.down
                  for v in display.verdicts()]
        self.cov_bars.setOpts(x=display.steps.astype(float), height=display.coverage,
                              width=0.6, brushes=[pg.mkBrush(c) for c in colors],
                              pen=pg.mkPen(None))
        if display.steps.size:
            self.coverage.setXRange(0.4, float(display.steps.max()) + 0.6, padding=0)
            every = max(1, int(display.steps.size // 12) + 1)  # whole steps, a dozen at most
            self.coverage.getAxis("bottom").setTicks(
                [[(float(s), str(int(s))) for s in display.steps[::every]]])
        lowest = np.nanmin(display.coverage) if display.coverage.size else 60.0
        self.coverage.setYRange(min(50.0, float(lowest) - 5.0), 100.0, padding=0)
        edges = display.pit_edges
        if edges.size > 1:
            self.pit_bars.setOpts(x0=edges[:-1], x1=edges[1:], height=display.pit_counts,
                                  brush=pg.mkBrush(th.series_colors[0] + "b0"),
                                  pen=pg.mkPen(th.chart_bg))
            self.pit_flat.setPos(display.pit_flat or 0.0)
            self.pit_flat.setVisible(True)
        else:
            self.pit_bars.setOpts(x0=EMPTY, x1=EMPTY, height=EMPTY)
            self.pit_flat.setVisible(False)
        ok = np.isfinite(display.rel_mean_p) & np.isfinite(display.rel_observed)
        xs, ys, ns = display.rel_mean_p[ok], display.rel_observed[ok], display.rel_n[ok]
        sizes = 6 + 14 * np.sqrt(ns / ns.max()) if ns.size else []
        self.rel_points.setData(xs, ys, size=sizes, brush=pg.mkBrush(th.series_colors[1]),
                                pen=pg.mkPen(th.chart_bg))
        self.rel_line.setData(xs, ys, pen=pg.mkPen(th.series_colors[1], width=1.2))
        self.reliability.setTitle(
            "Reliability of P(up)" + (f" · Brier {display.brier:.3f}"
                                      if display.brier is not None else ""), size="9pt")

    # ---------------------------------------------------------------- theme
    def _palette_theme(self) -> Theme:
        """The app's theme, read from the palette (the window sets it on the application)."""
        dark = self.palette().color(self.palette().ColorRole.Window).lightness() < 128
        return theme_named("dark" if dark else "light")

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_theme(self._palette_theme())
        super().changeEvent(event)

    def _apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.glw.setBackground(theme.chart_bg)
        for plot in (self.coverage, self.pit, self.reliability):
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setPen(pg.mkPen(theme.chart_fg))
                axis.setTextPen(pg.mkPen(theme.chart_fg))
            plot.titleLabel.setText(plot.titleLabel.text, color=theme.chart_fg, size="9pt")
        self.cov_ok.setBrush(pg.mkBrush(theme.up + "30"))
        for line in (self.cov_nominal, self.pit_flat):
            line.setPen(pg.mkPen(theme.muted, style=Qt.PenStyle.DashLine))
        self.diagonal.setPen(pg.mkPen(theme.muted, style=Qt.PenStyle.DashLine))
        if self.display is not None:
            self._draw(self.display, self.summary.text())


class CalibrationDialog(QDialog):
    """A non-modal window around a :class:`CalibrationView`."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Calibration of the selected model")
        self.setObjectName("calibrationDialog")
        self.setModal(False)
        self.view = CalibrationView(session)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.view)
        self.resize(980, 400)
