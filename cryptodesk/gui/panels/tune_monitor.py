"""The live view of a tuning: a trial table and a best-so-far curve.

A tuned model (the training panel's Tune option) hands each finished trial out as a
:class:`~cryptodesk.evaluation.tuning_spec.TrialDone` event and each finished search (one per
tuned outer refit) as a :class:`~cryptodesk.evaluation.tuning_spec.TuningDone`; they arrive with
the run job's other events. This view keeps them (:class:`TuneLog`, Qt-free) and draws, at
most ten times a second: the table (model, refit, trial, state, inner Theil's U, best so far,
settings; newest first) and, per tuned model, its latest search's best-so-far curve (inner
Theil's U of the best trial after each trial; lower is better, trial 0 is the default
settings), with the trials' own values as dots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cryptodesk.gui.charts.row import legend_colors
from cryptodesk.gui.session_view import redraw_timer
from cryptodesk.gui.theme import LIGHT, Theme

HEADERS = ("Model", "Refit", "Trial", "State", "Inner U", "Best", "Settings")
MAX_ROWS = 2_000  # the table keeps the newest trials; the curve keeps every one


def _is(event: Any, name: str) -> bool:
    return type(event).__name__ == name and type(event).__module__.endswith("tuning_spec")


@dataclass
class TuneLog:
    """Every trial and search of the run so far (Qt-free)."""

    trials: list[Any] = field(default_factory=list)  # TrialDone, in arrival order
    searches: list[Any] = field(default_factory=list)  # TuningDone

    def apply(self, events: list[Any]) -> bool:
        """Take a batch of run events; True when one was a trial or a search."""
        changed = False
        for event in events:
            if _is(event, "TrialDone"):
                self.trials.append(event)
                changed = True
            elif _is(event, "TuningDone"):
                self.searches.append(event)
                changed = True
        return changed

    def models(self) -> list[str]:
        return list(dict.fromkeys(t.model for t in self.trials))

    def latest(self, model: str) -> list[Any]:
        """The trials of ``model``'s latest search (its newest refit), in trial order."""
        mine = [t for t in self.trials if t.model == model]
        if not mine:
            return []
        refit = mine[-1].refit
        return sorted((t for t in mine if t.refit == refit), key=lambda t: t.trial)


class TuneMonitor(QWidget):
    """Trial table and best-so-far curve (see module docstring)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.log = TuneLog()
        self._theme = LIGHT
        self._dirty = False
        self.summary = QLabel("Tick Tune in the training panel: the trials of each tuned "
                              "model appear here as they finish.")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setObjectName("trialTable")
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("bottom", "Trial")
        self.plot.setLabel("left", "Inner Theil's U")
        self.plot.setTitle("Best so far (latest search)")
        self.legend = self.plot.addLegend(offset=(-8, 8))
        self._curves: dict[str, tuple[Any, Any]] = {}
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.plot)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)
        self.apply_theme(LIGHT)
        self._timer = redraw_timer(self, self.redraw)

    # ---------------------------------------------------------------- feeding
    def reset(self) -> None:
        """A new run: forget the last one's trials."""
        self.log = TuneLog()
        self.table.setRowCount(0)
        for scatter, line in self._curves.values():
            self.plot.removeItem(scatter)
            self.plot.removeItem(line)
        self._curves.clear()
        self.legend.clear()
        self._dirty = False

    def apply_events(self, events: list[Any]) -> bool:
        """Take a batch of the run's events; True when a trial or a search was among them."""
        changed = self.log.apply(events)
        self._dirty = self._dirty or changed
        return changed

    # ---------------------------------------------------------------- drawing
    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self._draw_table()
        self._draw_curves()
        trials, searches = self.log.trials, self.log.searches
        pruned = sum(t.state == "pruned" for t in trials)
        text = f"{len(trials)} trial(s), {pruned} pruned; {len(searches)} search(es) done"
        if searches:
            last = searches[-1]
            text += (f" · {last.model} refit {last.refit}: best inner U "
                     f"{_fmt(last.best_value)} (defaults {_fmt(last.default_value)})")
        self.summary.setText(text)

    def _draw_table(self) -> None:
        rows = self.log.trials[-MAX_ROWS:][::-1]  # newest first
        best = {}  # (model, refit) -> its search's best trial so far
        for t in self.log.trials:
            best[(t.model, t.refit)] = t.best_trial
        table = self.table
        table.setRowCount(len(rows))
        for i, t in enumerate(rows):
            settings = ", ".join(f"{k}={_fmt(v)}" for k, v in t.params.items()) or "defaults"
            values = (t.model, str(t.refit), str(t.trial), t.state, _fmt(t.value),
                      _fmt(t.best_value), settings)
            for j, value in enumerate(values):
                item = QTableWidgetItem(value)
                if j == 6:
                    item.setToolTip(value)
                if j in (1, 2, 4, 5):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                if best.get((t.model, t.refit)) == t.trial and j == 4:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                table.setItem(i, j, item)
        table.resizeColumnsToContents()
        table.horizontalHeader().setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)

    def _draw_curves(self) -> None:
        for k, model in enumerate(self.log.models()):
            latest = self.log.latest(model)
            xs = [float(t.trial) for t in latest if t.best_value is not None]
            best = [float(t.best_value) for t in latest if t.best_value is not None]
            dots = [(float(t.trial), float(t.value)) for t in latest if t.value is not None]
            if model not in self._curves:
                colour = self._theme.series_colors[k % len(self._theme.series_colors)]
                line = self.plot.plot([], [], name=f"{model}: best so far",
                                      pen=pg.mkPen(colour, width=2), stepMode="right")
                scatter = pg.ScatterPlotItem(size=6, pen=pg.mkPen(None),
                                             brush=pg.mkBrush(colour + "70"))
                self.plot.addItem(scatter)
                self._curves[model] = (scatter, line)
            scatter, line = self._curves[model]
            line.setData(xs, best)
            scatter.setData([x for x, _ in dots], [y for _, y in dots])
        legend_colors(self.legend, self._theme)

    def best_curve(self, model: str) -> tuple[list[float], list[float]]:
        """The drawn best-so-far curve of ``model`` (x, y), for tests."""
        line = self._curves[model][1]
        xs, ys = line.getData()
        return ([] if xs is None else list(xs)), ([] if ys is None else list(ys))

    def rows(self) -> list[dict[str, str]]:
        """The trial table as shown (tests)."""
        t = self.table
        return [{HEADERS[j]: (t.item(i, j).text() if t.item(i, j) else "")
                 for j in range(len(HEADERS))} for i in range(t.rowCount())]

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.plot.setBackground(theme.chart_bg)
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(pg.mkPen(theme.chart_fg))
            axis.setTextPen(pg.mkPen(theme.chart_fg))
        self.plot.showGrid(x=True, y=True, alpha=theme.grid_alpha)
        title = self.plot.getPlotItem().titleLabel
        title.setText(title.text, color=theme.chart_fg)
        for k, (scatter, line) in enumerate(self._curves.values()):
            colour = theme.series_colors[k % len(theme.series_colors)]
            line.setPen(pg.mkPen(colour, width=2))
            scatter.setBrush(pg.mkBrush(colour + "70"))
        legend_colors(self.legend, theme)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
