"""Python's cyclic garbage collector runs only in the GUI thread of the GUI process.

The collector runs in whichever thread happens to allocate when a generation fills up. In the
GUI process that can be a job's relay thread or an I/O task thread; if the cycle it frees holds
a Qt object, that object is destroyed off the thread it lives in, and Qt crashes (segfaults in
the tests, now and then). So, as pyqtgraph's ``GarbageCollector`` recommends, automatic
collection is turned off and the GUI thread collects on a timer, by the same generation
thresholds the automatic collector uses. Worker processes are not affected: they have no Qt.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 250

_current: GuiThreadCollector | None = None


class GuiThreadCollector(QObject):
    """Collects garbage on a GUI-thread timer, with automatic collection off."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        # What exists now (modules, classes, Qt's wrappers) lives as long as the app: moved out of
        # the collector's sight, so a full collection on the GUI thread scans only newer objects
        # and stays short (it runs between frames).
        gc.freeze()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect_if_due)
        self.timer.start(interval_ms)

    def collect_if_due(self) -> int:
        """Collect the generations whose counts passed their thresholds (as the automatic
        collector would have); returns the number of unreachable objects found."""
        g0, g1, g2 = gc.get_count()
        t0, t1, t2 = self.threshold
        if g0 <= t0:
            return 0
        generation = 2 if (g1 > t1 and g2 > t2) else 1 if g1 > t1 else 0
        return gc.collect(generation)


def install(app: QObject) -> GuiThreadCollector:
    """Turn automatic collection off and collect on ``app``'s (GUI) thread; idempotent.
    Call from the GUI thread."""
    global _current
    if _current is None:
        _current = GuiThreadCollector(app)
    return _current


def current() -> GuiThreadCollector | None:
    """The installed collector, if any (tests collect after each test with it)."""
    return _current
