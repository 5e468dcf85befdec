"""Task context shared by every long-running core job, in the CLI and the GUI.

A core job is a plain function that takes a :class:`TaskContext`. It reports progress with
:meth:`TaskContext.progress`, hands out partial results with :meth:`TaskContext.partial` (the GUI
draws forecasts filling in live from these) and calls :meth:`TaskContext.check_cancelled` at
safe points (every page, batch or boosting round), which raises :class:`Cancelled`.

The CLI passes a context whose callbacks draw a console progress bar; the GUI passes one whose
callbacks emit Qt signals. The core never knows which, so it imports no Qt.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

ProgressCallback = Callable[[float | None, str], None]
PartialCallback = Callable[[Any], None]


class Cancelled(Exception):  # named as an event, like concurrent.futures.CancelledError
    """Raised inside a job when its context was cancelled. Callers treat it as a clean stop."""


class TaskContext:
    """Progress, partial results and cancellation for one job.

    Thread-safe: ``cancel()`` may be called from any thread (the GUI thread, a signal handler)
    while the job runs in a worker.
    """

    def __init__(
        self,
        on_progress: ProgressCallback | None = None,
        on_partial: PartialCallback | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        self._on_progress = on_progress
        self._on_partial = on_partial
        self._cancel = cancel_event if cancel_event is not None else threading.Event()
        self.started = time.monotonic()
        self.last_fraction: float | None = None
        self.last_message: str = ""

    def progress(self, fraction: float | None, message: str = "") -> None:
        """Report progress: ``fraction`` in [0, 1] or None when unknown, plus a short message."""
        if fraction is not None:
            fraction = min(1.0, max(0.0, float(fraction)))
        self.last_fraction, self.last_message = fraction, message
        if self._on_progress is not None:
            self._on_progress(fraction, message)

    def partial(self, obj: Any) -> None:
        """Hand out a partial result (e.g. a batch of forecasts) while the job goes on."""
        if self._on_partial is not None:
            self._on_partial(obj)

    def without_partials(self) -> TaskContext:
        """This job's progress and cancellation, its partial results dropped: for a caller
        that wants only the final result (a study cell: its forecasts come back once, in the
        result, instead of also streaming to the driver as they are scored)."""
        return TaskContext(self._on_progress, None, self._cancel)

    def with_progress(self, on_progress: ProgressCallback) -> TaskContext:
        """This job's partial results and cancellation, its progress going to
        ``on_progress`` instead (a caller that combines the progress of two parts of a job)."""
        return TaskContext(on_progress, self._on_partial, self._cancel)

    def cancel(self) -> None:
        """Ask the job to stop at its next safe point."""
        self._cancel.set()

    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        """Raise :class:`Cancelled` if the job was cancelled. Call this at every safe point."""
        if self._cancel.is_set():
            raise Cancelled("cancelled by the user")

    def child(self, start: float, end: float, prefix: str = "",
              partial: PartialCallback | None = None) -> TaskContext:
        """A context for a sub-job whose progress maps onto ``[start, end]`` of this one.

        Shares the cancel event with its parent, and the partial-result callback unless
        ``partial`` is given: a sub-job whose partial results mean something else to the
        receiver (the forecasts and epochs of a tuning trial's inner folds are not the run's)
        hands them to ``partial`` instead.
        """

        def forward(fraction: float | None, message: str) -> None:
            mapped = None if fraction is None else start + (end - start) * fraction
            self.progress(mapped, f"{prefix}{message}")

        return TaskContext(forward, self._on_partial if partial is None else partial,
                           self._cancel)


def null_context() -> TaskContext:
    """A context that reports nowhere and is never cancelled (tests, library use)."""
    return TaskContext()
