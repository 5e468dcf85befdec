"""Start the desktop app: ``cryptodesk`` (no arguments) and ``cryptodesk gui`` call :func:`run`.

Start-up does the least it can before the window shows: Qt, pyqtgraph, the settings file and
the window. The demo series, the store listing and the first series load run in a worker after
the window is up; torch, LightGBM and ccxt are imported only by the jobs that need them.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence

log = logging.getLogger(__name__)
PROCESS_START = time.monotonic()


def init_logging(debug: bool = False) -> None:
    """Rotating log file in the user log folder (and the console with ``debug``)."""
    from cryptodesk.logs import setup_logging
    from cryptodesk.paths import app_paths

    setup_logging(app_paths().log_file, debug=debug)


def create_window(app: object | None = None, start: bool = True):
    """Build the main window on the user's settings (``app``: the QApplication)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from cryptodesk.gui.main_window import MainWindow
    from cryptodesk.paths import app_paths
    from cryptodesk.settings import load_settings

    settings, warnings = load_settings(app_paths().settings_file)
    window = MainWindow(settings, settings_warnings=warnings)
    del app, QApplication
    if start:  # the first data job, once the event loop runs (after the window is shown)
        QTimer.singleShot(0, window.start)
    return window


def application(argv: Sequence[str] | None = None):
    """The QApplication (created once)."""
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
        app = QApplication(list(argv or sys.argv[:1]))
        app.setApplicationName("CryptoDesk")
        app.setOrganizationName("CryptoDesk")
    import pyqtgraph as pg

    pg.setConfigOptions(antialias=False, useOpenGL=False, background="w", foreground="k")
    return app


def run(debug: bool = False) -> int:
    """Open the main window and run the event loop; returns the exit code."""
    init_logging(debug)
    app = application()
    window = create_window(app)
    window.show()
    log.info("window shown %.2f s after start", time.monotonic() - PROCESS_START)
    _quit_on_sigint(app, window)
    return int(app.exec())


def _quit_on_sigint(app: object, window: object) -> None:
    """Ctrl+C in the terminal closes the window (cancelling jobs) instead of being ignored.

    Python runs signal handlers only between bytecodes, and Qt's event loop is C++; a timer
    that wakes the interpreter a few times a second lets the handler run.
    """
    import signal

    from PySide6.QtCore import QTimer

    def handler(_signum: int, _frame: object) -> None:
        log.info("interrupted: closing the window")
        window.close()  # type: ignore[attr-defined]
        app.quit()  # type: ignore[attr-defined]

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread (embedded use): leave signals alone
        return
    wake = QTimer(window)  # type: ignore[arg-type]
    wake.timeout.connect(lambda: None)
    wake.start(250)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(run("--debug" in sys.argv))
