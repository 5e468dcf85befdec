"""Job events on the console: a progress bar on a terminal, plain lines otherwise (logs, CI,
pipes). The CLI runs the same jobs as the GUI's workers, through the same event context, and
prints the same events the GUI draws."""

from __future__ import annotations

import shutil
import sys
import time
from typing import Any, TextIO

from cryptodesk.jobs import TaskContext


class ConsoleProgress:
    """Draws progress reports. On a TTY: one redrawn bar line with ETA; else a line every
    ``interval`` seconds or 10 % step, so logs stay short."""

    def __init__(self, stream: TextIO | None = None, interval: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval
        self.started = time.monotonic()
        self._last_print = 0.0
        self._last_step = -1
        self._drawn = False

    def __call__(self, fraction: float | None, message: str) -> None:
        now = time.monotonic()
        elapsed = now - self.started
        if self.tty:
            if now - self._last_print < 0.05 and fraction not in (0.0, 1.0):
                return
            self._last_print = now
            width = max(10, min(40, shutil.get_terminal_size((80, 20)).columns - 60))
            if fraction is None:
                bar, pct = " " * width, "  ?%"
            else:
                filled = round(width * fraction)
                bar = "#" * filled + "-" * (width - filled)
                pct = f"{100 * fraction:3.0f}%"
            eta = _eta(elapsed, fraction)
            self.stream.write(f"\r[{bar}] {pct} {eta:>9} {message[:60]:<60}")
            self.stream.flush()
            self._drawn = True
            return
        step = -1 if fraction is None else int(fraction * 10)
        if step != self._last_step or now - self._last_print >= self.interval:
            self._last_step, self._last_print = step, now
            pct = "?" if fraction is None else f"{100 * fraction:.0f}"
            self.stream.write(f"progress {pct}% {message}\n")
            self.stream.flush()

    def close(self) -> None:
        """End the bar line (call once the job is done)."""
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def _eta(elapsed: float, fraction: float | None) -> str:
    if not fraction or fraction <= 0 or fraction >= 1:
        return f"{elapsed:5.1f}s"
    remaining = elapsed * (1 - fraction) / fraction
    return f"ETA {remaining:4.0f}s" if remaining < 600 else f"ETA {remaining / 60:3.0f}m"


class ConsoleEvents:
    """Prints a job's events: progress on the bar, warnings logged inside the job as lines."""

    def __init__(self, drawer: ConsoleProgress | None) -> None:
        self.drawer = drawer

    def __call__(self, events: list[Any]) -> None:
        from cryptodesk.app.jobs.events import Progress

        for event in events:
            if isinstance(event, Progress) and self.drawer is not None:
                self.drawer(event.fraction, event.message)


def console_context(quiet: bool = False) -> tuple[TaskContext, ConsoleProgress | None]:
    """A context for CLI jobs and its drawer (call ``drawer.close()`` when done): the job's
    reports become events (:class:`~cryptodesk.app.jobs.context.EventContext`), printed here."""
    from cryptodesk.app.jobs.context import EventContext

    drawer = None if quiet else ConsoleProgress()
    return EventContext(ConsoleEvents(drawer)).ctx, drawer
