"""Run I/O jobs in a thread and bring their progress and results back to the GUI thread.

For work that reads or writes files or the network (listing, loading, importing and downloading
candles, listing and zipping saved models, writing exports): nothing that fits or predicts a
model runs here, that goes to a worker process (:mod:`cryptodesk.gui.compute`).

A :class:`TaskRunner` belongs to one panel and runs one job at a time on its own single-thread
pool (Orange's pattern). Each job is a plain function ``fn(ctx) -> result`` taking a
:class:`~cryptodesk.jobs.TaskContext`; the context's callbacks put reports in an outbox from the
worker thread (which never calls Qt) and the runner delivers them as its signals in the GUI
thread, on a timer.

- **Generations** (ndv's pattern): every :meth:`TaskRunner.start` bumps a counter and cancels
  the job before it; signals carry the generation of their job and the runner drops those of an
  older one, so results of a cancelled or superseded run never reach the panel.
- **Throttling in the worker**: progress is sent at most every ``PROGRESS_INTERVAL_S`` and
  partial results are batched every ``PARTIAL_INTERVAL_S``, so a job that reports thousands of
  times a second cannot flood the event loop; panels redraw from the batches on their own timer.
- **Errors**: a :class:`~cryptodesk.errors.CryptoDeskError` becomes a short message; any other
  exception a short message plus the traceback as details, and it is logged with the traceback.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from cryptodesk.errors import CryptoDeskError
from cryptodesk.jobs import Cancelled, TaskContext

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.05
PARTIAL_INTERVAL_S = 0.1
DRAIN_MS = 15

JobFn = Callable[[TaskContext], Any]


class _Outbox:
    """What a job's thread reports, queued for the GUI thread: ``progress``, ``partial``,
    ``done``, ``failed`` and ``cancelled`` each take ``.emit(gen, ...)`` like a signal but only
    append to a queue, which the runner drains on a GUI-thread timer. The job's thread never
    calls Qt (a queued signal emitted from it could deadlock with the GUI thread's garbage
    collector: see cryptodesk.gui.compute)."""

    class _Channel:
        def __init__(self, name: str, items: queue.SimpleQueue[tuple[str, tuple[Any, ...]]]) -> None:
            self._name, self._items = name, items

        def emit(self, *args: Any) -> None:
            self._items.put((self._name, args))

    def __init__(self) -> None:
        self.items: queue.SimpleQueue[tuple[str, tuple[Any, ...]]] = queue.SimpleQueue()
        for name in ("progress", "partial", "done", "failed", "cancelled"):
            setattr(self, name, _Outbox._Channel(name, self.items))


class _Job(QRunnable):
    """One job run: calls ``fn(ctx)`` and reports through the emitter, tagged with ``gen``."""

    def __init__(self, fn: JobFn, gen: int, emitter: _Outbox, cancel: threading.Event,
                 label: str) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the runner keeps it until it reports its end
        self._fn, self._gen, self._emitter, self._label = fn, gen, emitter, label
        self._lock = threading.Lock()
        self._pending: list[Any] = []
        self._last_partial = 0.0
        self._last_progress = 0.0
        self._progress_held: tuple[float | None, str] | None = None
        self.ctx = TaskContext(self._on_progress, self._on_partial, cancel)

    # worker thread -------------------------------------------------------------
    def _on_progress(self, fraction: float | None, message: str) -> None:
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_INTERVAL_S or fraction in (0.0, 1.0):
            self._last_progress = now
            self._progress_held = None
            self._emitter.progress.emit(self._gen, fraction, message)
        else:
            self._progress_held = (fraction, message)

    def _on_partial(self, obj: Any) -> None:
        with self._lock:
            self._pending.append(obj)
            now = time.monotonic()
            if now - self._last_partial < PARTIAL_INTERVAL_S:
                return
            self._last_partial = now
            batch, self._pending = self._pending, []
        self._emitter.partial.emit(self._gen, batch)

    def _flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if batch:
            self._emitter.partial.emit(self._gen, batch)
        if self._progress_held is not None:
            self._emitter.progress.emit(self._gen, *self._progress_held)
            self._progress_held = None

    def run(self) -> None:
        _lower_thread_priority()
        try:
            result = self._fn(self.ctx)
        except Cancelled:
            self._flush()
            self._emitter.cancelled.emit(self._gen)
        except CryptoDeskError as exc:
            self._flush()
            log.warning("%s failed: %s", self._label, exc)
            self._emitter.failed.emit(self._gen, str(exc), traceback.format_exc())
        except Exception as exc:  # a bug in a job must not kill the app: report it
            self._flush()
            log.exception("%s failed with an unexpected error", self._label)
            message = f"{type(exc).__name__}: {exc}"
            self._emitter.failed.emit(self._gen, message, traceback.format_exc())
        else:
            self._flush()
            self._emitter.done.emit(self._gen, result)


WORKER_NICE = 10


def _lower_thread_priority() -> None:
    """Give this worker thread (and the threads it starts: OpenMP, torch) a lower CPU priority
    than the GUI thread, so a busy machine still schedules the event loop first.

    On Linux the nice value belongs to each thread and is inherited by threads it creates;
    elsewhere Qt's thread priority does the same job.
    """
    if getattr(_lower_thread_priority_state, "done", False):
        return
    _lower_thread_priority_state.done = True
    try:
        if sys.platform.startswith("linux"):
            tid = threading.get_native_id()
            current = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(19, max(current, WORKER_NICE)))
        else:
            from PySide6.QtCore import QThread

            thread = QThread.currentThread()
            if thread is not None:
                thread.setPriority(QThread.Priority.LowPriority)
    except (OSError, AttributeError):  # not allowed here: run at normal priority
        pass


_lower_thread_priority_state = threading.local()


class TaskRunner(QObject):
    """One panel's worker: runs one job at a time, newest wins.

    Signals (GUI thread, current generation only): ``started(label)``,
    ``progress(fraction or None, message, eta_seconds or None)``, ``partial(list)`` (a batch of
    partial results), ``finished(result)``, ``failed(message, details)``, ``cancelled()``,
    ``busy_changed(bool)``.
    """

    started = Signal(str)
    progress = Signal(object, str, object)
    partial = Signal(list)
    finished = Signal(object)
    failed = Signal(str, str)
    cancelled = Signal()
    busy_changed = Signal(bool)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._emitter = _Outbox()
        self._handlers = {"progress": self._on_progress, "partial": self._on_partial,
                          "done": self._on_done, "failed": self._on_failed,
                          "cancelled": self._on_cancelled}
        self._drain = QTimer(self)  # GUI thread: delivers what the job's thread reported
        self._drain.setInterval(DRAIN_MS)
        self._drain.timeout.connect(self.drain)
        self._gen = 0
        self._cancel: threading.Event | None = None
        self._busy = False
        self._t0 = 0.0
        self._jobs: dict[int, _Job] = {}
        self.label = ""

    # ---------------------------------------------------------------- control
    @property
    def generation(self) -> int:
        """Generation of the newest job (increases with every start)."""
        return self._gen

    @property
    def busy(self) -> bool:
        """True while the newest job has not reported its end."""
        return self._busy

    def start(self, fn: JobFn, label: str = "") -> int:
        """Cancel any running job and start ``fn(ctx)``; returns the new generation.

        The old job stops at its next safe point; its results are dropped. The new one waits in
        the single-thread pool until the old one has returned.
        """
        if self._cancel is not None:
            self._cancel.set()
        self._gen += 1
        self._cancel = threading.Event()
        self.label = label or self.name
        self._t0 = time.monotonic()
        job = _Job(fn, self._gen, self._emitter, self._cancel, self.label)
        self._jobs[self._gen] = job
        self._pool.start(job)
        self._drain.start()
        self._set_busy(True)
        self.started.emit(self.label)
        return self._gen

    def cancel(self) -> bool:
        """Ask the running job to stop; True if there was one."""
        if not self._busy or self._cancel is None:
            return False
        self._cancel.set()
        return True

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel and wait for the worker to finish (window closing); True if it did."""
        if self._cancel is not None:
            self._cancel.set()
        self._gen += 1  # drop whatever is still queued for delivery
        self._set_busy(False)
        done = self._pool.waitForDone(timeout_ms)
        if done:
            self._jobs.clear()
            self._drain.stop()
        return done

    def drain(self) -> None:
        """Deliver what the jobs' thread reported, in order (GUI thread: the timer calls this;
        tests may too). The timer stops when no job is left."""
        while True:
            try:
                name, args = self._emitter.items.get_nowait()
            except queue.Empty:
                break
            self._handlers[name](*args)
        if not self._jobs:
            self._drain.stop()

    # ---------------------------------------------------------------- delivery
    def _current(self, gen: int) -> bool:
        return gen == self._gen

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)

    def _on_progress(self, gen: int, fraction: float | None, message: str) -> None:
        if not self._current(gen):
            return
        eta = None
        if fraction is not None and fraction > 0.02:
            elapsed = time.monotonic() - self._t0
            eta = elapsed * (1.0 - fraction) / fraction
        self.progress.emit(fraction, message, eta)

    def _on_partial(self, gen: int, batch: list) -> None:
        if self._current(gen):
            self.partial.emit(batch)

    def _on_done(self, gen: int, result: Any) -> None:
        self._jobs.pop(gen, None)
        if self._current(gen):
            self._set_busy(False)
            self.finished.emit(result)

    def _on_failed(self, gen: int, message: str, details: str) -> None:
        self._jobs.pop(gen, None)
        if self._current(gen):
            self._set_busy(False)
            self.failed.emit(message, details)

    def _on_cancelled(self, gen: int) -> None:
        self._jobs.pop(gen, None)
        if self._current(gen):
            self._set_busy(False)
            self.cancelled.emit()


def format_eta(seconds: float | None) -> str:
    """``ETA 1:05`` style text, or empty when unknown."""
    if seconds is None or seconds != seconds:
        return ""
    seconds = round(seconds)
    if seconds >= 3600:
        return f"ETA {seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"ETA {seconds // 60}:{seconds % 60:02d}"
