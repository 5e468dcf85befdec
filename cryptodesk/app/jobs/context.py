"""A :class:`~cryptodesk.jobs.TaskContext` whose reports become events, batched and throttled.

The same job code runs in a worker process (events go down a pipe), inline in the CLI (events
go to the console printer) or on a cluster. This context is the one place that turns
``progress`` / ``partial`` calls into :mod:`~cryptodesk.app.jobs.events` and rations them:
progress at most every ``progress_s`` (first and last always pass), partial results gathered
and sent together every ``partial_s``, so a walk-forward's thousands of forecast batches cost
the receiver a few redraws a second, never one per origin.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from cryptodesk.app.jobs.events import Progress
from cryptodesk.jobs import TaskContext

Sink = Callable[[list[Any]], None]
PROGRESS_S = 0.05
PARTIAL_S = 0.1


class EventContext:
    """Builds the job's :class:`TaskContext` and feeds ``sink`` with lists of events."""

    def __init__(self, sink: Sink, cancel: threading.Event | None = None,
                 progress_s: float = PROGRESS_S, partial_s: float = PARTIAL_S) -> None:
        self._sink = sink
        self._lock = threading.Lock()
        self._pending: list[Any] = []
        self._held: Progress | None = None
        self._last_progress = 0.0
        self._last_partial = 0.0
        self._progress_s, self._partial_s = progress_s, partial_s
        self.ctx = TaskContext(self._on_progress, self._on_partial, cancel)

    def _on_progress(self, fraction: float | None, message: str) -> None:
        event = Progress(fraction, message)
        now = time.monotonic()
        with self._lock:
            if now - self._last_progress < self._progress_s and fraction not in (0.0, 1.0):
                self._held = event
                return
            self._last_progress = now
            self._held = None
            batch, self._pending = [*self._pending, event], []
            self._last_partial = now
        self._sink(batch)

    def _on_partial(self, obj: Any) -> None:
        now = time.monotonic()
        with self._lock:
            self._pending.append(obj)
            if now - self._last_partial < self._partial_s:
                return
            self._last_partial = now
            batch, self._pending = self._pending, []
            if self._held is not None:
                batch.append(self._held)
                self._held = None
        self._sink(batch)

    def flush(self) -> None:
        """Send what is held back (call before the job's final event)."""
        with self._lock:
            batch, self._pending = self._pending, []
            if self._held is not None:
                batch.append(self._held)
                self._held = None
        if batch:
            self._sink(batch)
