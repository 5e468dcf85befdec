"""The main window: data dock, chart area, training dock, results dock, status bar.

The window wires panels together and owns the training run; it computes nothing itself. Jobs
run on each panel's :class:`~cryptodesk.gui.tasks.TaskRunner`; partial results land in
:class:`~cryptodesk.gui.run_state.RunState` buffers and a 10 Hz timer redraws what changed.
Dock layout and geometry are kept in ``window.ini`` in the user config folder.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QWidget,
)

from cryptodesk import __version__
from cryptodesk.gui import work
from cryptodesk.gui.charts.chart_area import ChartArea
from cryptodesk.gui.charts.export import ask_export
from cryptodesk.gui.charts.loss_chart import LossChart
from cryptodesk.gui.dialogs import DownloadDialog, about_dialog, error_dialog, exchange_available
from cryptodesk.gui.panels.data_panel import DataPanel
from cryptodesk.gui.panels.library_panel import LibraryPanel
from cryptodesk.gui.panels.results_panel import ResultsPanel
from cryptodesk.gui.panels.training_panel import TrainingPanel, library_of
from cryptodesk.gui.run_state import RunState, loss_report
from cryptodesk.gui.table_models import BENCHMARK
from cryptodesk.gui.tasks import TaskRunner
from cryptodesk.gui.theme import Theme, apply_theme, theme_named
from cryptodesk.gui.welcome import DISMISSED_KEY, WelcomePanel
from cryptodesk.paths import app_paths
from cryptodesk.settings import Settings, save_settings

log = logging.getLogger(__name__)

REDRAW_MS = 100
STATE_VERSION = 2
VISIBLE_BARS_ON_LOAD = 200


class MainWindow(QMainWindow):
    """CryptoDesk's one window. Signals ``run_finished``/``run_cancelled`` (tests, bench)."""

    run_finished = Signal(object)
    run_cancelled = Signal()
    run_failed = Signal(str)
    error_shown = Signal(str)

    def __init__(self, settings: Settings | None = None, store: Any = None,
                 settings_warnings: list[str] | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.store = store if store is not None else work.LazyStore()
        self.paths = app_paths()
        self.setWindowTitle(f"CryptoDesk {__version__}")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.run_state = RunState()
        self.outcome: work.BacktestOutcome | None = None
        self.last_error: QMessageBox | None = None
        self._run_key: Any = None
        self._dirty = False
        self._closing = False

        default_key = ("demo", self.settings.default_symbol, self.settings.default_timeframe)
        self.chart = ChartArea()
        self.setCentralWidget(self.chart)
        self.data_panel = DataPanel(self.store, default_key)
        self.training = TrainingPanel()
        self.results = ResultsPanel()
        self.loss_chart = LossChart()
        self.library = LibraryPanel()
        self.train_runner = TaskRunner("training", self)
        self.export_runner = TaskRunner("export", self)
        self.save_runner = TaskRunner("save model", self)
        self.sentiment_runner = TaskRunner("sentiment", self)
        self._run_configs: dict[str, dict[str, Any]] = {}
        self._run_frame: Any = None
        self._run_horizon = 1

        self.data_dock = self._dock("Data", "dataDock", self.data_panel,
                                    Qt.DockWidgetArea.LeftDockWidgetArea)
        self.training_dock = self._dock("Training", "trainingDock", self.training,
                                        Qt.DockWidgetArea.RightDockWidgetArea)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.setObjectName("resultsSplitter")
        bottom.addWidget(self.results)
        bottom.addWidget(self.loss_chart)
        bottom.setStretchFactor(0, 3)
        bottom.setStretchFactor(1, 1)
        bottom.setSizes([1150, 290])
        self.loss_chart.clear_losses()
        self.results_dock = self._dock("Results", "resultsDock", bottom,
                                       Qt.DockWidgetArea.BottomDockWidgetArea)
        self.library_dock = self._dock("Model library", "libraryDock", self.library,
                                       Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.results_dock, self.library_dock)
        self.results_dock.raise_()
        self.resize(1440, 900)
        self.resizeDocks([self.data_dock, self.training_dock], [330, 340],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.results_dock], [230], Qt.Orientation.Vertical)

        self.status_label = QLabel("Ready.")
        self.series_label = QLabel("")
        self.library_label = QLabel("")
        self.library_label.setObjectName("libraryLoading")
        self.library_label.setVisible(False)
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.library_label)
        self.statusBar().addPermanentWidget(self.series_label)
        self.welcome: WelcomePanel | None = None

        self._build_actions()
        self._connect()
        self._redraw = QTimer(self)
        self._redraw.setInterval(REDRAW_MS)
        self._redraw.timeout.connect(self._flush)
        self._redraw.start()
        self.apply_theme(self.settings.theme, save=False)
        if not self.restore_layout():
            self.fit_to_screen()
        for warning in settings_warnings or []:
            self.statusBar().showMessage(warning, 15_000)

    # ---------------------------------------------------------------- building
    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot: Any, shortcut: Any = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.import_action = self._action("&Import CSV…", self.choose_csv, QKeySequence.StandardKey.Open,
                                          "Import a candle CSV into the store")
        self.import_action.setShortcut(QKeySequence("Ctrl+O"))
        self.download_action = self._action("&Download from exchange…", self.choose_download,
                                            tip=self.data_panel.download_button.toolTip())
        self.download_action.setEnabled(self.data_panel.download_button.isEnabled())
        self.export_action = self._action("&Export results…", self.choose_export, "Ctrl+E",
                                          "Write the forecasts CSV and the JSON report")
        self.export_action.setEnabled(False)
        self.export_chart_action = self._action("Export &chart…", self.choose_chart_export,
                                                "Ctrl+Shift+E",
                                                "Save the price chart as a PNG or SVG image")
        self.import_model_action = self._action("Import &model zip…", self.choose_bundle_import,
                                                tip="Add a model bundle (.zip) to the library")
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q")
        self.run_action = self._action("&Train", self.start_training, "Ctrl+R",
                                       "Run the walk-forward for the ticked models")
        self.cancel_action = self._action("&Cancel", self.cancel_all, "Esc", "Cancel running jobs")
        self.about_action = self._action("&About CryptoDesk", self.show_about)
        self.welcome_action = self._action("&Welcome…", self.show_welcome,
                                           tip="What the demo series is, how to bring data, "
                                               "where files are stored")
        self.reset_layout_action = self._action("&Reset layout", self.reset_layout)
        self.show_all_action = self._action("Show &whole series", self.chart.show_all, "Home")
        self.regime_action = QAction("Shade &regimes", self, checkable=True)
        self.regime_action.setEnabled(False)
        self.regime_action.toggled.connect(self.chart.regime_toggle.setChecked)
        self.chart.regime_toggle.toggled.connect(self.regime_action.setChecked)

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.import_action, self.download_action, self.export_action,
                              self.export_chart_action, self.import_model_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        run_menu = bar.addMenu("&Run")
        run_menu.addActions([self.run_action, self.cancel_action])
        view = bar.addMenu("&View")
        self.theme_group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name in ("light", "dark"):
            act = QAction(f"{name.capitalize()} theme", self, checkable=True)
            act.triggered.connect(lambda _=False, n=name: self.apply_theme(n))
            self.theme_group.addAction(act)
            view.addAction(act)
            self.theme_actions[name] = act
        view.addSeparator()
        for dock in (self.data_dock, self.library_dock, self.training_dock, self.results_dock):
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        view.addActions([self.show_all_action, self.regime_action, self.reset_layout_action])
        help_menu = bar.addMenu("&Help")
        help_menu.addActions([self.welcome_action, self.about_action])

    def _connect(self) -> None:
        dp = self.data_panel
        dp.import_button.clicked.connect(self.choose_csv)
        dp.download_button.clicked.connect(self.choose_download)
        dp.series_loaded.connect(self._on_series_loaded)
        dp.status.connect(self.status_label.setText)
        dp.error.connect(self.show_error)
        tp = self.training
        tp.train_requested.connect(self.start_training)
        tp.cancel_requested.connect(self.cancel_training)
        tp.error.connect(self.show_error)
        tp.library_loading.connect(self._on_library_loading)
        tp.dataset_changed.connect(lambda _name: self.update_sentiment())
        self.sentiment_runner.finished.connect(self._on_sentiment)
        self.sentiment_runner.failed.connect(self._on_sentiment_failed)
        tr = self.train_runner
        tr.progress.connect(tp.show_progress)
        tr.partial.connect(self._on_partial)
        tr.finished.connect(self._on_run_finished)
        tr.failed.connect(self._on_run_failed)
        tr.cancelled.connect(self._on_run_cancelled)
        tr.busy_changed.connect(tp.set_running)
        self.results.model_selected.connect(self.show_model)
        self.results.save_requested.connect(self.save_model)
        lib = self.library
        lib.forecast_requested.connect(self.forecast_with)
        lib.forecast_ready.connect(self._on_bundle_forecast)
        lib.rename_requested.connect(self.choose_rename)
        lib.delete_requested.connect(self.confirm_delete)
        lib.export_requested.connect(self.choose_bundle_export)
        lib.import_requested.connect(self.choose_bundle_import)
        lib.status.connect(self.status_label.setText)
        lib.error.connect(self.show_error)
        lib.runner.busy_changed.connect(self._on_library_busy)
        sr = self.save_runner
        sr.progress.connect(lambda f, m, eta: self.status_label.setText(f"Saving model: {m}"))
        sr.finished.connect(self._on_model_saved)
        sr.failed.connect(lambda m, d: self.show_error("Saving the model failed", m, d))
        self.chart.exported.connect(self._on_chart_exported)
        self.loss_chart.exported.connect(self._on_chart_exported)
        self.export_runner.finished.connect(
            lambda paths: self.status_label.setText("Exported " + ", ".join(p.name for p in paths)))
        self.export_runner.failed.connect(lambda m, d: self.show_error("Export failed", m, d))

    # ---------------------------------------------------------------- start-up
    def start(self) -> None:
        """First data job: write the demo series if missing, list the store, load a series;
        then the welcome panel, unless the user dismissed it for good."""
        self.data_panel.refresh(ensure_demo=True)
        self.library.refresh()
        if not self.welcome_dismissed():
            self.show_welcome()

    def fit_to_screen(self) -> None:
        """First start (no saved geometry): fit the window into the screen's available area."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            return
        avail = screen.availableGeometry()
        w = min(1440, max(640, int(avail.width() * 0.94)))
        h = min(900, max(480, int(avail.height() * 0.92)))
        w, h = min(w, avail.width()), min(h, avail.height())
        self.resize(w, h)
        self.move(avail.x() + (avail.width() - w) // 2, avail.y() + (avail.height() - h) // 2)
        side = max(220, min(330, w // 5))
        self.resizeDocks([self.data_dock, self.training_dock], [side, side + 10],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.results_dock], [max(150, min(230, h // 4))],
                         Qt.Orientation.Vertical)

    # ---------------------------------------------------------------- welcome
    def welcome_dismissed(self) -> bool:
        return str(self._qsettings().value(DISMISSED_KEY, "false")).lower() == "true"

    def show_welcome(self) -> WelcomePanel:
        """Open (or raise) the welcome panel; non-modal."""
        if self.welcome is None:
            self.welcome = WelcomePanel(self.paths, exchange_available()[0], self)
            self.welcome.dismissed_for_good.connect(self._on_welcome_closed)
        self.welcome.dont_show.setChecked(self.welcome_dismissed())
        self.welcome.show()
        self.welcome.raise_()
        return self.welcome

    def _on_welcome_closed(self, for_good: bool) -> None:
        qs = self._qsettings()
        qs.setValue(DISMISSED_KEY, "true" if for_good else "false")
        qs.sync()

    @staticmethod
    def needs_import(module: str) -> bool:
        """Whether ``module`` is still to be imported in this process."""
        return module not in sys.modules

    def _on_library_busy(self, busy: bool) -> None:
        if not busy and not self.training.info_runner.busy:
            self._on_library_loading("")  # a bundle's library finished loading

    def _on_library_loading(self, text: str) -> None:
        self.library_label.setText(text)
        self.library_label.setVisible(bool(text))

    # ---------------------------------------------------------------- data
    def choose_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import candles", str(Path.home()),
                                              "CSV files (*.csv *.txt);;All files (*)")
        if not path:
            return
        symbol, ok = QInputDialog.getText(self, "Import candles", "Symbol of this series:",
                                          text=work.default_symbol_for(Path(path)))
        if ok and symbol.strip():
            self.data_panel.import_csv(path, symbol.strip())

    def choose_download(self) -> None:
        dialog = DownloadDialog(self)
        if dialog.exec() == DownloadDialog.DialogCode.Accepted:
            self.data_panel.download(dialog.request(), self.settings)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if any(u.isLocalFile() and u.toLocalFile().lower().endswith((".csv", ".txt"))
               for u in urls):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile() and url.toLocalFile().lower().endswith((".csv", ".txt")):
                self.data_panel.import_csv(url.toLocalFile())
                event.acceptProposedAction()
                return

    def _on_series_loaded(self, loaded: work.LoadedSeries) -> None:
        if self.train_runner.busy and self._run_key != loaded.key:
            self.cancel_training()
            self.status_label.setText("Training cancelled: another series was loaded")
        self.training.set_timeframe(loaded.meta.timeframe)
        if self._run_key != loaded.key:
            self._clear_trading()
        self.chart.set_series(loaded.pyramid, loaded.meta.label,
                              (loaded.gaps_x0, loaded.gaps_x1))
        self.chart.show_last(VISIBLE_BARS_ON_LOAD)
        synthetic = " · SYNTHETIC data" if loaded.meta.synthetic else ""
        self.series_label.setText(f"{loaded.meta.symbol} {loaded.meta.timeframe} "
                                  f"({loaded.meta.source}) · {len(loaded.frame):,} bars{synthetic}")
        if self._run_key == loaded.key and self.run_state.live_model:
            self._dirty = True  # same series again: keep showing the run's forecasts
        if self.training.dataset():
            self.update_sentiment()
        if self._run_key == loaded.key and self.outcome is not None:
            self._show_trading(self.outcome)  # back on the run's series: its trading view too
            self._show_equity(self.results.selected())

    # ---------------------------------------------------------------- training
    def start_training(self) -> None:
        """Start a run with the ticked models (a running one is cancelled and superseded)."""
        loaded = self.data_panel.current
        if loaded is None:
            self.show_error("Nothing to train on", "Load or import a series first.")
            return
        try:
            spec = self.training.spec()
            runs = self.training.runs()
        except Exception as exc:  # the core's validation message is what the user needs
            self.show_error("Invalid settings", str(exc))
            return
        frame, seed = loaded.frame, self.settings.seed
        self._run_key = loaded.key
        self._run_configs = {name: dict(config) for name, config in runs}
        self._run_frame = frame
        self._run_horizon = int(getattr(spec, "horizon", 1) or 1)
        self.run_state = RunState()
        self.outcome = None
        self.export_action.setEnabled(False)
        self.results.clear()
        self.loss_chart.clear_losses()
        self.chart.clear_forecast()
        self._clear_trading()
        queued = ["naive", *[n for n, _ in runs if n != "naive"]]
        for name in queued:
            self.results.set_row(name, status="queued")
        self.training.set_running(True)
        test_bars = spec.test_size or len(frame) - int(frame.index.searchsorted(
            _utc(spec.test_start)))
        self.chart.show_last(max(60, int(test_bars * 2.5)))  # watch the test window fill in
        label = f"Walk-forward of {', '.join(queued)} on {loaded.meta.symbol} {loaded.meta.timeframe}"
        self.status_label.setText(label + "…")
        log.info("%s (%s)", label, spec.to_dict())
        dataset = self.training.dataset()
        if dataset:
            label += f" with sentiment {dataset}"
        self.train_runner.start(
            lambda ctx: work.run_training(frame, runs, spec, seed, dataset, ctx), label)

    def cancel_training(self) -> None:
        if self.train_runner.cancel():
            self.training.progress_label.setText("Cancelling…")

    def cancel_all(self) -> None:
        """Esc: cancel whatever runs (training, data jobs)."""
        self.cancel_training()
        self.data_panel.cancel()
        self.export_runner.cancel()

    def _on_partial(self, batch: list) -> None:
        from cryptodesk.evaluation.walkforward import ForecastBatch

        state = self.run_state
        for obj in batch:
            if isinstance(obj, ForecastBatch):
                if obj.model in state.finished:
                    continue  # naive re-run beside a later model: already scored
                if state.live_model != obj.model:
                    state.live_model = obj.model
                    self.results.set_row(obj.model, status="running")
                state.buffer(obj.model, obj.total).add_batch(obj)
                self._dirty = True
            elif isinstance(obj, work.ModelScored):
                state.finished.add(obj.name)
                state.buffer(obj.name).set_frame(obj.result.forecasts)
                self._set_metrics(obj.name, obj.metrics, obj.result.total_seconds, "done")
                self._dirty = True
            else:
                report = loss_report(obj)
                if report is not None:
                    name = getattr(obj, "model", None) or state.live_model
                    state.loss(name).add(*report)
                    state.loss_model = name
                    self._dirty = True

    def _set_metrics(self, name: str, metrics: dict[str, Any], seconds: float, status: str) -> None:
        keep = ("n", "mae", "rmse", "mape", "directional_accuracy", "theils_u", "dm_p_value")
        values = {k: _num(metrics.get(k)) for k in keep}
        if name == "naive":
            values["dm_p_value"] = None  # naive against itself: no test
        self.results.set_row(name, status=status, seconds=seconds, **values)

    def _flush(self) -> None:
        """The 10 Hz redraw: draw the shown model's forecasts and losses if anything changed."""
        if not self._dirty:
            return
        self._dirty = False
        state = self.run_state
        selected = self.results.selected()
        name = selected or state.live_model
        loss_name = selected or state.loss_model
        loss = state.losses.get(loss_name)
        if loss is not None and loss.epochs:
            fit = f" · fit {loss.fits}" if loss.fits > 1 else ""
            self.loss_chart.set_losses(f"{loss_name}{fit}", *loss.arrays(), naive=loss.naive)
        if not name:
            return
        current = self.data_panel.current
        if current is not None and self._run_key == current.key and name in state.forecasts:
            x, point, lo, hi, actual = state.forecasts[name].arrays()
            self.chart.set_forecast(name, x.copy(), point.copy(),
                                    None if lo is None else lo.copy(),
                                    None if hi is None else hi.copy(), actual.copy())

    def _clear_trading(self) -> None:
        self.chart.clear_equity()
        self.chart.set_regimes(np.array([]), np.array([]), np.array([], dtype=np.int64))
        self.regime_action.setEnabled(False)

    def _show_trading(self, outcome: work.BacktestOutcome) -> None:
        """Trading metrics, buy-and-hold and health badges into the table; regimes to the chart."""
        tv = outcome.trading
        if tv is None:
            if outcome.trading_note:
                self.statusBar().showMessage(outcome.trading_note, 10_000)
            return
        for name, m in tv.metrics.items():
            values = {k: None if m.get(k) is None else float(m[k]) * (1 if k == "sharpe" else 100)
                      for k in ("sharpe", "max_drawdown", "total_return")}
            row = BENCHMARK if name == tv.benchmark else name
            if row == BENCHMARK:
                values["status"] = "benchmark"
            elif name in tv.monitoring:
                _degraded, status, reasons = tv.monitoring[name]
                values["health"] = status
                values["health_reasons"] = reasons
            self.results.set_row(row, **values)
        self.chart.set_regimes(tv.regime_x0, tv.regime_x1, tv.regime_level, tv.regime_order)
        self.regime_action.setEnabled(bool(tv.regime_x0.size))

    def _show_equity(self, name: str | None) -> None:
        outcome = self.outcome
        current = self.data_panel.current
        if (outcome is None or outcome.trading is None or not name or current is None
                or current.key != self._run_key):
            return
        tv = outcome.trading
        key = tv.benchmark if name == BENCHMARK else name
        if key not in tv.curves:
            return
        bench = tv.curves.get(tv.benchmark) if key != tv.benchmark else None
        label = "buy & hold" if key == tv.benchmark else key
        self.chart.set_equity(label, *tv.curves[key], bench=bench)

    def show_model(self, name: str) -> None:
        """Show one model's forecasts on the chart (results table selection)."""
        self._show_equity(name)
        if name in self.run_state.forecasts:
            self._dirty = True
            self._flush()
            loss = self.run_state.losses.get(name)
            if loss is None or not loss.epochs:
                self.loss_chart.clear_losses()

    def _on_run_finished(self, outcome: work.BacktestOutcome) -> None:
        self.outcome = outcome
        if outcome.candles is not None:  # what the run really used (external columns joined)
            self._run_frame = outcome.candles
            self._run_configs = dict(outcome.configs)
        for name in outcome.order:
            if name not in self.run_state.finished:
                res = outcome.report.results[name]
                self.run_state.buffer(name).set_frame(res.forecasts)
                self._set_metrics(name, outcome.report.metrics[name], res.total_seconds, "done")
        self.export_action.setEnabled(True)
        self._show_trading(outcome)
        self.results.refresh_buttons()
        best = next((n for n in outcome.report.ranking() if n != "naive"), "naive")
        self.results.select(best)
        self._show_equity(best)
        text = (f"Run finished in {outcome.report.seconds:.1f} s · best by RMSE: "
                f"{outcome.report.ranking()[0]}")
        if outcome.dataset:
            used = ", ".join(outcome.external_models) or "no model (none reads features)"
            text += f" · sentiment {outcome.dataset} used by {used}"
        self.training.show_done(text)
        self.status_label.setText(text)
        self._dirty = True
        self._flush()
        self.run_finished.emit(outcome)

    def _mark_unfinished(self, status: str) -> None:
        for row in self.results.rows():
            if row.get("status") in ("queued", "running"):
                self.results.set_row(row["model"], status=status)

    def _on_run_cancelled(self) -> None:
        self._mark_unfinished("cancelled")
        self.training.show_done("Cancelled; finished models are kept in the table.")
        self.status_label.setText("Training cancelled.")
        self.run_cancelled.emit()

    def _on_run_failed(self, message: str, details: str) -> None:
        self._mark_unfinished("failed")
        self.training.show_done("Failed: " + message.splitlines()[0][:200])
        self.show_error("Training failed", message, details)
        self.run_failed.emit(message)

    # ---------------------------------------------------------------- export
    def choose_export(self) -> None:
        if self.outcome is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export forecasts", str(Path.home() / "forecasts.csv"),
                                              "CSV files (*.csv)")
        if path:
            self.export_results(Path(path))

    def export_results(self, path: Path) -> None:
        outcome = self.outcome
        if outcome is not None:
            self.export_runner.start(lambda ctx: work.export_results(outcome, path, ctx), "export")

    # ---------------------------------------------------------------- sentiment
    def update_sentiment(self) -> None:
        """Draw the picked sentiment dataset's features under the price chart (a worker joins
        them onto the loaded series); no dataset hides the row."""
        dataset, loaded = self.training.dataset(), self.data_panel.current
        if not dataset or loaded is None:
            self.sentiment_runner.cancel()
            self.chart.set_sentiment({})
            return
        frame = loaded.frame
        self.sentiment_runner.start(lambda ctx: work.sentiment_view(frame, dataset, ctx),
                                    f"sentiment {dataset}")

    def _on_sentiment(self, view: work.SentimentView) -> None:
        current = self.data_panel.current
        if (current is None or current.key != view.series_key
                or self.training.dataset() != view.dataset):
            return  # stale: another series or dataset meanwhile
        self.chart.set_sentiment(view.columns)
        self.status_label.setText(f"Sentiment {view.dataset}: columns "
                                  + ", ".join(view.feature_columns))

    def _on_sentiment_failed(self, message: str, details: str) -> None:
        self.chart.set_sentiment({})
        self.show_error("Cannot use the sentiment dataset", message, details)

    # ---------------------------------------------------------------- model library
    def save_model(self, name: str, label: str | None = None) -> bool:
        """Fit results-table row ``name``'s model (its run config) on all bars of the run's series
        in a worker and save it with the run's metrics; the library refreshes when done."""
        outcome = self.outcome
        if outcome is None or name not in outcome.report.metrics or self._run_frame is None:
            why = ("the run is still going: save once it has finished" if self.train_runner.busy
                   else f"{name} has no finished run to save")
            self.show_error("Nothing to save", why[0].upper() + why[1:] + ".")
            return False
        config = self._run_configs.get(name, {})
        metrics = dict(outcome.report.metrics[name])
        frame, seed, horizon = self._run_frame, self.settings.seed, self._run_horizon
        self.status_label.setText(f"Saving {name}: fitting on all {len(frame):,} bars…")
        self.save_runner.start(
            lambda ctx: work.save_bundle(frame, name, config, metrics, seed, ctx, label=label,
                                         horizon=horizon),
            f"save {name}")
        return True

    def _on_model_saved(self, info: Any) -> None:
        self.status_label.setText(f"Saved model {info.label!r} ({info.id})")
        self.library.refresh(select=info.id)
        self.library_dock.show()
        self.library_dock.raise_()

    def forecast_with(self, ref: str) -> None:
        """"Forecast now": the saved model ``ref`` on the loaded series (a worker job)."""
        loaded = self.data_panel.current
        if loaded is None:
            self.show_error("Nothing to forecast from", "Load or import a series first.")
            return
        info = next((b for b in self.library.bundles if b.id == ref), None)
        lib = library_of(info.kind) if info is not None and info.kind else ""
        module = {"PyTorch": "torch", "LightGBM": "lightgbm", "SciPy": "scipy"}.get(lib)
        if module and self.needs_import(module):  # first use: the import takes seconds
            self._on_library_loading(f"Loading {lib}…")
        self.library.forecast(ref, loaded.frame)

    def _on_bundle_forecast(self, fc: work.BundleForecast) -> None:
        current = self.data_panel.current
        if current is None or current.key != fc.series_key:
            return  # another series was loaded meanwhile: stale
        self.chart.set_future(fc.label, fc.x, fc.point, fc.lower, fc.upper)
        self.chart.show_future()

    def choose_rename(self, ref: str) -> None:
        info = next((b for b in self.library.bundles if b.id == ref), None)
        label, ok = QInputDialog.getText(self, "Rename model", "New label:",
                                         text=info.label if info is not None else "")
        if ok and label.strip():
            self.library.rename(ref, label.strip())

    def confirm_delete(self, ref: str) -> bool:
        info = next((b for b in self.library.bundles if b.id == ref), None)
        name = (info.label or info.id) if info is not None else ref
        answer = QMessageBox.question(
            self, "Delete model", f"Delete the saved model {name!r}?\n\nThis cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Yes:
            self.library.delete(ref)
            return True
        return False

    def choose_bundle_export(self, ref: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export model", str(Path.home() / f"{ref}.zip"),
                                              "Zip archives (*.zip)")
        if path:
            self.library.export_zip(ref, Path(path))

    def choose_bundle_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import model", str(Path.home()),
                                              "Zip archives (*.zip)")
        if path:
            self.library_dock.show()
            self.library_dock.raise_()
            self.library.import_zip(Path(path))

    def choose_chart_export(self) -> None:
        ask_export(self, self.chart.glw.ci, "chart", self._on_chart_exported)

    def _on_chart_exported(self, path: Path) -> None:
        self.status_label.setText(f"Chart saved as {path}")

    # ---------------------------------------------------------------- dialogs
    def show_error(self, title: str, message: str, details: str = "") -> None:
        """Error box (short message, expandable details) and a log record."""
        log.error("%s: %s%s", title, message, f"\n{details}" if details else "")
        if self._closing:
            return
        self.last_error = error_dialog(self, title, message, details)
        self.status_label.setText(f"{title}: {message.splitlines()[0][:160]}")
        self.error_shown.emit(message)

    def show_about(self) -> QMessageBox:
        return about_dialog(self)

    # ---------------------------------------------------------------- theme & layout
    def apply_theme(self, name: str, save: bool = True) -> None:
        theme: Theme = theme_named(name)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, theme)
        self.chart.apply_theme(theme)
        self.loss_chart.apply_theme(theme)
        self.theme_actions[theme.name].setChecked(True)
        if save and theme.name != self.settings.theme:
            self.settings = dataclasses.replace(self.settings, theme=theme.name)
            try:
                save_settings(self.settings, self.paths.settings_file)
            except OSError as exc:
                log.warning("cannot save settings: %s", exc)

    def _qsettings(self) -> QSettings:
        return QSettings(str(self.paths.config / "window.ini"), QSettings.Format.IniFormat)

    def save_layout(self) -> None:
        qs = self._qsettings()
        qs.setValue("geometry", self.saveGeometry())
        qs.setValue("state", self.saveState(STATE_VERSION))
        qs.sync()

    def restore_layout(self) -> bool:
        """Saved geometry and dock state; True if the geometry was restored (a first start, or
        an unreadable file, returns False: the caller fits the window to the screen)."""
        qs = self._qsettings()
        geometry, state = qs.value("geometry"), qs.value("state")
        ok = False
        if geometry is not None:
            ok = self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state, STATE_VERSION)  # an older layout version: default docks
        return ok

    def reset_layout(self) -> None:
        for dock, area in ((self.data_dock, Qt.DockWidgetArea.LeftDockWidgetArea),
                           (self.library_dock, Qt.DockWidgetArea.BottomDockWidgetArea),
                           (self.training_dock, Qt.DockWidgetArea.RightDockWidgetArea),
                           (self.results_dock, Qt.DockWidgetArea.BottomDockWidgetArea)):
            dock.setFloating(False)
            self.addDockWidget(area, dock)
            dock.show()
        self.tabifyDockWidget(self.results_dock, self.library_dock)
        self.results_dock.raise_()
        self.resizeDocks([self.data_dock, self.training_dock], [330, 340], Qt.Orientation.Horizontal)
        self.resizeDocks([self.results_dock], [230], Qt.Orientation.Vertical)

    # ---------------------------------------------------------------- closing
    def shutdown(self) -> None:
        """Cancel every job and wait for the workers (idempotent)."""
        self._closing = True
        self._redraw.stop()
        for runner in (self.train_runner, self.data_panel.runner, self.export_runner,
                       self.training.info_runner, self.training.wf_runner, self.save_runner,
                       self.library.runner, self.training.ext_runner, self.sentiment_runner):
            if not runner.shutdown(15_000):
                log.warning("%s worker did not stop in time", runner.name)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.welcome is not None and self.welcome.isVisible():
            self.welcome.close()
        try:
            self.save_layout()
        except Exception:  # never block closing on a settings problem
            log.exception("cannot save the window layout")
        self.shutdown()
        event.accept()


def _utc(value: Any) -> Any:
    import pandas as pd

    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else float("nan")

