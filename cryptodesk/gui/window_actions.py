"""The main window's actions, shortcuts and menus (File, Run, View, Help).

Each action calls one public method of the window or of a panel; nothing here holds state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

if TYPE_CHECKING:
    from cryptodesk.gui.main_window import MainWindow

THEMES = ("light", "dark")


class WindowActions:
    """Builds the window's actions and its menu bar; exposes the actions by name."""

    def __init__(self, window: MainWindow) -> None:
        self.window = w = window
        self.import_csv = self._action("&Import CSV…", w.choose_csv, "Ctrl+O",
                                       "Import a candle CSV into the store")
        self.download = self._action("&Download from exchange…", w.choose_download,
                                     tip=w.data_panel.download_button.toolTip())
        self.download.setEnabled(w.data_panel.download_button.isEnabled())
        self.export = self._action("&Export results…", w.choose_export, "Ctrl+E",
                                   "Write the forecasts CSV, the metrics CSV, the JSON report "
                                   "and the run spec")
        self.export_chart = self._action("Export &chart…", w.choose_chart_export,
                                         "Ctrl+Shift+E",
                                         "Save the price chart as a PNG or SVG image")
        self.import_model = self._action("Import &model zip…", w.library.choose_import,
                                         tip="Add a model bundle (.zip) to the library")
        self.quit = self._action("&Quit", w.close, "Ctrl+Q")
        self.run = self._action("&Train", w.start_training, "Ctrl+R",
                                "Run the walk-forward for the ticked models")
        self.forecast = self._action("&Forecast", w.forecasts.start, "Ctrl+F",
                                     "Fit the ticked models on every bar and forecast after "
                                     "the last one")
        self.export_forecast = self._action("Export &forecast…", w.forecasts.choose_export,
                                            tip="Write the forecast CSV and the chart PNG")
        self.cancel = self._action("&Cancel", w.cancel_all, "Esc", "Cancel running jobs")
        self.copy_command = self._action(
            "Copy as &command", w.runs.copy_command, "Ctrl+Shift+C",
            "Put 'cryptodesk run <spec>' for this series' run on the clipboard")
        self.about = self._action("&About CryptoDesk", w.show_about)
        self.welcome = self._action("&Welcome…", w.show_welcome,
                                    tip="What the demo series is, how to bring data, where "
                                        "files are stored")
        self.reset_layout = self._action("&Reset layout", w.reset_layout)
        self.show_all = self._action("Show &whole series", w.chart.show_all, "Home")
        self.log_scale = self._action("&Log price scale", w.chart.log_button.toggle, "Ctrl+L",
                                      "Switch the price axis between linear and logarithmic")
        self.log_scale.setCheckable(True)
        w.chart.log_button.toggled.connect(self.log_scale.setChecked)
        self.legends = QAction("Show &legends", w, checkable=True, checked=True)
        self.legends.setToolTip("Legends of the price chart and the loss chart (they can sit "
                                "over the data; exported images always carry them)")
        self.legends.toggled.connect(lambda on: (w.chart.set_legends_shown(on),
                                                 w.loss_chart.set_legends_shown(on)))
        self.regimes = QAction("Shade &regimes", w, checkable=True)
        self.regimes.setEnabled(False)
        toggle = w.chart.regime_toggle
        self.regimes.toggled.connect(toggle.setChecked)
        toggle.toggled.connect(self.regimes.setChecked)
        self.theme_group = QActionGroup(w)
        self.themes: dict[str, QAction] = {}
        for name in THEMES:
            act = QAction(f"{name.capitalize()} theme", w, checkable=True)
            act.triggered.connect(lambda _=False, n=name: w.apply_theme(n))
            self.theme_group.addAction(act)
            self.themes[name] = act
        self._menus()

    def _action(self, text: str, slot: Callable[..., Any], shortcut: str | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(lambda _=False: slot())
        self.window.addAction(action)
        return action

    def _menus(self) -> None:
        w = self.window
        bar = w.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.import_csv, self.download, self.export, self.export_chart,
                              self.export_forecast, self.import_model])
        file_menu.addSeparator()
        file_menu.addAction(self.quit)
        bar.addMenu("&Run").addActions([self.run, self.forecast, self.cancel, self.copy_command])
        view = bar.addMenu("&View")
        view.addActions(list(self.themes.values()))
        view.addSeparator()
        for dock in (w.docks.data, w.docks.library, w.docks.training, w.docks.results):
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        view.addActions([self.show_all, self.log_scale, self.legends, self.regimes,
                         self.reset_layout])
        bar.addMenu("&Help").addActions([self.welcome, self.about])
