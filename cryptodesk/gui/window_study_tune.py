"""The window's study, tuning and explanation parts, wired in one place.

The main window stays a thin shell (under 300 lines), so what issues 17 and 18 add to it lives
here: the Study dock (:class:`~cryptodesk.gui.panels.study_panel.StudyPanel`) and its menu
action. The window calls :func:`install` once, after its own docks and menus exist and before
its saved layout is restored (so the new docks take their saved places), and
:meth:`StudyTuneParts.shutdown` when it closes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMenu

from cryptodesk.gui.panels.study_panel import StudyPanel
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
    return StudyTuneParts(study, dock, action)


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
