"""A small local pool of worker processes, and the handle of one job running in it.

:meth:`WorkerPool.submit` gives each job a worker of its own (an idle one, or a new one), so a
job never waits for another; idle workers beyond ``keep_idle`` are stopped. A job's
:class:`JobHandle` yields its events; the GUI reads them from one thread per job, the tests
from a loop. Failure stays local:

- a worker that dies (native abort, segfault, out of memory) fails only its job, with the last
  lines it wrote to stderr, and is replaced by a fresh one for the next job;
- a cancel that the job does not honour within ``grace_s`` terminates the worker, and the job
  ends as Cancelled with a note that says so.

Qt-free: the pool is app-layer plumbing the CLI, the GUI and the study runner share.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from cryptodesk.app.jobs import wire
from cryptodesk.app.jobs.events import Cancelled, Failed, is_terminal
from cryptodesk.app.jobs.worker import WORKER_NICE, read_frame, write_frame

CANCEL_GRACE_S = 3.0
WORKER_FLAG = "--cryptodesk-worker"  # frozen bundles: the app binary runs as a worker
STDERR_TAIL_LINES = 12


class WorkerDied(Exception):
    """The worker process ended while a job was running (or starting)."""


class Worker:
    """One worker process, its two pipes (its stdin and stdout) and a reader thread."""

    _ids = itertools.count(1)

    def __init__(self, nice: int = WORKER_NICE, stderr_dir: Path | None = None,
                 env: Mapping[str, str] | None = None, own_session: bool = False) -> None:
        folder = Path(stderr_dir or tempfile.gettempdir())
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="cryptodesk-worker-", suffix=".stderr", dir=folder)
        os.close(fd)
        self.stderr_path = Path(name)
        self.number = next(self._ids)
        self.process = subprocess.Popen(
            [*worker_command(), "--stderr", name, "--nice", str(nice)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            close_fds=True, env=None if env is None else {**os.environ, **env},
            start_new_session=own_session,
        )
        self._inbox: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True,
                         name=f"cryptodesk-worker-{self.number}-reader").start()
        self._send_lock = threading.Lock()
        self.busy = False
        self.send({"op": "init", "sys_path": [p or os.getcwd() for p in sys.path]})

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, message: dict[str, Any]) -> None:
        """Send a control message; WorkerDied if the process is gone."""
        data = wire.encode(message)
        assert self.process.stdin is not None
        with self._send_lock:
            try:
                write_frame(self.process.stdin, data)
            except (OSError, ValueError) as exc:
                raise WorkerDied(str(exc)) from None

    def receive(self, timeout: float) -> dict[str, Any] | None:
        """The next message, or None after ``timeout`` s; WorkerDied when the process ended."""
        try:
            data = self._inbox.get(timeout=timeout)
        except queue.Empty:
            return None
        if data is None:
            self._inbox.put(None)  # stays dead for later calls
            try:
                self.process.wait(2.0)
            except subprocess.TimeoutExpired:
                pass
            raise WorkerDied(self.describe_exit())
        try:
            message = wire.decode(data)
        except wire.WireError as exc:
            raise WorkerDied(f"garbled message: {exc}") from None
        if isinstance(message, dict) and "ready" in message:
            return self.receive(timeout)
        return message

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        try:
            while True:
                self._inbox.put(read_frame(stream))
        except (EOFError, OSError, ValueError):
            self._inbox.put(None)

    def describe_exit(self) -> str:
        """``exit code 3`` / ``killed by SIGABRT`` / ``still running``."""
        code = self.process.poll()
        if code is None:
            return "still running"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
            return f"killed by signal {-code}"
        return f"exit code {code}"

    def stderr_tail(self, lines: int = STDERR_TAIL_LINES) -> str:
        """The last lines the process wrote to stderr."""
        try:
            with open(self.stderr_path, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                size = handle.tell()
                handle.seek(max(0, size - 16_384))
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the worker to exit; terminate it when it does not."""
        self.ask_to_exit()
        self.wait_for_exit(timeout)

    def ask_to_exit(self) -> None:
        """Tell the worker to exit once its current job is done (returns at once)."""
        with contextlib.suppress(WorkerDied):
            self.send({"op": "exit"})

    def wait_for_exit(self, timeout: float = 2.0) -> None:
        """Wait for an exit asked for; terminate the worker when it does not come."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._close()

    def kill(self) -> None:
        """Terminate now (SIGTERM, then SIGKILL)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(1.0)
            except subprocess.TimeoutExpired:
                self.process.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(1.0)
        self._close()

    def _close(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError, ValueError):
                if stream is not None:
                    stream.close()
        with contextlib.suppress(OSError):
            self.stderr_path.unlink()


def worker_command() -> list[str]:
    """How to start a worker: this interpreter with ``-m``, or the frozen app with a flag."""
    if getattr(sys, "frozen", False):
        return [sys.executable, WORKER_FLAG]
    return [sys.executable, "-m", "cryptodesk.app.jobs.worker"]


class JobHandle:
    """One job in a worker: its events, cancel, and how it ended."""

    def __init__(self, pool: WorkerPool, worker: Worker, job_id: int, kind: str) -> None:
        self._pool, self._worker = pool, worker
        self.id, self.kind = job_id, kind
        self._lock = threading.Lock()
        self._cancel_at: float | None = None
        self._grace = CANCEL_GRACE_S
        self.final: Any = None

    @property
    def done(self) -> bool:
        return self.final is not None

    @property
    def worker_pid(self) -> int | None:
        return self._worker.pid

    def cancel(self, grace_s: float = CANCEL_GRACE_S) -> None:
        """Ask the job to stop; after ``grace_s`` without an end, its worker is terminated."""
        with self._lock:
            if self.done or self._cancel_at is not None:
                return
            self._cancel_at = time.monotonic()
            self._grace = grace_s
        with contextlib.suppress(WorkerDied):
            self._worker.send({"op": "cancel", "job": self.id})

    def poll(self, timeout: float = 0.1) -> list[Any]:
        """Events that arrived within ``timeout`` s (the final one last); [] when none."""
        if self.done:
            return []
        try:
            message = self._worker.receive(timeout)
        except WorkerDied as exc:
            return [self._finish(self._death(str(exc)), healthy=False)]
        if message is None:
            return self._check_grace()
        events = list(message.get("events", [])) if message.get("job") == self.id else []
        if events and is_terminal(events[-1]):
            events[-1] = self._finish(events[-1], healthy=True)
        return events

    def events(self, timeout: float | None = None) -> Iterator[Any]:
        """Every event up to and including the final one (blocking)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done:
            if deadline is not None and time.monotonic() > deadline:
                self.cancel(grace_s=0.0)
            yield from self.poll(0.1)

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the job ends; return its final event (Done, Failed or Cancelled)."""
        for _ in self.events(timeout):
            pass
        return self.final

    def _check_grace(self) -> list[Any]:
        with self._lock:
            overdue = (self._cancel_at is not None
                       and time.monotonic() - self._cancel_at > self._grace)
        if not overdue:
            return []
        self._worker.kill()
        note = (f"the job did not stop within {self._grace:g} s of the cancel; its worker "
                "process was terminated")
        return [self._finish(Cancelled(note), healthy=False)]

    def _death(self, how: str) -> Any:
        with self._lock:
            if self._cancel_at is not None:
                return Cancelled(f"the worker process ended ({how})")
        tail = self._worker.stderr_tail()
        last = next((line for line in reversed(tail.splitlines()) if line.strip()), "")
        message = f"the worker process died ({how}) while running {self.kind}"
        if last:
            message += f": {last.strip()[:200]}"
        return Failed(message, tail, "crash")

    def _finish(self, final: Any, healthy: bool) -> Any:
        self.final = final
        self._pool._release(self._worker, healthy)
        return final


class WorkerPool:
    """Worker processes on demand: one per running job, ``keep_idle`` kept warm."""

    def __init__(self, keep_idle: int = 1, nice: int = WORKER_NICE,
                 stderr_dir: Path | None = None, env: Mapping[str, str] | None = None,
                 own_session: bool = False) -> None:
        """``env``: variables added to the workers' environment (a study caps their BLAS
        threads); ``own_session``: start workers in their own session, so a Ctrl+C in the
        terminal reaches only the owner, which then cancels its jobs cleanly."""
        self.keep_idle = keep_idle
        self.nice = nice
        self.stderr_dir = stderr_dir
        self.env = dict(env) if env is not None else None
        self.own_session = own_session
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._closed = False

    def prestart(self) -> None:
        """Start one idle worker now (in the background), so the first job need not wait for
        an interpreter to start."""
        def start() -> None:
            with self._lock:
                if self._closed or self._idle:
                    return
            worker = self._new_worker()
            with self._lock:
                if self._closed:
                    worker.stop()
                else:
                    self._idle.append(worker)

        threading.Thread(target=start, daemon=True, name="cryptodesk-pool-prestart").start()

    def submit(self, kind: str, payload: dict[str, Any] | None = None) -> JobHandle:
        """Start job ``kind`` with ``payload`` in a worker of its own; returns its handle."""
        payload = dict(payload or {})
        for _attempt in range(2):  # an idle worker may have died meanwhile: retry once
            worker = self._take()
            job_id = next(self._ids)
            try:
                worker.send({"op": "run", "job": job_id, "kind": kind, "payload": payload})
            except WorkerDied:
                self._release(worker, healthy=False)
                continue
            return JobHandle(self, worker, job_id, kind)
        raise RuntimeError("cannot start a worker process")

    def workers(self) -> list[Worker]:
        """Every live worker (idle and busy), for diagnostics and tests."""
        with self._lock:
            return [*self._idle, *self._busy]

    def shutdown(self, timeout: float = 2.0) -> None:
        """Stop every worker (busy ones are terminated)."""
        with self._lock:
            self._closed = True
            idle, busy = list(self._idle), list(self._busy)
            self._idle.clear()
            self._busy.clear()
        for worker in idle:  # all at once: each exits while the others do
            worker.ask_to_exit()
        for worker in idle:
            worker.wait_for_exit(timeout)
        for worker in busy:
            worker.kill()

    def _new_worker(self) -> Worker:
        return Worker(self.nice, self.stderr_dir, self.env, self.own_session)

    def _take(self) -> Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker pool was shut down")
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    self._busy.add(worker)
                    return worker
                worker.kill()
        worker = self._new_worker()
        with self._lock:
            self._busy.add(worker)
        return worker

    def _release(self, worker: Worker, healthy: bool) -> None:
        with self._lock:
            self._busy.discard(worker)
            keep = healthy and not self._closed and worker.alive() and len(self._idle) < self.keep_idle
            if keep:
                self._idle.append(worker)
        if not keep:
            if healthy and worker.alive():
                worker.stop()
            else:
                worker.kill()
