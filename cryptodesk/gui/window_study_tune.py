"""The window's study, tuning and explanation parts, wired in one place.

The main window stays a thin shell (under 300 lines), so what issues 17 and 18 add to it lives
here: the Study dock (:class:`~cryptodesk.gui.panels.study_panel.StudyPanel`) and its menu
action, and the Tuning dock (:class:`~cryptodesk.gui.panels.tune_monitor.TuneMonitor`: the live
trials of the training panel's Tune option, fed by the run job's events). The window calls :func:`install` once, after its own docks and menus exist and before
its saved layout is restored (so the new docks take their saved places), and
:meth:`StudyTuneParts.shutdown` when it closes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMenu

from cryptodesk.gui.panels.study_panel import StudyPanel
from cryptodesk.gui.panels.tune_monitor import TuneMonitor
from cryptodesk.gui.theme import Theme, theme_named
from cryptodesk.gui.window_layout import BOTTOM, _dock

if TYPE_CHECKING:
    from cryptodesk.gui.main_window import MainWindow

STUDY_SHORTCUT = "Ctrl+Shift+Y"


@dataclass
class StudyTuneParts:
    """What :func:`install` added to the window."""

    study: StudyPanel
    study_dock: QDockWidget
    study_action: QAction
    tuning: TuneMonitor
    tuning_dock: QDockWidget

    def shutdown(self) -> None:
        """Stop the jobs these parts run (window closing)."""
        self.study.shutdown()


def install(window: MainWindow) -> StudyTuneParts:
    """Add the Study dock (tabbed with the results) and "Run › Study…" to ``window``."""
    study = StudyPanel(window.compute)
    dock = _dock(window, "Study", "studyDock", study)
    window.addDockWidget(BOTTOM, dock)
    window.tabifyDockWidget(window.docks.results, dock)
    window.docks.results.raise_()
    study.status.connect(window.status_label.setText)
    study.error.connect(window.show_error)
    action = QAction("&Study…", window)
    action.setShortcut(QKeySequence(STUDY_SHORTCUT))
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    tip = ("Run a study: many walk-forwards from one spec, here or on a Ray cluster, with a "
           "live leaderboard and verdicts")
    action.setStatusTip(tip)
    action.setToolTip(tip)
    action.triggered.connect(lambda _=False: show_study(window, dock))
    window.addAction(action)
    _menu(window, "&Run").addAction(action)
    tuning, tuning_dock = _install_tuning(window)
    return StudyTuneParts(study, dock, action, tuning, tuning_dock)


def _install_tuning(window: MainWindow) -> tuple[TuneMonitor, QDockWidget]:
    """The Tuning dock (tabbed with the results): cleared when a run starts, raised when the
    run's first trial arrives, themed with the window."""
    monitor = TuneMonitor()
    dock = _dock(window, "Tuning", "tuningDock", monitor)
    window.addDockWidget(BOTTOM, dock)
    window.tabifyDockWidget(window.docks.results, dock)
    window.docks.results.raise_()
    slot = window.runs.run_slot

    def on_events(events: list) -> None:
        first = not monitor.log.trials
        if monitor.apply_events(events) and first:
            dock.show()
            dock.raise_()

    slot.started.connect(lambda _label: monitor.reset())
    slot.events.connect(on_events)
    follow_theme(window, monitor.apply_theme)
    return monitor, dock


def follow_theme(window: MainWindow, apply: Callable[[Theme], None]) -> None:
    """Call ``apply`` with the window's theme now and whenever it changes (the theme actions
    are checked by ``MainWindow.apply_theme``, from the menu or not)."""
    apply(theme_named(window.settings.theme))
    for name, action in window.menu_actions.themes.items():
        action.toggled.connect(lambda on, n=name: apply(theme_named(n)) if on else None)


def show_study(window: MainWindow, dock: QDockWidget) -> None:
    """Show and raise the Study dock, tall enough for its editor and tables."""
    dock.show()
    dock.raise_()
    if not dock.isFloating():
        window.resizeDocks([dock], [max(320, window.height() * 2 // 5)],
                           Qt.Orientation.Vertical)


def _menu(window: MainWindow, title: str) -> QMenu:
    """The menu bar's menu called ``title`` (made by WindowActions)."""
    for action in window.menuBar().actions():
        if action.text() == title and action.menu() is not None:
            return action.menu()
    return window.menuBar().addMenu(title)
