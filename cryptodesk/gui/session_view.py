"""How a Qt view follows the Qt-free session: subscribe for the widget's lifetime, and redraw
on a ~10 Hz timer rather than once per change.

The session calls its listeners on the thread that changed it; every change to it is made in
the GUI thread (job events arrive there by queued signals), so listeners may touch widgets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from cryptodesk.app.session import Listener, Session

REDRAW_MS = 100


def follow(session: Session, widget: QWidget, listener: Listener,
           topics: Iterable[str] | None = None) -> None:
    """Call ``listener`` on the session's changes (of ``topics``) while ``widget`` lives."""
    session.subscribe(listener, topics)
    widget.destroyed.connect(lambda *_: session.unsubscribe(listener))


def redraw_timer(widget: QWidget, redraw: Callable[[], None], ms: int = REDRAW_MS) -> QTimer:
    """A running timer that calls ``redraw`` every ``ms`` (the view redraws only if dirty)."""
    timer = QTimer(widget)
    timer.setInterval(ms)
    timer.timeout.connect(redraw)
    timer.start()
    return timer
