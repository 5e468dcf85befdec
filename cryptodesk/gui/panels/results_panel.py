"""The results table: one row per model run, sortable; picking a row shows its forecasts."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
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

from cryptodesk.gui.table_models import RESULT_COLUMNS, SORT_ROLE, ResultsTableModel

WIDTH_SAMPLES = {"model": "transformer", "status": "benchmark", "n": "12,345",
                 "mae": "123,456", "rmse": "123,456", "mape": "12.345",
                 "directional_accuracy": "100.0", "theils_u": "1.0000", "dm_p_value": "0.000",
                 "seconds": "1234.56", "sharpe": "-12.34", "max_drawdown": "-100.0",
                 "total_return": "-1234.5", "health": "degraded — retrain suggested"}


class ResultsPanel(QWidget):
    """Signal ``model_selected(name)`` when the user picks a row; ``save_requested(name)`` from
    the row's context menu or the "Save as model…" button."""

    model_selected = Signal(str)
    save_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ResultsTableModel()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
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
        self.summary = QLabel("")
        self.summary.setObjectName("resultsSummary")
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self.view)

    def _fixed_widths(self) -> None:
        bold = self.view.font()
        bold.setBold(True)  # naive's row and the degraded badge are bold
        fmb = QFontMetrics(bold)
        fmh = self.view.horizontalHeader().fontMetrics()
        for col, (key, header, _fmt, _tip) in enumerate(RESULT_COLUMNS):
            sample = WIDTH_SAMPLES.get(key, "12,345")
            width = max(fmh.horizontalAdvance(header) + 16, fmb.horizontalAdvance(sample) + 10)
            self.view.setColumnWidth(col, width)

    def clear(self) -> None:
        self.model.clear()

    def set_row(self, name: str, **values: Any) -> None:
        self.model.set_row(name, **values)

    def rows(self) -> list[dict[str, Any]]:
        return [self.model.row_values(n) for n in self.model.names()]

    def select(self, name: str) -> None:
        row = self.model.row_of(name)
        if row < 0:
            return
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.view.selectRow(index.row())

    def selected(self) -> str | None:
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            return None
        src = self.proxy.mapToSource(rows[0])
        return self.model.names()[src.row()]

    def savable(self, name: str | None) -> bool:
        return bool(name) and self.model.row_values(name).get("status") == "done"

    def _on_selection(self, *_: object) -> None:
        name = self.selected()
        self.save_button.setEnabled(self.savable(name))
        if name is not None:
            self.model_selected.emit(name)

    def refresh_buttons(self) -> None:
        self.save_button.setEnabled(self.savable(self.selected()))

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
        menu.popup(self.view.viewport().mapToGlobal(pos))  # type: ignore[arg-type]


__all__ = ["RESULT_COLUMNS", "ResultsPanel"]
