"""Live loss curves (train and validation loss per epoch) for models that train in epochs."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QWidget

from cryptodesk.app.session import Change, Session
from cryptodesk.gui.charts.row import legend_colors, legend_hidden
from cryptodesk.gui.session_view import follow, redraw_timer
from cryptodesk.gui.theme import LIGHT, Theme


class LossChart(pg.PlotWidget):
    """The session's loss curves: the selected model's, else the model training now.

    Epoch reports mark it dirty; a ~10 Hz timer redraws."""

    exported = Signal(object)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMenuEnabled(False)
        self.setLabel("bottom", "Epoch")
        self.setLabel("left", "Loss")
        self.setTitle("Training loss")
        self.legend = self.addLegend(offset=(-8, 8))
        self.train = self.plot([], [], name="train", symbol="o", symbolSize=4)
        self.val = self.plot([], [], name="validation", symbol="o", symbolSize=4)
        self.naive = self.plot([], [], name="naive on validation")
        for curve in (self.train, self.val):
            curve.setClipToView(True)
        self.placeholder = pg.TextItem("Loss curves appear here\nfor models that train in epochs",
                                       anchor=(0.5, 0.5))
        self.addItem(self.placeholder, ignoreBounds=True)
        self.placeholder.setPos(0.5, 0.5)
        self.getPlotItem().vb.setRange(xRange=(0, 1), yRange=(0, 1))
        from cryptodesk.gui.charts.export import install_export_menu

        self.export_click = install_export_menu(self, self.getPlotItem(), "loss-chart",
                                                self.exported.emit)
        self.apply_theme(LIGHT)
        self.clear_losses()
        self.session = session
        self._timer = redraw_timer(self, self.redraw)
        follow(session, self, self._on_change, ("series", "run", "losses", "selection"))
        self._dirty = True
        self.redraw()

    def _on_change(self, change: Change) -> None:
        if change.topic == "series" or change.key == self.session.key:
            self._dirty = True
            if change.topic != "losses":
                self.redraw()

    def shown_model(self) -> str:
        """The model whose losses are drawn ("" for none)."""
        current = self.session.current
        if current is None:
            return ""
        selected = [n for n in current.selection if n in current.models]
        return selected[0] if selected else current.loss_model

    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        current, name = self.session.current, self.shown_model()
        loss = None if current is None or not name else current.models[name].losses
        if loss is None or not loss.epochs:
            self.clear_losses()
            return
        fit = f" · fit {loss.fits}" if loss.fits > 1 else ""
        self.set_losses(f"{name}{fit}", *loss.arrays(), naive=loss.naive)

    def set_legends_shown(self, on: bool) -> None:
        """Show or hide the legend (it can sit over the curves)."""
        self.legend.user_hidden = not on
        self.legend.setVisible(on and self.train.xData is not None and len(self.train.xData) > 0)

    def set_losses(self, title: str, epochs: np.ndarray, train: np.ndarray,
                   val: np.ndarray | None, naive: float | None = None) -> None:
        """Show one model's curves (empty arrays clear); ``naive`` is the no-change forecast's
        loss on the validation tail, the line a useful net must get under."""
        self.placeholder.setVisible(epochs.size == 0)
        self.legend.setVisible(epochs.size > 0 and not legend_hidden(self.legend))
        self.setTitle(f"Training loss · {title}" if title else "Training loss")
        self.train.setData(epochs, train)
        if val is not None and np.isfinite(val).any():
            self.val.setData(epochs, val)
        else:
            self.val.setData([], [])
        if naive is not None and epochs.size:
            self.naive.setData([epochs[0], max(epochs[-1], epochs[0] + 1)], [naive, naive])
        else:
            self.naive.setData([], [])
        if epochs.size:
            self.getPlotItem().enableAutoRange()

    def clear_losses(self) -> None:
        self.set_losses("", np.array([]), np.array([]), None)
        self.getPlotItem().vb.setRange(xRange=(0, 1), yRange=(0, 1))

    def apply_theme(self, theme: Theme) -> None:
        self.setBackground(theme.chart_bg)
        for name in ("left", "bottom"):
            axis = self.getAxis(name)
            axis.setPen(pg.mkPen(theme.chart_fg))
            axis.setTextPen(pg.mkPen(theme.chart_fg))
        self.showGrid(x=True, y=True, alpha=theme.grid_alpha)
        self.train.setPen(pg.mkPen(theme.loss_train, width=1.6))
        self.train.setSymbolBrush(theme.loss_train)
        self.train.setSymbolPen(theme.loss_train)
        self.val.setPen(pg.mkPen(theme.loss_val, width=1.6))
        self.val.setSymbolBrush(theme.loss_val)
        self.val.setSymbolPen(theme.loss_val)
        self.naive.setPen(pg.mkPen(theme.muted, width=1.2, style=Qt.PenStyle.DashLine))
        self.placeholder.setColor(theme.muted)
        self.getPlotItem().titleLabel.setText(
            self.getPlotItem().titleLabel.text, color=theme.chart_fg
        )
        legend_colors(self.legend, theme)
