"""The results table: one row per model of the shown series' run, sortable; the selected rows
are the session's selection (the chart overlays their forecasts, the first one's trading curves
and residuals below).

The table follows the session: switching series shows that series' results (or none), a run's
rows fill in as its models finish, and picking rows selects those models in the session.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelectionModel, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from cryptodesk.app.session import BENCHMARK_ROW, DONE, Change, Session
from cryptodesk.gui.panels.calibration_view import CalibrationDialog
from cryptodesk.gui.session_view import follow
from cryptodesk.gui.table_models import (
    RESULT_COLUMNS,
    SORT_ROLE,
    ResultsTableModel,
    hidden_columns,
)

WIDTH_SAMPLES = {"model": "transformer", "status": "benchmark", "n": "12,345",
                 "mae": "123,456", "rmse": "123,456", "mape": "12.345",
                 "directional_accuracy": "100.0", "theils_u": "1.0000", "dm_p_value": "0.000",
                 "qlike": "12.345", "mse_var": "1.23e-05", "mz_r2": "0.123",
                 "seconds": "1234.56", "sharpe": "-12.34", "max_drawdown": "-100.0",
                 "total_return": "-1234.5", "health": "degraded"}  # the reasons: tooltip


class ResultsPanel(QWidget):
    """Signals: ``save_requested(name)`` (the row's context menu, "Save as model…") and
    ``copy_requested()`` ("Copy as command")."""

    save_requested = Signal(str)
    copy_requested = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._syncing = False
        self.model = ResultsTableModel()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # Ctrl/Shift-click picks several models: their forecasts are overlaid on the chart
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(22)
        head = self.view.horizontalHeader()
        # Fixed widths from the header and a typical value: ResizeToContents re-measures on every
        # row update, and each width change re-lays out the window (measured: 200-300 ms stalls
        # of the event loop while a run fills the table).
        head.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        head.setStretchLastSection(True)
        head.setMinimumSectionSize(40)
        self._fixed_widths()
        self.view.selectionModel().selectionChanged.connect(self._on_selection)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.save_button = QPushButton("Save as model…")
        self.save_button.setToolTip("Fit the selected row's model (same settings) on all bars of "
                                    "the series and keep it in the model library")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self._request_save)
        self.copy_button = QPushButton("Copy as command")
        self.copy_button.setToolTip("Put 'cryptodesk run <spec>' on the clipboard: the same run, "
                                    "headless, with bit-identical forecasts")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_requested)
        self.calibration_button = QPushButton("Calibration…")
        self.calibration_button.setToolTip("Coverage of the 80 % band per horizon, PIT histogram, "
                                           "Brier score and reliability of P(up) of the selected "
                                           "model")
        self.calibration_button.setEnabled(False)
        self.calibration_button.clicked.connect(self.show_calibration)
        self.calibration_dialog: CalibrationDialog | None = None
        self.summary = QLabel("")
        self.summary.setObjectName("resultsSummary")
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.calibration_button)
        bar.addWidget(self.copy_button)
        bar.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self.view)
        follow(session, self, self._on_change, ("series", "run", "model", "selection"))
        self.reload()

    def _fixed_widths(self) -> None:
        bold = self.view.font()
        bold.setBold(True)  # naive's row and the degraded badge are bold
        fmb = QFontMetrics(bold)
        fmh = self.view.horizontalHeader().fontMetrics()
        for col, (key, header, _fmt, _tip) in enumerate(RESULT_COLUMNS):
            sample = WIDTH_SAMPLES.get(key, "12,345")
            width = max(fmh.horizontalAdvance(header) + 16, fmb.horizontalAdvance(sample) + 10)
            self.view.setColumnWidth(col, width)

    # ---------------------------------------------------------------- following the session
    def _on_change(self, change: Change) -> None:
        if change.topic == "series":
            self.reload()
        elif change.key != self.session.key:
            return
        elif change.topic == "run":
            self.reload()
        elif change.topic == "model" and change.model:
            model = self.session.current.model(change.model)
            if model is not None:
                row = model.row()
                self.model.set_row(row.pop("model"), **row)
                self.refresh_buttons()
        elif change.topic == "selection":
            self._show_selection()

    def reload(self) -> None:
        """All rows of the shown series' results (none before a run)."""
        current = self.session.current
        self.model.clear()
        for row in [] if current is None else current.rows():
            self.model.set_row(row.pop("model"), **row)
        self._show_selection()
        spec = None if current is None else current.spec
        self.summary.setText("" if spec is None else _describe(spec))
        hide = hidden_columns("price" if spec is None else spec.target)
        for col in range(len(RESULT_COLUMNS)):
            self.view.setColumnHidden(col, col in hide)
        self.refresh_buttons()

    def _show_selection(self) -> None:
        """Select the session's selection in the view (without echoing it back)."""
        self._syncing = True
        try:
            sel = self.view.selectionModel()
            sel.clearSelection()
            flags = (QItemSelectionModel.SelectionFlag.Select
                     | QItemSelectionModel.SelectionFlag.Rows)
            for i, name in enumerate(self.session.selection):
                row = self.model.row_of(name)
                if row < 0:
                    continue
                index = self.proxy.mapFromSource(self.model.index(row, 0))
                sel.select(index, flags)
                if i == 0:
                    sel.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
        finally:
            self._syncing = False
        self.refresh_buttons()

    # ---------------------------------------------------------------- rows
    def set_row(self, name: str, **values: Any) -> None:
        self.model.set_row(name, **values)

    def rows(self) -> list[dict[str, Any]]:
        return [self.model.row_values(n) for n in self.model.names()]

    def select(self, name: str) -> None:
        """Select one row (and so, in the session, that model alone)."""
        self.session.select([name])

    def selected_names(self) -> list[str]:
        """The selected rows, the current one first, then in table order."""
        rows = self.view.selectionModel().selectedRows()
        names = [self.model.names()[self.proxy.mapToSource(r).row()] for r in rows]
        current = self.view.selectionModel().currentIndex()
        if current.isValid():
            first = self.model.names()[self.proxy.mapToSource(current).row()]
            if first in names:
                names.remove(first)
                names.insert(0, first)
        return names

    def selected(self) -> str | None:
        names = self.selected_names()
        return names[0] if names else None

    def savable(self, name: str | None) -> bool:
        spec = self.session.spec  # a saved bundle forecasts prices: not a volatility run's model
        return (bool(name) and name != BENCHMARK_ROW and (spec is None or spec.target == "price")
                and self.model.row_values(name).get("status") == DONE)

    def _on_selection(self, *_: object) -> None:
        if not self._syncing:
            self.session.select(self.selected_names())
        self.refresh_buttons()

    def refresh_buttons(self) -> None:
        self.save_button.setEnabled(self.savable(self.selected()))
        self.copy_button.setEnabled(self.session.spec is not None)
        current = self.session.current
        self.calibration_button.setEnabled(current is not None and current.result is not None)

    def show_calibration(self) -> CalibrationDialog:
        """Open (or raise) the non-modal calibration window; it follows the selection."""
        if self.calibration_dialog is None:
            self.calibration_dialog = CalibrationDialog(self.session, self)
        self.calibration_dialog.show()
        self.calibration_dialog.raise_()
        return self.calibration_dialog

    def _request_save(self) -> None:
        name = self.selected()
        if self.savable(name):
            self.save_requested.emit(name)

    def _context_menu(self, pos: object) -> None:
        index = self.view.indexAt(pos)  # type: ignore[arg-type]
        if not index.isValid():
            return
        self.view.selectRow(index.row())
        name = self.selected()
        menu = QMenu(self)
        act = menu.addAction(f"Save {name} as model…", self._request_save)
        act.setEnabled(self.savable(name))
        menu.addAction("Copy as command", self.copy_requested)
        menu.popup(self.view.viewport().mapToGlobal(pos))  # type: ignore[arg-type]


def _describe(spec: Any) -> str:
    """One line about a run: protocol, seed and strategy (what the numbers depend on)."""
    p = spec.protocol
    test = f"last {p.test_size} bars" if p.test_size else f"from {p.test_start}"
    refit = f"refit every {p.refit_every}" if p.refit_every else "one fit"
    trade = f" · {spec.strategy.label().split(';')[0]}" if spec.strategy is not None else ""
    if spec.target == "volatility":  # no trading: the run forecasts variances
        trade = f" · volatility target ({spec.rv_method} measure)"
    return (f"{spec.data.symbol} {spec.data.timeframe} · test {test}, horizon {p.horizon}, "
            f"{refit} · seed {spec.seed}{trade}")


__all__ = ["RESULT_COLUMNS", "ResultsPanel"]
