"""The data panel: stored series, CSV import, exchange download, quality report, candle table.

Every disk or network operation (listing, loading, importing, downloading) runs on the panel's
own :class:`~cryptodesk.gui.tasks.TaskRunner` (I/O threads: nothing here fits a model), through
the app layer's ingest workflows; a new request supersedes the one before it. A loaded series
is shown through the session (``Session.show_series``), which every other view follows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QTabWidget,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cryptodesk.app import ingest
from cryptodesk.app.session import Session
from cryptodesk.gui.charts.series import LoadedSeries, chart_series
from cryptodesk.gui.dialogs import exchange_available
from cryptodesk.gui.panels._runner import RunnerPanelMixin
from cryptodesk.gui.table_models import CandleTableModel
from cryptodesk.gui.tasks import TaskRunner

KEY_ROLE = Qt.ItemDataRole.UserRole + 7


class DataPanel(RunnerPanelMixin, QWidget):
    """Choose, import and inspect candle series.

    Signals: ``series_loaded(LoadedSeries)``, ``imported(ImportOutcome)``, ``status(str)``,
    ``error(title, message, details)``.
    """

    series_loaded = Signal(object)
    imported = Signal(object)
    status = Signal(str)
    error = Signal(str, str, str)

    def __init__(self, session: Session, store: Any,
                 default_key: tuple[str, str, str] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.store = store
        self.default_key = default_key
        self.current: LoadedSeries | None = None
        self._wanted: Any = None
        self.runner = TaskRunner("data", self)

        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Symbol", "TF", "Source", "Bars"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        head = self.tree.header()
        head.setStretchLastSection(False)
        for col in (0, 1, 3):
            head.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tree.itemSelectionChanged.connect(self._on_pick)

        self.import_button = QPushButton("Import CSV…")
        self.import_button.setToolTip("Import a candle CSV (Ctrl+O), or drop one on the window")
        self.download_button = QPushButton("Download…")
        ok, why = exchange_available()
        self.download_button.setEnabled(ok)
        self.download_button.setToolTip(why)
        self.refresh_button = QToolButton()
        self.refresh_button.setText("⟳")
        self.refresh_button.setToolTip("Reload the list of stored series")
        self.refresh_button.clicked.connect(lambda: self.refresh())
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.download_button)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)

        self.progress = QProgressBar()
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(False)
        self.progress.setVisible(False)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("✕")
        self.cancel_button.setToolTip("Cancel (Esc)")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        prog = QHBoxLayout()
        prog.addWidget(self.progress, 1)
        prog.addWidget(self.cancel_button)

        self.quality = QPlainTextEdit()
        self.quality.setReadOnly(True)
        self.quality.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.quality.setPlaceholderText("The quality report of the selected series appears here.")
        self.table_model = CandleTableModel()
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        cols = self.table.horizontalHeader()
        cols.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        cols.setResizeContentsPrecision(200)  # measure 200 rows, not a million
        cols.setStretchLastSection(True)
        self.table.setAlternatingRowColors(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.quality, "Quality")
        self.tabs.addTab(self.table, "Candles")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(buttons)
        layout.addWidget(self.tree, 2)
        layout.addLayout(prog)
        layout.addWidget(self.message)
        layout.addWidget(self.tabs, 3)

        self._on_done: Any = None
        self.runner.finished.connect(lambda result: self._on_done(result))
        self.runner.progress.connect(self._on_progress)
        self.runner.busy_changed.connect(self._on_busy)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(lambda: self._say("Cancelled."))

    # ---------------------------------------------------------------- actions
    def refresh(self, ensure_demo: bool = False, select: Any = None) -> None:
        """Re-list the store (optionally writing the demo first) and select ``select``."""
        self._wanted = select or (self.current.key if self.current else self.default_key)
        store = self.store
        self._start(lambda ctx: ingest.list_store(store, ctx, ensure_demo), "Listing series",
                    self._on_listed)

    def load(self, key: Any) -> None:
        """Load one stored series in the background."""
        store = self.store
        self._start(lambda ctx: chart_series(ingest.load_series(store, key, ctx)),
                    f"Loading {key}", self._on_loaded)

    def import_csv(self, path: str | Path, symbol: str | None = None) -> None:
        """Import a CSV file into the store, then show it (no ``symbol``: guessed from the
        file name)."""
        store, path = self.store, Path(path)

        def job(ctx: Any) -> tuple[ingest.ImportOutcome, LoadedSeries]:
            outcome = ingest.import_csv(store, path, ctx, symbol=symbol)
            return outcome, chart_series(outcome.series)

        self._start(job, f"Importing {path.name}", self._on_imported)

    def download(self, request: dict[str, Any], settings: Any = None) -> None:
        """Download from an exchange (see :class:`~cryptodesk.gui.dialogs.DownloadDialog`)."""
        request = dict(request)
        if settings is not None:
            ex = settings.exchange(request["exchange_id"])
            request.setdefault("api_url", ex.api_url)
            request.setdefault("timeout_ms", ex.timeout_ms)
        store = self.store
        self._start(lambda ctx: chart_series(ingest.download(store, request, ctx)),
                    f"Downloading {request.get('symbol')} from {request.get('exchange_id')}",
                    self._on_imported_series)

    def cancel(self) -> bool:
        return self.runner.cancel()

    # ---------------------------------------------------------------- plumbing
    def _on_progress(self, fraction: float | None, message: str, eta: float | None) -> None:
        if fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(fraction * 1000))
        if message:
            self.message.setText(message)

    def _on_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)

    def _on_listed(self, listing: ingest.StoreListing) -> None:
        if isinstance(self._wanted, tuple):  # the default key, spelled as (source, symbol, tf)
            from cryptodesk.data.schema import SeriesKey
            from cryptodesk.errors import CryptoDeskError

            try:
                self._wanted = SeriesKey(*self._wanted)
            except (CryptoDeskError, TypeError):  # a bad default in the settings: the first
                self._wanted = None
        self.tree.blockSignals(True)
        self.tree.clear()
        pick = None
        for info in listing.series:
            meta = info.meta
            source = f"{meta.source} · synthetic" if meta.synthetic else meta.source
            item = QTreeWidgetItem([meta.symbol, meta.timeframe, source, f"{info.rows:,}"])
            item.setData(0, KEY_ROLE, meta.key)
            item.setTextAlignment(3, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if meta.synthetic:
                for col in range(4):
                    item.setToolTip(col, "SYNTHETIC demo data generated by CryptoDesk: not a market")
            self.tree.addTopLevelItem(item)
            if meta.key == self._wanted:
                pick = item
        if pick is None and self.tree.topLevelItemCount():
            pick = self.tree.topLevelItem(0)
        if pick is not None:
            pick.setSelected(True)
            self.tree.setCurrentItem(pick)
        self.tree.blockSignals(False)
        n = len(listing.series)
        self._say(f"{n} stored series" + (" (demo series written)" if listing.demo_written else ""))
        if pick is not None:
            key = pick.data(0, KEY_ROLE)
            if self.current is None or self.current.key != key:
                self.load(key)

    def _on_pick(self) -> None:
        items = self.tree.selectedItems()
        if not items:
            return
        key = items[0].data(0, KEY_ROLE)
        if self.current is None or self.current.key != key:
            self.load(key)

    def _on_loaded(self, loaded: LoadedSeries) -> None:
        self.current = loaded
        self.quality.setPlainText("\n".join([loaded.meta.label, *loaded.report.lines()]))
        from cryptodesk.data.timeframes import timeframe_seconds

        self.table_model.set_frame(loaded.frame, timeframe_seconds(loaded.meta.timeframe) < 86_400)
        self.table.scrollToBottom()
        gaps = len(loaded.report.gaps)
        self._say(loaded.note or f"{loaded.meta.label}: {len(loaded.frame):,} bars, "
                                 f"{gaps} gap{'s' if gaps != 1 else ''}")
        self.session.show_series(loaded)
        self.series_loaded.emit(loaded)

    def _on_imported(self, done: tuple[ingest.ImportOutcome, LoadedSeries]) -> None:
        outcome, loaded = done
        self._on_imported_series(loaded)
        self.imported.emit(outcome)

    def _on_imported_series(self, loaded: LoadedSeries) -> None:
        self._on_loaded(loaded)
        self.refresh(select=loaded.key)
