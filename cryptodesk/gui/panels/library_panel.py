"""The model library panel: saved bundles, their details, rename/delete/export/import, and
"Forecast now" on the series shown.

Library operations on files (listing, renaming, deleting, zipping) run on the panel's
:class:`~cryptodesk.gui.tasks.TaskRunner` (an I/O thread) through the app layer's library
workflows; "Forecast now" loads the model (its library: LightGBM, torch) and predicts in a
worker process (the ``forecast_bundle`` job), and its forecast goes into the session, which the
chart draws. Damaged bundles are listed with their error (they can be seen and deleted).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cryptodesk.app.bundle_details import manifest_summary, metric_text
from cryptodesk.app.retrain_view import headline_scores, health_text
from cryptodesk.app.session import Session
from cryptodesk.gui.compute import Compute, JobSlot
from cryptodesk.gui.panels._runner import RunnerPanelMixin
from cryptodesk.gui.panels.library_retrain import LibraryRetrain, RetrainOffer
from cryptodesk.gui.tasks import TaskRunner

if TYPE_CHECKING:  # the library workflows import pandas: loaded by the first listing
    from cryptodesk.app.library import LibraryListing

ID_ROLE = Qt.ItemDataRole.UserRole + 11
COLUMNS = ("Label", "Kind", "Symbol", "TF", "Saved", "RMSE", "Theil's U", "Health")
HEALTH_COL = 7


class LibraryPanel(RunnerPanelMixin, QWidget):
    """Signals: ``forecast_ready(BundleForecast)``, ``listed(LibraryListing)``, ``status(str)``,
    ``error(title, message, details)``, ``library_loading(text)`` ("Loading LightGBM…" while a
    forecast's worker loads the model's library for the first time; "" when done)."""

    forecast_ready = Signal(object)
    listed = Signal(object)
    status = Signal(str)
    error = Signal(str, str, str)
    library_loading = Signal(str)

    def __init__(self, session: Session, compute: Compute, root: Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.compute, self.root = session, compute, root
        self.bundles: list[Any] = []
        self.forecast_slot = JobSlot(compute, "forecast", self)
        self.forecast_slot.finished.connect(self._on_forecast)
        self.forecast_slot.failed.connect(self._on_forecast_failed)
        self.forecast_slot.cancelled.connect(lambda _note: self._forecast_ended("Cancelled."))
        self._forecast_library = ""
        self.runner = TaskRunner("model library", self)
        self._on_done: Any = None
        self.runner.finished.connect(lambda result: self._on_done(result))
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(lambda: self._say("Cancelled."))
        self.runner.progress.connect(lambda _f, m, _e: m and self.message.setText(m))

        self.tree = QTreeWidget()
        self.tree.setObjectName("libraryTree")
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        head = self.tree.header()
        head.setStretchLastSection(False)
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.itemSelectionChanged.connect(self._on_pick)
        self.tree.itemDoubleClicked.connect(lambda *_: self._request_forecast())
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)

        self.forecast_button = QPushButton("Forecast now")
        self.forecast_button.setToolTip("Load the model and forecast after the last bar of the "
                                        "loaded series (double-click does the same)")
        self.horizon = QSpinBox()
        self.horizon.setRange(1, 500)
        self.horizon.setValue(10)
        self.horizon.setPrefix("h = ")
        self.horizon.setToolTip("Forecast horizon (bars)")
        self.rename_button = QPushButton("Rename…")
        self.delete_button = QPushButton("Delete…")
        self.retrain_button = QPushButton("Retrain")
        self.retrain_button.setToolTip("Refit on the newest stored bars as a challenger; keep it "
                                       "unless it is significantly worse on the new bars")
        self.export_button = QPushButton("Export zip…")
        self.import_button = QPushButton("Import zip…")
        self.refresh_button = QToolButton()
        self.refresh_button.setText("⟳")
        self.refresh_button.setToolTip("Reload the list of saved models")
        self.forecast_button.clicked.connect(self._request_forecast)
        self.rename_button.clicked.connect(lambda: self._for_selected(self.choose_rename))
        self.delete_button.clicked.connect(lambda: self._for_selected(self.confirm_delete))
        self.export_button.clicked.connect(lambda: self._for_selected(self.choose_export))
        self.import_button.clicked.connect(self.choose_import)
        self.refresh_button.clicked.connect(lambda: self.refresh())
        row1 = QHBoxLayout()
        row1.addWidget(self.forecast_button)
        row1.addWidget(self.horizon)
        row1.addSpacing(12)
        for b in (self.retrain_button, self.rename_button, self.delete_button,
                  self.export_button, self.import_button):
            row1.addWidget(b)
        row1.addStretch(1)
        row1.addWidget(self.refresh_button)

        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Details of the selected model appear here. Save a model "
                                        "from the results table (right-click a row).")
        self.forecast_table = QTableWidget(0, 5)
        self.forecast_table.setHorizontalHeaderLabels(["Time (UTC)", "Forecast", "Low (10 %)",
                                                       "High (90 %)", "P(up)"])
        self.forecast_table.verticalHeader().setVisible(False)
        self.forecast_table.verticalHeader().setDefaultSectionSize(20)
        self.forecast_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.forecast_table.horizontalHeader().setStretchLastSection(True)
        self.forecast_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.details, "Details")
        self.tabs.addTab(self.forecast_table, "Forecast")

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tree)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([760, 560])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        self.offer = RetrainOffer()  # start-up: models worth retraining (non-modal)
        self.retrain_note = QLabel("")  # the last retrain's decision
        self.retrain_note.setObjectName("retrainNote")
        self.retrain_note.setWordWrap(True)
        self.retrain_note.setVisible(False)
        layout.addWidget(self.offer)
        layout.addWidget(self.retrain_note)
        layout.addLayout(row1)
        layout.addWidget(split, 1)
        layout.addWidget(self.message)
        self.retraining = LibraryRetrain(self)
        self._update_buttons()

    # ---------------------------------------------------------------- jobs
    def _flow(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """A job running the app layer's library workflow ``name`` on this panel's library
        (imported in the I/O thread: it loads pandas)."""
        root = self.root

        def job(ctx: Any) -> Any:
            from cryptodesk.app import library as flows
            from cryptodesk.io.bundles import ModelLibrary

            return getattr(flows, name)(*args, ctx=ctx, library=ModelLibrary(root), **kwargs)

        return job

    def refresh(self, select: str | None = None) -> None:
        self._start(self._flow("list_bundles", select=select), "Listing saved models",
                    self._on_listed)

    def rename(self, ref: str, label: str) -> None:
        self._start(self._flow("rename_bundle", ref, label), f"Renaming {ref}", self._on_listed)

    def delete(self, ref: str) -> None:
        self._start(self._flow("delete_bundle", ref), f"Deleting {ref}", self._on_listed)

    def export_zip(self, ref: str, out: Path) -> None:
        self._start(self._flow("export_bundle", ref, Path(out)), f"Exporting {ref}",
                    self._on_listed)

    def import_zip(self, path: Path) -> None:
        self._start(self._flow("import_bundle", Path(path)), f"Importing {Path(path).name}",
                    self._on_listed)

    def forecast(self, ref: str, horizon: int | None = None) -> bool:
        """Forecast after the last bar of the series shown with bundle ``ref``, in a worker
        process (loading the model imports its library there, never here)."""
        series = self.session.series
        if series is None:
            self.error.emit("Nothing to forecast from", "Load or import a series first.", "")
            return False
        info = next((b for b in self.bundles if b.id == ref), None)
        library = _library_of(info)
        if self.compute.needs_loading(library):  # first use: the import takes seconds
            self.library_loading.emit(f"Loading {library}…")
        self._forecast_library = library
        h = int(horizon or self.horizon.value())
        self._say(f"Forecasting with {ref}…")
        self.forecast_slot.start("forecast_bundle",
                                 {"ref": ref, "data": series.ref.to_dict(), "horizon": h},
                                 f"Forecasting with {ref}")
        return True

    # ---------------------------------------------------------------- dialogs
    def choose_rename(self, ref: str) -> None:
        info = next((b for b in self.bundles if b.id == ref), None)
        label, ok = QInputDialog.getText(self, "Rename model", "New label:",
                                         text=info.label if info is not None else "")
        if ok and label.strip():
            self.rename(ref, label.strip())

    def confirm_delete(self, ref: str) -> bool:
        info = next((b for b in self.bundles if b.id == ref), None)
        name = (info.label or info.id) if info is not None else ref
        answer = QMessageBox.question(
            self, "Delete model", f"Delete the saved model {name!r}?\n\nThis cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Yes:
            self.delete(ref)
            return True
        return False

    def choose_export(self, ref: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export model", str(Path.home() / f"{ref}.zip"),
                                              "Zip archives (*.zip)")
        if path:
            self.export_zip(ref, Path(path))

    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import model", str(Path.home()),
                                              "Zip archives (*.zip)")
        if path:
            self.import_zip(Path(path))

    # ---------------------------------------------------------------- selection
    def selected_id(self) -> str | None:
        items = self.tree.selectedItems()
        return items[0].data(0, ID_ROLE) if items else None

    def selected_info(self) -> Any:
        ref = self.selected_id()
        return next((b for b in self.bundles if b.id == ref), None)

    def select(self, ref: str) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, ID_ROLE) == ref:
                self.tree.setCurrentItem(item)
                item.setSelected(True)
                return

    # ---------------------------------------------------------------- plumbing
    def _for_selected(self, action: Any) -> None:
        ref = self.selected_id()
        if ref:
            action(ref)

    def _request_forecast(self) -> None:
        info = self.selected_info()
        if info is not None and info.ok:
            self.forecast(info.id)

    def _on_listed(self, listing: LibraryListing) -> None:
        keep = listing.select or self.selected_id()
        self.bundles = list(listing.bundles)
        self.tree.blockSignals(True)
        self.tree.clear()
        pick = None
        for info in self.bundles:
            if info.error:
                text = info.error if info.error.startswith(info.id) else f"{info.id}: {info.error}"
                cells = [text, "damaged", "", "", "", "", "", ""]
                scored_by = ""
            else:
                scores, scored_by = headline_scores(info.metrics)
                cells = [info.label, info.kind, info.symbol, info.timeframe,
                         info.created[:16].replace("T", " "), metric_text(scores, "rmse"),
                         metric_text(scores, "theils_u"), _health(info, self._new_bars(info.id))]
            item = QTreeWidgetItem(cells)
            item.setData(0, ID_ROLE, info.id)
            for col in (5, 6):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if scored_by:
                    item.setToolTip(col, f"Out of sample: {scored_by}")
            if info.error:
                for col in range(len(COLUMNS)):
                    item.setForeground(col, QColor("#dc2626"))
                    item.setToolTip(col, f"Damaged: {info.error}")
            else:
                item.setToolTip(0, info.id)
            if cells[HEALTH_COL].startswith("degraded"):
                item.setForeground(HEALTH_COL, QColor("#dc2626"))
            self.tree.addTopLevelItem(item)
            if info.id == keep:
                pick = item
        if pick is not None:
            pick.setSelected(True)
            self.tree.setCurrentItem(pick)
        self.tree.blockSignals(False)
        self._on_pick()
        damaged = sum(1 for b in self.bundles if b.error)
        text = f"{len(self.bundles)} saved model{'s' if len(self.bundles) != 1 else ''}"
        if damaged:
            text += f" ({damaged} damaged)"
        self._say(f"{listing.note}; {text}" if listing.note else text)
        self.listed.emit(listing)

    def _on_pick(self) -> None:
        info = self.selected_info()
        self.details.setPlainText(manifest_summary(info) if info is not None else "")
        self._update_buttons()

    def _update_buttons(self) -> None:
        info = self.selected_info()
        ok = info is not None and info.ok
        for b in (self.forecast_button, self.rename_button, self.export_button):
            b.setEnabled(ok)
        retraining = getattr(self, "retraining", None)
        self.retrain_button.setEnabled(ok and not (retraining is not None and retraining.busy))
        self.delete_button.setEnabled(info is not None)

    # ---------------------------------------------------------------- retraining
    def _new_bars(self, ref: str) -> int:
        retraining = getattr(self, "retraining", None)
        row = None if retraining is None else retraining.suggestions.get(ref)
        return int(row.get("new_bars") or 0) if row else 0

    def show_health(self, suggestions: dict[str, dict[str, Any]]) -> None:
        """Put the suggestions (degraded, newer bars stored) in the Health column."""
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            info = next((b for b in self.bundles if b.id == item.data(0, ID_ROLE)), None)
            if info is not None and info.ok:
                text = _health(info, self._new_bars(info.id))
                item.setText(HEALTH_COL, text)
                if text:
                    item.setToolTip(HEALTH_COL, "Retrain suggested: " + text)

    def show_retrain(self, line: str) -> None:
        """A retrain's decision, above the list until the next one."""
        self.retrain_note.setText(line)
        self.retrain_note.setVisible(bool(line))

    def cancel_jobs(self) -> None:
        """Esc: the forecast and the retrain jobs."""
        self.forecast_slot.cancel()
        self.retraining.cancel()

    def shutdown_jobs(self) -> None:
        """Window closing: stop the forecast and retrain jobs."""
        self.forecast_slot.shutdown()
        self.retraining.shutdown()

    def _forecast_ended(self, text: str) -> None:
        self.library_loading.emit("")
        self._say(text)

    def _on_forecast_failed(self, failed: Any) -> None:
        self._forecast_ended("Failed: " + failed.message.splitlines()[0][:200])
        title = ("Forecast failed: the worker process died" if failed.kind == "crash"
                 else "Forecast failed")
        self.error.emit(title, failed.message, failed.details)

    def _on_forecast(self, fc: Any) -> None:
        if self._forecast_library:
            self.compute.loaded_libraries.add(self._forecast_library)
        self.library_loading.emit("")
        key = self.session.key
        if key is None or (key.source, key.symbol, key.timeframe) != tuple(fc.series):
            self._say(f"{fc.label}: forecast dropped (another series is shown now)")
            return
        self.session.set_future(key, fc)
        table = fc.table
        self.forecast_table.setRowCount(len(table))
        for r, row in enumerate(table.itertuples(index=False)):
            cells = [str(row.timestamp)[:19], row.forecast, row.lower, row.upper, row.p_up]
            for c, value in enumerate(cells):
                if isinstance(value, float):
                    text = "—" if not math.isfinite(value) else (
                        f"{value:.3f}" if c == 4 else f"{value:,.2f}")
                else:
                    text = str(value)
                cell = QTableWidgetItem(text)
                if c:
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.forecast_table.setItem(r, c, cell)
        self.tabs.setCurrentWidget(self.forecast_table)
        note = f" ({'; '.join(fc.notes)})" if fc.notes else ""
        self._say(f"{fc.label}: {len(table)}-bar forecast from the last bar{note}")
        self.forecast_ready.emit(fc)

    def _context_menu(self, pos: Any) -> None:
        item = self.tree.itemAt(pos)
        if item is None:
            return
        self.tree.setCurrentItem(item)
        menu = QMenu(self)
        for text, slot, enabled in (
            ("Forecast now", self._request_forecast, self.forecast_button.isEnabled()),
            ("Retrain", self.retrain_button.click, self.retrain_button.isEnabled()),
            ("Rename…", lambda: self._for_selected(self.choose_rename),
             self.rename_button.isEnabled()),
            ("Export zip…", lambda: self._for_selected(self.choose_export),
             self.export_button.isEnabled()),
            ("Delete…", lambda: self._for_selected(self.confirm_delete), True),
        ):
            act = QAction(text, menu)
            act.setEnabled(enabled)
            act.triggered.connect(slot)
            menu.addAction(act)
        menu.popup(self.tree.viewport().mapToGlobal(pos))


def _health(info: Any, new_bars: int) -> str:
    return health_text(info.metrics, new_bars)


def _library_of(info: Any) -> str:
    """The model library a saved bundle needs ("" for none or unknown)."""
    if info is None or not getattr(info, "kind", ""):
        return ""
    from cryptodesk.errors import ModelError
    from cryptodesk.models.registry import model_entry

    try:
        return model_entry(info.kind).library
    except ModelError:
        return ""
