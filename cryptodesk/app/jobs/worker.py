"""The worker process: runs jobs one at a time and streams their events back.

Started by :class:`~cryptodesk.app.jobs.pool.WorkerPool` as ``python -m
cryptodesk.app.jobs.worker`` (a fresh interpreter: nothing inherited from the GUI, no main
module re-imported). Its stdin and stdout are the two pipes to its owner; every message on them
is a length-prefixed :mod:`~cryptodesk.app.jobs.wire` frame, never a pickle:

- owner -> worker: ``{"op": "init", "sys_path": [...]}`` first (the owner's import path, so
  the same job modules resolve), then ``{"op": "run", "job": id, "kind": k, "payload": {...}}``,
  ``{"op": "cancel", "job": id}``, ``{"op": "exit"}``;
- worker -> owner: ``{"ready": pid}`` once, then ``{"job": id, "events": [...]}`` frames, the
  last one of a job holding its final event (Done, Failed or Cancelled).

A control thread reads the owner's messages, so a cancel reaches the running job at once (its
context raises at the next batch or boosting round). The worker's stderr (native libraries
write there, and a native abort's last words land there) goes to a file the owner reads when
the process dies. The process runs at a lower CPU priority, so the GUI keeps the CPU it needs
to draw while a model trains.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import queue
import struct
import sys
import threading
from typing import IO, Any

WORKER_NICE = 10
_LENGTH = struct.Struct(">Q")


def write_frame(stream: IO[bytes], data: bytes) -> None:
    """One length-prefixed frame on a binary stream."""
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> bytes:
    """The next frame; EOFError when the stream ended."""
    head = _read_exactly(stream, _LENGTH.size)
    return _read_exactly(stream, _LENGTH.unpack(head)[0])


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("stream ended")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the worker process."""
    parser = argparse.ArgumentParser(prog="cryptodesk-worker")
    parser.add_argument("--stderr", default="")
    parser.add_argument("--nice", type=int, default=WORKER_NICE)
    args = parser.parse_args(argv)
    jobs = os.fdopen(os.dup(0), "rb", buffering=0)
    events = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # nothing else may read the job pipe
    os.close(devnull)
    serve(jobs, events, args.stderr or None, args.nice)
    # Every result is sent: leave without the interpreter's teardown, which takes a second or
    # more once torch is loaded, while the owner waits (a study's pool stops at its end).
    for stream in (events, sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(0)


def serve(jobs: IO[bytes], events: IO[bytes], stderr_path: str | None,
          nice: int = WORKER_NICE) -> None:
    """Run jobs read from ``jobs`` until told to exit; write their events to ``events``."""
    _redirect_output(stderr_path)
    _lower_priority(nice)
    from cryptodesk.app.jobs import wire

    first = wire.decode(read_frame(jobs))
    if isinstance(first, dict) and first.get("op") == "init":
        sys.path[:] = [str(p) for p in first.get("sys_path", [])] or sys.path
    from cryptodesk.app.jobs.context import EventContext
    from cryptodesk.app.jobs.events import Failed, LogLine
    from cryptodesk.app.jobs.runner import run_to_end

    send_lock = threading.Lock()

    def send(message: dict[str, Any]) -> None:
        try:
            data = wire.encode(message)
        except (TypeError, ValueError) as exc:  # a result that cannot travel: report the bug
            job = message.get("job")
            data = wire.encode({"job": job, "events": [Failed(
                f"the job's result cannot be sent back ({exc})", "", "bug")]})
        with send_lock:
            write_frame(events, data)

    current: dict[str, Any] = {"job": None}
    cancels: dict[int, threading.Event] = {}
    todo: queue.Queue[dict[str, Any] | None] = queue.Queue()
    logging.getLogger().addHandler(_EventLogHandler(
        lambda record: current["job"] is not None and send(
            {"job": current["job"], "events": [LogLine(record.levelname, record.name,
                                                       record.getMessage())]})))
    threading.Thread(target=_control, args=(jobs, todo, cancels), daemon=True,
                     name="cryptodesk-worker-control").start()
    send({"ready": os.getpid()})
    while True:
        message = todo.get()
        if message is None:
            break
        job = int(message["job"])
        cancel = cancels.setdefault(job, threading.Event())
        current["job"] = job
        context = EventContext(lambda batch, job=job: send({"job": job, "events": batch}),
                               cancel)
        final = run_to_end(str(message["kind"]), dict(message.get("payload") or {}),
                           context.ctx)
        context.flush()
        current["job"] = None
        cancels.pop(job, None)
        send({"job": job, "events": [final]})
        sys.stderr.flush()


def _control(jobs: IO[bytes], todo: queue.Queue, cancels: dict[int, threading.Event]) -> None:
    """Read the owner's messages: queue runs, set cancel flags, stop on exit or EOF."""
    from cryptodesk.app.jobs import wire

    while True:
        try:
            message = wire.decode(read_frame(jobs))
        except (EOFError, OSError, ValueError):
            break  # the owner is gone: finish what runs, then exit
        op = message.get("op") if isinstance(message, dict) else None
        if op == "run":
            todo.put(message)
        elif op == "cancel":
            cancels.setdefault(int(message["job"]), threading.Event()).set()
        elif op == "exit":
            break
    for event in list(cancels.values()):
        event.set()
    todo.put(None)


class _EventLogHandler(logging.Handler):
    """Forward warnings and errors logged during a job as LogLine events."""

    def __init__(self, forward: Any) -> None:
        super().__init__(logging.WARNING)
        self._forward = forward
        self._busy = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._busy, "on", False):
            return  # a log call made while sending must not recurse
        self._busy.on = True
        try:
            self._forward(record)
        except Exception:  # logging must never break the job
            pass
        finally:
            self._busy.on = False


def _redirect_output(path: str | None) -> None:
    """Point fd 1 and fd 2 at ``path`` (native libraries print there; an abort's message too)."""
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    for target in (1, 2):
        os.dup2(fd, target)
    os.close(fd)


def _lower_priority(nice: int) -> None:
    """Run below the GUI: on a busy 2-core machine the event loop is scheduled first."""
    if nice <= 0:
        return
    try:
        current = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, 0, min(19, max(current, nice)))
    except (AttributeError, OSError):  # not on this platform, or not allowed
        pass


if __name__ == "__main__":
    raise SystemExit(main())
