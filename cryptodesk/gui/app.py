"""Start the desktop app: ``cryptodesk`` (no arguments) and ``cryptodesk gui`` call :func:`run`.

Start-up does the least it can before the window shows: Qt, pyqtgraph, the settings file and
the window. The demo series, the store listing and the first series load run in an I/O thread
after the window is up; the worker pool starts once the first series is in. torch and LightGBM
are imported only in worker processes, ccxt only by a download.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Sequence

from cryptodesk import platform_check

log = logging.getLogger(__name__)
PROCESS_START = time.monotonic()
SMOKE_ENV = "CRYPTODESK_SMOKE_EXIT_MS"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


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
    if isinstance(app, QApplication):
        window.setWindowIcon(app.windowIcon())
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
        app.setDesktopFileName("io.github.cryptodesk.CryptoDesk")
    if app.windowIcon().isNull():  # also on an application made elsewhere (pytest-qt)
        app.setWindowIcon(app_icon())
    from cryptodesk.gui import gc_guard

    gc_guard.install(app)  # garbage is collected in this (the GUI) thread only
    import pyqtgraph as pg

    pg.setConfigOptions(antialias=False, useOpenGL=False, background="w", foreground="k")
    return app


def app_icon():
    """The app icon: the SVG (any size, high-DPI) plus the shipped PNG sizes (fallbacks where
    the SVG plug-in is missing, and crisp small sizes)."""
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QIcon

    from cryptodesk.resources import icon_path

    icon = QIcon()
    try:
        icon.addFile(str(icon_path()))
    except FileNotFoundError:
        log.warning("app icon SVG missing")
    for size in ICON_SIZES:
        try:
            icon.addFile(str(icon_path(size)), QSize(size, size))
        except FileNotFoundError:
            continue
    return icon


def smoke_exit_ms() -> int | None:
    """``CRYPTODESK_SMOKE_EXIT_MS``: close the app that many ms after the window is shown
    (packaging smoke tests); None when unset or not a number."""
    raw = os.environ.get(SMOKE_ENV, "").strip()
    if not raw:
        return None
    try:
        return max(0, int(raw))
    except ValueError:
        log.warning("ignoring %s=%r (not a number of milliseconds)", SMOKE_ENV, raw)
        return None


def run(debug: bool = False) -> int:
    """Open the main window and run the event loop; returns the exit code.

    Before Qt is asked for a window, :mod:`cryptodesk.platform_check` makes sure the platform
    plugin can load (X11 libraries present, a display set): otherwise Qt aborts the process
    with a core dump, so the check prints one line saying what to install and returns 1.
    """
    init_logging(debug)
    blocker = platform_check.problem()
    if blocker is not None:
        log.error("%s", blocker)
        print(f"cryptodesk: error: {blocker}", file=sys.stderr)
        return 1
    app = application()
    window = create_window(app)
    window.show()
    app.processEvents()  # the first expose and paint: the window is on screen from here
    log.info("window shown %.2f s after start (at %.3f) on %s", time.monotonic() - PROCESS_START,
             time.time(), app.platformName())
    _quit_on_sigint(app, window)
    smoke = smoke_exit_ms()
    if smoke is not None:
        _close_after(app, window, smoke)
    return int(app.exec())


def _close_after(app: object, window: object, ms: int) -> None:
    """Close the window (cancelling its jobs) and quit with exit code 0 after ``ms``."""
    from PySide6.QtCore import QTimer

    def finish() -> None:
        log.info("%s: closing after %d ms", SMOKE_ENV, ms)
        window.close()  # type: ignore[attr-defined]
        app.exit(0)  # type: ignore[attr-defined]

    QTimer.singleShot(ms, finish)


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
