"""The Explain view: why a model forecasts what it does, as charts.

The user picks a model: a saved one from the library, or a model of the run shown (which is
first saved, fitted on all the run's bars, like "Save as model…" does, since only a fitted
model can be explained). The ``explain`` job (:func:`cryptodesk.app.explain.explain_job`) runs
in a worker (LightGBM's SHAP values, the nets' permutation importance, an ensemble's member
weights) and returns an :class:`~cryptodesk.app.explain.Explanation` of plain arrays, drawn
here: the global importance as a horizontal bar chart (largest first), and, where the method
gives per-forecast contributions, those of the forecast made at the bar under the price
chart's cursor (signed bars; for SHAP they add up, with the base value, to the forecast log
return).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from cryptodesk.gui.charts.crosshair import stamp_text
from cryptodesk.gui.compute import Compute, JobSlot
from cryptodesk.gui.theme import LIGHT, Theme

EXPLAIN_JOB = "explain"
TOP = 10  # bars drawn per chart, so their labels stay legible (all are in the tooltip)


@dataclass(frozen=True)
class Choice:
    """One model the user can explain: saved (``ref``) or of the run shown (``run_model``)."""

    text: str
    ref: str | None = None
    run_model: str | None = None


class BarChart(pg.PlotWidget):
    """Horizontal bars, one per feature, the first at the top. ``signed``: green for positive,
    red for negative values (contributions); else one neutral colour (importance)."""

    def __init__(self, title: str, signed: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.signed = signed
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setTitle(title)
        self.bars: pg.BarGraphItem | None = None
        self.names: list[str] = []
        self.values = np.array([])
        self._theme = LIGHT
        self.placeholder = pg.TextItem("", anchor=(0.5, 0.5))
        self.addItem(self.placeholder, ignoreBounds=True)
        self.placeholder.setPos(0.5, 0.5)

    def set_bars(self, names: list[str], values: np.ndarray, title: str,
                 empty: str = "") -> None:
        """Draw ``values`` (first name at the top); no names: clear and show ``empty``. The
        one bar item is updated in place (the cursor redraws it many times a second: items
        removed and re-added would leave garbage for the collector to free in any thread)."""
        self.names, self.values = list(names), np.asarray(values, dtype=float)
        self.setTitle(title, color=self._theme.chart_fg)
        self.placeholder.setText(empty if not names else "")
        self.placeholder.setVisible(not names)
        if not names:
            if self.bars is not None:
                self.bars.setVisible(False)
            self.getAxis("left").setTicks([[]])
            self.getPlotItem().vb.setRange(xRange=(0, 1), yRange=(0, 1))
            return
        n = len(names)
        ys = np.arange(n)[::-1].astype(float)
        opts = dict(x0=np.minimum(self.values, 0.0), width=np.abs(self.values), y=ys,
                    height=0.7, brushes=self._brushes(), pens=[pg.mkPen(None)] * n)
        if self.bars is None:
            self.bars = pg.BarGraphItem(**opts)
            self.addItem(self.bars)
        else:
            self.bars.setOpts(**opts)
        self.bars.setVisible(True)
        self.getAxis("left").setTicks([[(y, _short(name)) for y, name in zip(ys, names,
                                                                              strict=True)]])
        lo, hi = float(min(0.0, self.values.min())), float(max(0.0, self.values.max()))
        pad = 0.05 * (hi - lo or 1.0)
        self.getPlotItem().vb.setRange(xRange=(lo - pad, hi + pad), yRange=(-0.6, n - 0.4),
                                       padding=0)

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.setBackground(theme.chart_bg)
        for name in ("left", "bottom"):
            axis = self.getAxis(name)
            axis.setPen(pg.mkPen(theme.chart_fg))
            axis.setTextPen(pg.mkPen(theme.chart_fg))
        self.showGrid(x=True, y=False, alpha=theme.grid_alpha)
        self.placeholder.setColor(theme.muted)
        title = self.getPlotItem().titleLabel
        title.setText(title.text, color=theme.chart_fg)
        if self.bars is not None:
            self.bars.setOpts(brushes=self._brushes())

    def _brushes(self) -> list[str]:
        t = self._theme
        if not self.signed:
            return [t.forecast] * len(self.values)
        return [t.up if v >= 0 else t.down for v in self.values]


class ExplainView(QWidget):
    """Pick a model, explain it in a worker, draw the importance and the contributions at
    the cursor. Signals: ``explained(Explanation)``, ``save_requested(run model name)``,
    ``status(text)``, ``error(title, message, details)``."""

    explained = Signal(object)
    save_requested = Signal(str)
    status = Signal(str)
    error = Signal(str, str, str)

    def __init__(self, compute: Compute, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slot = JobSlot(compute, "explain", self)
        self.explanation: Any = None
        self.pending_save: str | None = None  # a run model being saved, to explain next
        self.model = QComboBox()
        self.model.setMinimumContentsLength(24)
        self.model.setToolTip("A saved model, or a model of the run shown (saved first: only "
                              "a fitted model can be explained)")
        self.bars = QSpinBox()
        self.bars.setRange(1, 100_000)
        self.bars.setValue(365)
        self.bars.setPrefix("last ")
        self.bars.setSuffix(" bars")
        self.bars.setToolTip("Forecasts explained: those made at the last N bars of the "
                             "model's series")
        self.button = QPushButton("Explain")
        self.button.clicked.connect(self.explain_current)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(lambda: self.slot.cancel())
        self.summary = QLabel("Pick a model and press Explain: its global importance and, at "
                              "the chart's cursor, each forecast's contributions appear here.")
        self.summary.setWordWrap(True)
        self.importance = BarChart("Global importance", signed=False)
        self.importance.setObjectName("importanceChart")
        self.contributions = BarChart("Contributions at the cursor")
        self.contributions.setObjectName("contributionsChart")
        top = QHBoxLayout()
        top.addWidget(QLabel("Model:"))
        top.addWidget(self.model, 1)
        top.addWidget(self.bars)
        top.addWidget(self.button)
        top.addWidget(self.cancel_button)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.importance)
        split.addWidget(self.contributions)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)
        self.slot.finished.connect(self._on_explained)
        self.slot.failed.connect(self._on_failed)
        self.slot.cancelled.connect(lambda _note: self._say("Explanation cancelled."))
        self.slot.busy_changed.connect(self._on_busy)
        self.slot.progress.connect(lambda _f, message, _eta: self._say(f"Explaining: {message}"))
        self.apply_theme(LIGHT)
        self._clear_charts()

    # ---------------------------------------------------------------- choices
    def set_choices(self, run_models: list[str], saved: list[Any]) -> None:
        """Refill the model list: the shown run's finished models, then the saved ones
        (``BundleInfo`` s; damaged ones left out). The current pick is kept when still there."""
        keep = self.model.currentText()
        self.model.clear()
        for name in run_models:
            self.model.addItem(f"run: {name} (saved first)", Choice(name, run_model=name))
        for info in saved:
            if getattr(info, "ok", not getattr(info, "error", None)):
                text = f"saved: {info.label or info.id} ({info.kind}, {info.symbol} " \
                       f"{info.timeframe})"
                self.model.addItem(text, Choice(text, ref=info.id))
        index = self.model.findText(keep)
        if index >= 0:
            self.model.setCurrentIndex(index)

    def choices(self) -> list[Choice]:
        return [self.model.itemData(i) for i in range(self.model.count())]

    def pick(self, text_part: str) -> bool:
        """Make the first choice whose text contains ``text_part`` current."""
        for i in range(self.model.count()):
            if text_part in self.model.itemText(i):
                self.model.setCurrentIndex(i)
                return True
        return False

    # ---------------------------------------------------------------- explaining
    def explain_current(self) -> bool:
        """Explain the picked model (a run's model is saved first: ``save_requested``)."""
        choice = self.model.currentData()
        if choice is None:
            self.error.emit("Nothing to explain", "Run a walk-forward or save a model first.",
                            "")
            return False
        if choice.run_model is not None:
            self.pending_save = choice.run_model
            self._say(f"Saving {choice.run_model} (fitted on all the run's bars) to explain it…")
            self.save_requested.emit(choice.run_model)
            return True
        return self.explain(choice.ref)

    def on_model_saved(self, info: dict[str, str]) -> None:
        """A model was saved: explain it if it was saved for that."""
        if self.pending_save is not None:
            self.pending_save = None
            self.explain(info["id"])

    def explain(self, ref: str) -> bool:
        """Start the ``explain`` job on saved model ``ref`` (its own series from the store)."""
        self.pending_save = None
        self.slot.start(EXPLAIN_JOB, {"ref": ref, "bars": int(self.bars.value())},
                        f"explain {ref}")
        self._say(f"Explaining {ref}…")
        return True

    def _on_busy(self, busy: bool) -> None:
        self.button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def _on_failed(self, failed: Any) -> None:
        first = failed.message.splitlines()[0][:200] if failed.message else "unknown error"
        self._say(f"Cannot explain: {first}")
        self.error.emit("Cannot explain the model", failed.message, failed.details)

    def _on_explained(self, expl: Any) -> None:
        self.explanation = expl
        names = list(expl.features[:TOP])
        values = np.asarray(expl.importance[:TOP], dtype=float)
        self.importance.set_bars(names, values, f"Global importance · {expl.method}")
        self.importance.setToolTip("\n".join(
            f"{i + 1}. {f}: {v:.4g}" for i, (f, v) in enumerate(
                zip(expl.features, expl.importance, strict=True))))
        per = "" if expl.contributions is None else (
            f"; contributions of {len(expl.x)} forecasts: move the cursor over the chart")
        notes = f" ({'; '.join(expl.notes)})" if expl.notes else ""
        self._say(f"{expl.label} ({expl.kind}): {len(expl.features)} inputs, {expl.unit}"
                  f"{per}{notes}")
        if expl.contributions is not None and len(expl.x):
            self.show_at(float(expl.x[-1]))
        else:
            self.contributions.set_bars([], np.array([]), "Contributions at the cursor",
                                        "This method gives no per-forecast contributions")
        self.explained.emit(expl)

    # ---------------------------------------------------------------- the cursor
    def origin_at(self, x: float) -> int | None:
        """Index of the forecast made at the last explained origin at or before time ``x``."""
        expl = self.explanation
        if expl is None or expl.contributions is None or not len(expl.x):
            return None
        i = int(np.searchsorted(expl.x, x, side="right")) - 1
        return i if i >= 0 else None

    def show_at(self, x: float) -> None:
        """Draw the contributions of the forecast made at the bar under the cursor."""
        i = self.origin_at(x)
        if i is None:
            if self.explanation is not None and self.explanation.contributions is not None:
                self.contributions.set_bars([], np.array([]), "Contributions at the cursor",
                                            "No explained forecast at the cursor")
            return
        expl = self.explanation
        row = np.asarray(expl.contributions[i], dtype=float)
        order = np.argsort(-np.abs(row), kind="stable")[:TOP]
        names = [expl.features[j] for j in order]
        bar = float(expl.x[1] - expl.x[0]) if len(expl.x) > 1 else 86_400.0
        title = f"At {stamp_text(float(expl.x[i]), bar)}"
        if expl.prediction is not None:
            title += f" · forecast {float(expl.prediction[i]):+.4g}"
        if expl.base is not None:
            title += f" = base {float(expl.base[i]):+.4g} + Σ"
        self.contributions.set_bars(names, row[order], title)

    # ---------------------------------------------------------------- misc
    def _say(self, text: str) -> None:
        self.summary.setText(text)
        self.status.emit(text)

    def _clear_charts(self) -> None:
        self.importance.set_bars([], np.array([]), "Global importance",
                                 "Explain a model to see its inputs' importance")
        self.contributions.set_bars([], np.array([]), "Contributions at the cursor", "")

    def apply_theme(self, theme: Theme) -> None:
        for chart in (self.importance, self.contributions):
            chart.apply_theme(theme)

    def shutdown(self) -> None:
        self.slot.shutdown()


def _short(name: str, limit: int = 22) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
