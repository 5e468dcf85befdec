"""The main window's docks: where each panel goes, default sizes, fitting a first start into
the screen, and the saved layout (geometry and dock state in ``window.ini`` in the user config
folder)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QSplitter, QWidget

STATE_VERSION = 2
LEFT, RIGHT, BOTTOM = (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea,
                       Qt.DockWidgetArea.BottomDockWidgetArea)


@dataclass(frozen=True)
class Docks:
    """The window's four docks."""

    data: QDockWidget
    training: QDockWidget
    results: QDockWidget
    library: QDockWidget

    def placed(self) -> tuple[tuple[QDockWidget, Qt.DockWidgetArea], ...]:
        return ((self.data, LEFT), (self.library, BOTTOM), (self.training, RIGHT),
                (self.results, BOTTOM))


def _dock(window: QMainWindow, title: str, name: str, widget: QWidget) -> QDockWidget:
    dock = QDockWidget(title, window)
    dock.setObjectName(name)
    dock.setWidget(widget)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                     | QDockWidget.DockWidgetFeature.DockWidgetClosable)
    return dock


def build_docks(window: QMainWindow, data: QWidget, training: QWidget, results: QWidget,
                losses: QWidget, library: QWidget) -> Docks:
    """Data on the left, training on the right, results (with the loss chart beside them) and
    the model library tabbed at the bottom."""
    bottom = QSplitter(Qt.Orientation.Horizontal)
    bottom.setObjectName("resultsSplitter")
    bottom.addWidget(results)
    bottom.addWidget(losses)
    bottom.setStretchFactor(0, 3)
    bottom.setStretchFactor(1, 1)
    bottom.setSizes([1000, 280])
    docks = Docks(_dock(window, "Data", "dataDock", data),
                  _dock(window, "Training", "trainingDock", training),
                  _dock(window, "Results", "resultsDock", bottom),
                  _dock(window, "Model library", "libraryDock", library))
    reset_layout(window, docks)
    return docks


def reset_layout(window: QMainWindow, docks: Docks) -> None:
    """Every dock back in its place, shown, at its default size."""
    for dock, area in docks.placed():
        dock.setFloating(False)
        window.addDockWidget(area, dock)
        dock.show()
    window.tabifyDockWidget(docks.results, docks.library)
    docks.results.raise_()
    size_docks(window, docks, window.width(), window.height())


def size_docks(window: QMainWindow, docks: Docks, width: int, height: int) -> None:
    """Side docks about a fifth of the width each, the bottom one about a quarter of the
    height (fixed bounds, so the chart keeps most of a 1280×800 window)."""
    side = max(220, min(330, width // 5))
    window.resizeDocks([docks.data, docks.training], [side, side + 10],
                       Qt.Orientation.Horizontal)
    window.resizeDocks([docks.results], [max(150, min(230, height // 4))],
                       Qt.Orientation.Vertical)


def fit_to_screen(window: QMainWindow, docks: Docks) -> None:
    """First start (no saved geometry): fit the window into the screen's available area."""
    screen = window.screen() or QApplication.primaryScreen()
    if screen is None:
        return
    avail = screen.availableGeometry()
    w = min(1440, max(640, int(avail.width() * 0.94)), avail.width())
    h = min(900, max(480, int(avail.height() * 0.92)), avail.height())
    window.resize(w, h)
    window.move(avail.x() + (avail.width() - w) // 2, avail.y() + (avail.height() - h) // 2)
    size_docks(window, docks, w, h)


def _qsettings(config: Path) -> QSettings:
    return QSettings(str(config / "window.ini"), QSettings.Format.IniFormat)


def save_layout(window: QMainWindow, config: Path) -> None:
    qs = _qsettings(config)
    qs.setValue("geometry", window.saveGeometry())
    qs.setValue("state", window.saveState(STATE_VERSION))
    qs.sync()


def restore_layout(window: QMainWindow, config: Path) -> bool:
    """Saved geometry and dock state; True if the geometry was restored (a first start, or an
    unreadable file, returns False: the caller fits the window to the screen)."""
    qs = _qsettings(config)
    geometry, state = qs.value("geometry"), qs.value("state")
    ok = bool(window.restoreGeometry(geometry)) if geometry is not None else False
    if state is not None:
        window.restoreState(state, STATE_VERSION)  # an older layout version: default docks
    return ok


def read_flag(config: Path, key: str) -> bool:
    return str(_qsettings(config).value(key, "false")).lower() == "true"


def write_flag(config: Path, key: str, on: bool) -> None:
    qs = _qsettings(config)
    qs.setValue(key, "true" if on else "false")
    qs.sync()


def build_status_bar(window: Any) -> tuple[Any, Any, Any]:
    """The status bar's labels: the status line (stretching), the library-loading note (hidden
    until a job loads a library) and the shown series."""
    from PySide6.QtWidgets import QLabel

    status, library, series = QLabel("Ready."), QLabel(""), QLabel("")
    library.setObjectName("libraryLoading")
    library.setVisible(False)
    window.statusBar().addWidget(status, 1)
    window.statusBar().addPermanentWidget(library)
    window.statusBar().addPermanentWidget(series)
    return status, library, series
