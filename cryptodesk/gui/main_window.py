"""The main window: a thin shell of docks, actions and a status bar around the session.

The state lives in a Qt-free :class:`~cryptodesk.app.session.Session` (series shown, run spec,
results per series, selection, run progress); each panel takes the session (and what else it
needs) and follows it, so any panel can be opened alone. Runs and their follow-ups go through
the :class:`~cryptodesk.gui.run_controller.RunController`, whose jobs run in worker processes
(:mod:`cryptodesk.gui.compute`): this process only draws. Docks and the saved layout are in
:mod:`cryptodesk.gui.window_layout`, actions and menus in :mod:`cryptodesk.gui.window_actions`.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QInputDialog,
    QMainWindow,
    QMessageBox,
)

from cryptodesk import __version__
from cryptodesk.app.defaults import default_seed
from cryptodesk.app.ingest import LazyStore, symbol_from_filename
from cryptodesk.app.session import Session
from cryptodesk.errors import CryptoDeskError
from cryptodesk.gui import window_layout as layout
from cryptodesk.gui.charts.chart_area import ChartArea
from cryptodesk.gui.charts.loss_chart import LossChart
from cryptodesk.gui.charts.series import LoadedSeries
from cryptodesk.gui.compute import Compute
from cryptodesk.gui.desk_memory import DeskMemory
from cryptodesk.gui.dialogs import DownloadDialog, about_dialog, error_dialog, exchange_available
from cryptodesk.gui.forecasting import ForecastDesk
from cryptodesk.gui.panels.data_panel import DataPanel
from cryptodesk.gui.panels.library_panel import LibraryPanel
from cryptodesk.gui.panels.results_panel import ResultsPanel
from cryptodesk.gui.panels.training_panel import TrainingPanel
from cryptodesk.gui.run_controller import RunController
from cryptodesk.gui.sentiment_feed import SentimentFeed
from cryptodesk.gui.theme import apply_theme, theme_named
from cryptodesk.gui.welcome import DISMISSED_KEY, WelcomePanel
from cryptodesk.gui.window_actions import WindowActions
from cryptodesk.gui.window_study_tune import install as install_study_tune
from cryptodesk.paths import app_paths
from cryptodesk.settings import Settings, save_settings

log = logging.getLogger(__name__)
CSV_SUFFIXES = (".csv", ".txt")


class MainWindow(QMainWindow):
    """CryptoDesk's one window. Signals ``run_finished(RunResult)``, ``run_cancelled(note)``,
    ``run_failed(message)``, ``error_shown(message)`` (tests, bench)."""

    run_finished = Signal(object)
    run_cancelled = Signal(str)
    run_failed = Signal(str)
    error_shown = Signal(str)

    def __init__(self, settings: Settings | None = None, store: Any = None,
                 settings_warnings: list[str] | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.store = store if store is not None else LazyStore()
        self.paths = app_paths()
        self.setWindowTitle(f"CryptoDesk {__version__}")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.last_error: QMessageBox | None = None
        self.welcome: WelcomePanel | None = None
        self._closing = False
        self.session = Session()
        self.compute = Compute(self)
        self.runs = RunController(self.session, self.compute,
                                  lambda: default_seed(self.settings), self)
        self.memory = DeskMemory(self.paths.data)  # last series, ticked models, last run
        default_key = self.memory.series_key() or (
            "demo", self.settings.default_symbol, self.settings.default_timeframe)
        self.chart = ChartArea(self.session)
        self.setCentralWidget(self.chart)
        self.data_panel = DataPanel(self.session, self.store, default_key)
        self.training = TrainingPanel(self.session)
        self.results = ResultsPanel(self.session)
        self.loss_chart = LossChart(self.session)
        self.library = LibraryPanel(self.session, self.compute)
        self.sentiment = SentimentFeed(self.session, self.training.dataset, self)
        self.resize(1440, 900)
        self.docks = layout.build_docks(self, self.data_panel, self.training, self.results,
                                        self.loss_chart, self.library)
        self.status_label, self.library_label, self.series_label = layout.build_status_bar(self)
        self.forecasts = ForecastDesk(self)  # Run ▸ Forecast: the ticked models' future paths
        self.menu_actions = WindowActions(self)
        self.study_tune = install_study_tune(self)
        self._connect()
        self.apply_theme(self.settings.theme, save=False)
        self.memory.attach(self)
        if not layout.restore_layout(self, self.paths.config):
            layout.fit_to_screen(self, self.docks)
        for warning in settings_warnings or []:
            self.statusBar().showMessage(warning, 15_000)

    def _connect(self) -> None:
        say, error = self.status_label.setText, self.show_error
        dp, tp, runs, lib = self.data_panel, self.training, self.runs, self.library
        dp.import_button.clicked.connect(self.choose_csv)
        dp.download_button.clicked.connect(self.choose_download)
        dp.series_loaded.connect(self._on_series_loaded)
        tp.train_requested.connect(self.start_training)
        tp.cancel_requested.connect(runs.cancel)
        tp.model_ticked.connect(lambda name: runs.warm_up([name]))
        tp.dataset_changed.connect(lambda _name: self.sentiment.update())
        runs.run_finished.connect(self.run_finished)
        runs.run_cancelled.connect(self.run_cancelled)
        runs.run_failed.connect(self.run_failed)
        runs.model_saved.connect(self._on_model_saved)
        self.results.save_requested.connect(runs.save_model)
        self.results.copy_requested.connect(runs.copy_command)
        for source in (dp, tp, runs, lib, self.sentiment):
            source.error.connect(error)
        for source in (dp, runs, lib, self.sentiment):
            source.status.connect(say)
        for source in (runs, lib):
            source.library_loading.connect(self._on_library_loading)
        for chart in (self.chart, self.loss_chart):
            chart.exported.connect(lambda path: say(f"Chart saved as {path}"))
        self.session.subscribe(lambda _c: self.menu_actions.regimes.setEnabled(
            self.chart.regime_toggle.isEnabled()), ("series", "run", "selection"))

    # ---------------------------------------------------------------- start-up
    def start(self) -> None:
        """First data job: write the demo series if missing, list the store, load a series;
        then the welcome panel, unless the user dismissed it for good."""
        self.data_panel.refresh(ensure_demo=True)
        self.library.refresh()
        if not self.welcome_dismissed():
            self.show_welcome()

    def welcome_dismissed(self) -> bool:
        return layout.read_flag(self.paths.config, DISMISSED_KEY)

    def show_welcome(self) -> WelcomePanel:
        """Open (or raise) the welcome panel; non-modal."""
        if self.welcome is None:
            self.welcome = WelcomePanel(self.paths, exchange_available()[0], self)
            self.welcome.dismissed_for_good.connect(
                lambda on: layout.write_flag(self.paths.config, DISMISSED_KEY, on))
        self.welcome.dont_show.setChecked(self.welcome_dismissed())
        self.welcome.show()
        self.welcome.raise_()
        return self.welcome

    def _on_library_loading(self, text: str) -> None:
        self.library_label.setText(text)
        self.library_label.setVisible(bool(text))

    def _on_series_loaded(self, loaded: LoadedSeries) -> None:
        self.training.set_timeframe(loaded.meta.timeframe)
        synthetic = " · SYNTHETIC data" if loaded.meta.synthetic else ""
        self.series_label.setText(f"{loaded.meta.symbol} {loaded.meta.timeframe} "
                                  f"({loaded.meta.source}) · {len(loaded.frame):,} bars{synthetic}")
        if not self.compute.started and not self._closing:  # the first series is in: the
            self.compute.prestart()  # start-up work is done, a worker may start beside it

    # ---------------------------------------------------------------- data
    def choose_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import candles", str(Path.home()),
                                              "CSV files (*.csv *.txt);;All files (*)")
        if not path:
            return
        symbol, ok = QInputDialog.getText(self, "Import candles", "Symbol of this series:",
                                          text=symbol_from_filename(Path(path)))
        if ok and symbol.strip():
            self.data_panel.import_csv(path, symbol.strip())

    def choose_download(self) -> None:
        dialog = DownloadDialog(self)
        if dialog.exec() == DownloadDialog.DialogCode.Accepted:
            self.data_panel.download(dialog.request(), self.settings)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(u.isLocalFile() and u.toLocalFile().lower().endswith(CSV_SUFFIXES)
               for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile() and url.toLocalFile().lower().endswith(CSV_SUFFIXES):
                self.data_panel.import_csv(url.toLocalFile())
                event.acceptProposedAction()
                return

    # ---------------------------------------------------------------- runs
    def start_training(self) -> None:
        """Run the ticked models on the series shown (a running run is superseded)."""
        series = self.session.series
        if series is None:
            self.show_error("Nothing to train on", "Load or import a series first.")
            return
        try:
            request = self.training.run_request()
        except CryptoDeskError as exc:  # invalid settings: the core's message says which
            self.show_error("Invalid settings", str(exc))
            return
        self.runs.start(series, request)

    def cancel_all(self) -> None:
        """Esc: cancel whatever runs (training, data, export, forecast)."""
        self.runs.cancel()
        self.data_panel.cancel()
        self.runs.export_runner.cancel()
        self.library.cancel_jobs()
        self.forecasts.cancel()

    def choose_export(self) -> None:
        current = self.session.current
        if current is None or current.result is None:
            self.show_error("Nothing to export", "Run a walk-forward on this series first.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export forecasts",
                                              str(Path.home() / "forecasts.csv"),
                                              "CSV files (*.csv)")
        if path:
            self.runs.export(Path(path))

    def choose_chart_export(self) -> None:
        self.chart.ask_export()  # titled (series, models, range); the status says where

    def _on_model_saved(self, info: dict[str, str]) -> None:
        self.library.refresh(select=info["id"])
        self.docks.library.show()
        self.docks.library.raise_()

    # ---------------------------------------------------------------- dialogs, theme, layout
    def show_error(self, title: str, message: str, details: str = "") -> None:
        """Error box (short message, expandable details) and a log record."""
        log.error("%s: %s%s", title, message, f"\n{details}" if details else "")
        if self._closing:
            return
        self.last_error = error_dialog(self, title, message, details)
        self.status_label.setText(f"{title}: {message.splitlines()[0][:160] if message else ''}")
        self.error_shown.emit(message)

    def show_about(self) -> QMessageBox:
        return about_dialog(self)

    def apply_theme(self, name: str, save: bool = True) -> None:
        theme = theme_named(name)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, theme)
        self.chart.apply_theme(theme)
        self.loss_chart.apply_theme(theme)
        self.menu_actions.themes[theme.name].setChecked(True)
        if save and theme.name != self.settings.theme:
            self.settings = dataclasses.replace(self.settings, theme=theme.name)
            try:
                save_settings(self.settings, self.paths.settings_file)
            except OSError as exc:
                log.warning("cannot save settings: %s", exc)

    def reset_layout(self) -> None:
        layout.reset_layout(self, self.docks)

    # ---------------------------------------------------------------- closing
    def shutdown(self) -> None:
        """Cancel every job, wait for the threads and stop the workers (idempotent)."""
        self._closing = True
        self.runs.shutdown()
        self.library.shutdown_jobs()
        self.forecasts.shutdown()
        self.study_tune.shutdown()
        self.sentiment.shutdown()
        for runner in (self.data_panel.runner, self.training.classes_runner,
                       self.training.picker.runner, self.library.runner):
            if not runner.shutdown(15_000):
                log.warning("%s thread did not stop in time", runner.name)
        self.compute.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.welcome is not None and self.welcome.isVisible():
            self.welcome.close()
        self.memory.save()
        try:
            layout.save_layout(self, self.paths.config)
        except OSError:  # never block closing on a settings problem
            log.exception("cannot save the window layout")
        self.shutdown()
        event.accept()
