"""Compute out of the GUI process: the app's worker pool, one relay thread per job, job slots.

Everything that fits or predicts a model runs in a worker process of the app's
:class:`~cryptodesk.app.jobs.pool.WorkerPool` (created on first use, or prestarted in the
background once the window is up), never in the GUI process: the event loop keeps its frames
while torch and LightGBM train, and a native abort in a library kills only its worker.

- :class:`JobRelay` is the one GUI-side thread of a job: it submits the job, owns its handle,
  polls its events and puts them in its outbox. It is a plain Python thread that never calls
  Qt: its :class:`JobSlot` drains the outbox on a GUI-thread timer. (A QThread emitting queued
  signals deadlocked now and then: the relay held a Qt connection lock while waiting for the
  GIL, the GUI thread held the GIL while its garbage collector destroyed a Qt object and waited
  for that lock.) The GUI thread only draws what arrives.
- :class:`JobSlot` is one kind of work of a panel (the run, saving a model, a forecast, a
  warm-up): one job at a time, newest wins. Signals carry a generation, so the events of a
  superseded or cancelled job never reach the panel (ndv's pattern). Cancel asks the job to stop
  at its next batch or boosting round; a worker that does not stop within the grace period is
  terminated and the slot says so (``cancelled(note)``).
- :class:`Compute` owns the pool and what the app knows about warm workers (libraries loaded).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import traceback
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

# The job modules (events, wire) import pandas: they are imported with the first job, never at
# start-up (the window must not wait for pandas).
log = logging.getLogger(__name__)

POLL_S = 0.05
CANCEL_GRACE_S = 3.0
CLOSE_GRACE_S = 0.5
MAX_MESSAGES_PER_EMIT = 64
DRAIN_MS = 15  # how often a busy slot takes its relays' events (about one frame)


class Compute(QObject):
    """The app's worker pool and the model libraries its workers have loaded."""

    def __init__(self, parent: QObject | None = None, keep_idle: int = 1) -> None:
        super().__init__(parent)
        self._pool: Any = None
        self._lock = threading.Lock()
        self._keep_idle = keep_idle
        self._closed = False
        self.loaded_libraries: set[str] = set()

    def pool(self) -> Any:
        """The worker pool, created on first use (thread-safe: relays call this)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the app is closing")
            if self._pool is None:
                from cryptodesk.app.jobs.pool import WorkerPool
                from cryptodesk.app.jobs.runner import register_result_types

                register_result_types()  # results are decoded here: their classes must be known
                self._pool = WorkerPool(keep_idle=self._keep_idle)
            return self._pool

    @property
    def started(self) -> bool:
        """True once the pool exists (start-up leaves it alone)."""
        return self._pool is not None

    def prestart(self) -> None:
        """Create the pool and start one idle worker in the background (after the window is
        shown), so the first job does not wait for an interpreter to start."""
        def start() -> None:
            try:
                self.pool().prestart()
            except RuntimeError:  # closed meanwhile
                pass

        threading.Thread(target=start, daemon=True, name="cryptodesk-prestart").start()

    def workers(self) -> list[Any]:
        """The live worker processes (diagnostics and tests)."""
        return [] if self._pool is None else self._pool.workers()

    def needs_loading(self, library: str) -> bool:
        """Whether a job that needs ``library`` will likely import it first (seconds)."""
        return bool(library) and library not in self.loaded_libraries

    def shutdown(self) -> None:
        """Stop every worker (idempotent)."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(timeout=CLOSE_GRACE_S)


class JobRelay:
    """The GUI-side thread of one job (see module docstring). Its outbox holds, in arrival
    order, ``("events", list)`` items and finally one ``("ended", final)``; it never calls Qt."""

    def __init__(self, compute: Compute, gen: int, kind: str, payload: dict[str, Any]) -> None:
        self._compute, self.gen, self.kind, self._payload = compute, gen, kind, payload
        self.outbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._handle: Any = None
        self._cancel_grace: float | None = None
        self._thread = threading.Thread(target=self.run, daemon=True,
                                        name=f"cryptodesk-job-{kind}-{gen}")

    @property
    def worker_pid(self) -> int | None:
        handle = self._handle
        return None if handle is None else handle.worker_pid

    def start(self) -> None:
        self._thread.start()

    def is_running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout_ms: int) -> bool:
        """Wait for the thread to end; True if it did."""
        self._thread.join(max(0.0, timeout_ms / 1000))
        return not self._thread.is_alive()

    def cancel(self, grace_s: float = CANCEL_GRACE_S) -> None:
        """Ask the job to stop (before it was submitted: as soon as it is)."""
        with self._lock:
            if self._cancel_grace is None:
                self._cancel_grace = grace_s
            handle = self._handle
        if handle is not None:
            handle.cancel(grace_s)

    def run(self) -> None:
        from cryptodesk.app.jobs.events import Failed

        try:
            self._relay()
        except Exception as exc:  # a bug here must end the job, not leave the panel waiting
            log.exception("relay of %s failed", self.kind)
            self.outbox.put(("ended", Failed(f"{type(exc).__name__}: {exc}",
                                             traceback.format_exc(), "bug")))

    def _relay(self) -> None:
        from cryptodesk.app.jobs.events import Failed, is_terminal

        try:
            handle = self._compute.pool().submit(self.kind, self._payload)
        except (RuntimeError, OSError) as exc:  # closing, or no worker process could start
            self.outbox.put(("ended", Failed(f"cannot start a worker process: {exc}", "",
                                             "crash")))
            return
        with self._lock:
            self._handle = handle
            grace = self._cancel_grace
        if grace is not None:
            handle.cancel(grace)
        while not handle.done:
            batch = handle.poll(POLL_S)
            for _ in range(MAX_MESSAGES_PER_EMIT):  # drain what queued up meanwhile
                if handle.done:
                    break
                more = handle.poll(0.0)
                if not more:
                    break
                batch.extend(more)
            if not batch:
                continue
            final = batch.pop() if is_terminal(batch[-1]) else None
            if batch:
                self.outbox.put(("events", batch))
            if final is not None:
                self.outbox.put(("ended", final))
                return
        self.outbox.put(("ended", handle.final))


class JobSlot(QObject):
    """One kind of work: one job at a time in a worker process, the newest wins.

    Signals (GUI thread, current job only): ``started(label)``, ``events(list)`` (every
    non-final event, in batches), ``progress(fraction or None, message, eta seconds or None)``,
    ``finished(result)``, ``failed(Failed)`` (``kind`` "error", "bug" or "crash"; ``details``:
    traceback or the dead worker's last stderr lines), ``cancelled(note)`` ("" for a clean stop,
    else what happened, e.g. the worker was terminated), ``busy_changed(bool)``.
    """

    started = Signal(str)
    events = Signal(list)
    progress = Signal(object, str, object)
    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, compute: Compute, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.compute, self.name = compute, name
        self.label = name
        self._gen = 0
        self._relays: dict[int, JobRelay] = {}
        self._busy = False
        self._t0 = 0.0
        self._drain = QTimer(self)  # GUI thread: takes the relays' events while any runs
        self._drain.setInterval(DRAIN_MS)
        self._drain.timeout.connect(self.drain)

    @property
    def busy(self) -> bool:
        """True while the newest job has not ended."""
        return self._busy

    @property
    def relay(self) -> JobRelay | None:
        """The newest job's relay (tests: its worker's pid)."""
        return self._relays.get(self._gen)

    def start(self, kind: str, payload: dict[str, Any], label: str = "") -> int:
        """Cancel the running job (its results are dropped) and start ``kind`` with
        ``payload`` in a worker; returns the new job's generation."""
        self.cancel()
        self._gen += 1
        self.label = label or self.name
        self._t0 = time.monotonic()
        relay = JobRelay(self.compute, self._gen, kind, payload)
        self._relays[self._gen] = relay
        relay.start()
        self._drain.start()
        self._set_busy(True)
        self.started.emit(self.label)
        return self._gen

    def cancel(self, grace_s: float = CANCEL_GRACE_S) -> bool:
        """Ask the running job to stop; after ``grace_s`` its worker is terminated. True if a
        job was running."""
        relay = self._relays.get(self._gen)
        if not self._busy or relay is None:
            return False
        relay.cancel(grace_s)
        return True

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Cancel every job (short grace) and wait for their threads (window closing)."""
        self._gen += 1  # nothing more is delivered
        self._set_busy(False)
        for relay in self._relays.values():
            relay.cancel(CLOSE_GRACE_S)
        deadline = time.monotonic() + timeout_s
        ok = True
        for relay in list(self._relays.values()):
            ok = relay.wait(max(1, int((deadline - time.monotonic()) * 1000))) and ok
        self._relays = {g: r for g, r in self._relays.items() if r.is_running()}
        if not self._relays:
            self._drain.stop()
        return ok

    def drain(self) -> None:
        """Deliver what the relays put in their outboxes (GUI thread; the timer calls this,
        tests may too). Each relay's items arrive in order; its end is always last."""
        for gen, relay in list(self._relays.items()):
            while True:
                try:
                    what, value = relay.outbox.get_nowait()
                except queue.Empty:
                    break
                if what == "events":
                    self._on_events(gen, value)
                else:
                    self._on_ended(gen, value)
                    break
        if not self._relays:
            self._drain.stop()

    # ---------------------------------------------------------------- delivery (GUI thread)
    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)

    def _on_events(self, gen: int, events: list) -> None:
        from cryptodesk.app.jobs.events import Progress

        if gen != self._gen:
            return
        self.events.emit(events)
        last = next((e for e in reversed(events) if isinstance(e, Progress)), None)
        if last is not None:
            eta = None
            if last.fraction is not None and last.fraction > 0.02:
                elapsed = time.monotonic() - self._t0
                eta = elapsed * (1.0 - last.fraction) / last.fraction
            self.progress.emit(last.fraction, last.message, eta)

    def _on_ended(self, gen: int, final: Any) -> None:
        relay = self._relays.pop(gen, None)
        if relay is not None:
            relay.wait(2000)  # it returns right after putting its end
        if gen != self._gen:
            return
        self._set_busy(False)
        from cryptodesk.app.jobs.events import Cancelled, Done, Failed

        if isinstance(final, Done):
            self.finished.emit(final.result)
        elif isinstance(final, Cancelled):
            if final.note:
                log.warning("%s: %s", self.label, final.note)
            self.cancelled.emit(final.note)
        else:
            failed = final if isinstance(final, Failed) else Failed(f"unexpected end {final!r}")
            log.warning("%s failed (%s): %s%s", self.label, failed.kind, failed.message,
                        f"\n{failed.details}" if failed.details else "")
            self.failed.emit(failed)
