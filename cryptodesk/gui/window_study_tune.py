"""The window's study, tuning and explanation parts, wired in one place.

The main window stays a thin shell (under 300 lines), so what issues 17 and 18 add to it lives
here: the Study dock (:class:`~cryptodesk.gui.panels.study_panel.StudyPanel`) and its menu
action, and the Tuning dock (:class:`~cryptodesk.gui.panels.tune_monitor.TuneMonitor`: the live
trials of the training panel's Tune option, fed by the run job's events), and the Explain dock
(:class:`~cryptodesk.gui.panels.explain_view.ExplainView`: a saved model's or the shown run's
model's importance, and the contributions at the price chart's cursor) with its menu action. The window calls :func:`install` once, after its own docks and menus exist and before
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

from cryptodesk.gui.panels.explain_view import ExplainView
from cryptodesk.gui.panels.study_panel import StudyPanel
from cryptodesk.gui.panels.tune_monitor import TuneMonitor
from cryptodesk.gui.theme import Theme, theme_named
from cryptodesk.gui.window_layout import BOTTOM, _dock

if TYPE_CHECKING:
    from cryptodesk.gui.main_window import MainWindow

STUDY_SHORTCUT = "Ctrl+Shift+Y"
EXPLAIN_SHORTCUT = "Ctrl+Shift+X"


@dataclass
class StudyTuneParts:
    """What :func:`install` added to the window."""

    study: StudyPanel
    study_dock: QDockWidget
    study_action: QAction
    tuning: TuneMonitor
    tuning_dock: QDockWidget
    explain: ExplainView
    explain_dock: QDockWidget
    explain_action: QAction

    def shutdown(self) -> None:
        """Stop the jobs these parts run (window closing)."""
        self.study.shutdown()
        self.explain.shutdown()


def install(window: MainWindow) -> StudyTuneParts:
    """Add the Study dock (tabbed with the results) and "Run › Study…" to ``window``."""
    study = StudyPanel(window.compute)
    dock = _dock(window, "Study", "studyDock", study)
    window.addDockWidget(BOTTOM, dock)
    window.tabifyDockWidget(window.docks.results, dock)
    window.docks.results.raise_()
    study.status.connect(window.status_label.setText)
    study.error.connect(window.show_error)
    action = _action(window, "&Study…", STUDY_SHORTCUT,
                     "Run a study: many walk-forwards from one spec, here or on a Ray cluster, "
                     "with a live leaderboard and verdicts", lambda: show_study(window, dock))
    tuning, tuning_dock = _install_tuning(window)
    explain, explain_dock = _install_explain(window)

    def explain_now() -> None:
        show_study(window, explain_dock)  # raised, and tall enough for the bar labels
        explain.explain_current()

    explain_action = _action(window, "E&xplain model", EXPLAIN_SHORTCUT,
                             "Global importance of the picked model's inputs, and each "
                             "forecast's contributions at the chart's cursor", explain_now)
    return StudyTuneParts(study, dock, action, tuning, tuning_dock, explain, explain_dock,
                          explain_action)


def _action(window: MainWindow, text: str, shortcut: str, tip: str,
            slot: Callable[[], None]) -> QAction:
    """A window action in the Run menu."""
    action = QAction(text, window)
    action.setShortcut(QKeySequence(shortcut))
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    action.setStatusTip(tip)
    action.setToolTip(tip)
    action.triggered.connect(lambda _=False: slot())
    window.addAction(action)
    _menu(window, "&Run").addAction(action)
    return action


def _install_explain(window: MainWindow) -> tuple[ExplainView, QDockWidget]:
    """The Explain dock (tabbed with the results): its model list follows the shown run and
    the library; a run's model is saved through the run controller first; the chart's
    cursor picks the forecast whose contributions are drawn."""
    view = ExplainView(window.compute)
    dock = _dock(window, "Explain", "explainDock", view)
    window.addDockWidget(BOTTOM, dock)
    window.tabifyDockWidget(window.docks.results, dock)
    window.docks.results.raise_()

    def refill(*_args: object) -> None:
        current = window.session.current
        run = [] if current is None or current.result is None else [
            name for name, m in current.models.items() if m.finished and name != "naive"]
        view.set_choices(run, window.library.bundles)

    window.session.subscribe(refill, ("series", "run"))
    view.destroyed.connect(lambda *_: window.session.unsubscribe(refill))
    window.library.listed.connect(refill)

    def save(name: str) -> None:
        if not window.runs.save_model(name):  # told why already; nothing to explain next
            view.pending_save = None

    view.save_requested.connect(save)

    window.runs.model_saved.connect(view.on_model_saved)
    # the window raises the library when a model is saved; the explanation is what was asked
    view.explained.connect(lambda _expl: (dock.show(), dock.raise_()))
    window.chart.hovered.connect(view.show_at)
    view.status.connect(window.status_label.setText)
    view.error.connect(window.show_error)
    follow_theme(window, view.apply_theme)
    return view, dock


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
    """Show and raise a bottom dock (Study, Explain), tall enough for its editor, tables or
    bar labels."""
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
