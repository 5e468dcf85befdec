"""Cells on this machine: one worker process per running cell, every core by default.

The runner keeps at most ``workers`` cells running, each in its own worker process of a
:class:`~cryptodesk.app.jobs.pool.WorkerPool` (kept warm between cells, so torch is imported
once per worker, not once per cell). The workers start with their BLAS/OpenMP pools capped at
the cell's thread count and in their own session: a Ctrl+C in the terminal reaches only the
study, which cancels its cells and keeps every finished one. Results do not depend on
``workers``: each cell runs alone in its process with fixed threads and seeds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

from cryptodesk.app.jobs.events import Cancelled, Done, Failed, Progress
from cryptodesk.app.jobs.pool import JobHandle, WorkerPool
from cryptodesk.app.run import ModelScored  # noqa: F401  (a cell's partial results: on the wire)
from cryptodesk.app.study.cell_job import thread_env
from cryptodesk.app.study.cells import CELL_JOB, Cell, SeriesData
from cryptodesk.app.study.dispatch import CellEvent
from cryptodesk.jobs import Cancelled as CancelledError
from cryptodesk.jobs import TaskContext
from cryptodesk.models.threads import available_cores

POLL_S = 0.05


def default_workers() -> int:
    """Every core this process may use."""
    return available_cores()


class LocalRunner:
    """Runs cells in local worker processes (see module docstring)."""

    name = "local"

    def __init__(self, workers: int | None = None, threads: int = 1) -> None:
        self.workers = max(1, int(workers or default_workers()))
        self.threads = threads

    def describe(self) -> dict[str, Any]:
        return {"runner": "local", "workers": self.workers, "threads_per_cell": self.threads,
                "cpus": default_workers()}

    def connect(self) -> None:
        """Nothing to join: worker processes start with the first cells."""

    def close(self) -> None:
        """Nothing to leave: the pool of each run is shut down when the run ends."""

    def run(self, cells: list[Cell], series: list[SeriesData],
            ctx: TaskContext) -> Iterator[CellEvent]:
        todo = deque(cells)
        running: dict[JobHandle, Cell] = {}
        pool = WorkerPool(keep_idle=self.workers, env=thread_env(self.threads),
                          own_session=True)
        try:
            while todo or running:
                if ctx.cancelled():
                    yield from self._cancel(running)
                    raise CancelledError("cancelled by the user")
                yield from _fill(pool, todo, running, self.workers)
                for handle, cell in list(running.items()):
                    events = [out for event in handle.poll(POLL_S / max(1, len(running)))
                              if (out := _translate(cell, event)) is not None]
                    if handle.done:
                        # the next cell goes to the freed worker before the driver saves this
                        # one's result (the worker does not wait on the driver's writes), and
                        # is reported first: the progress line of this cell's end counts its
                        # successor as running, as it is
                        del running[handle]
                        yield from _fill(pool, todo, running, self.workers)
                    yield from events
        finally:
            for handle in running:
                handle.cancel(grace_s=0.0)
            pool.shutdown()

    def _cancel(self, running: dict[JobHandle, Cell]) -> Iterator[CellEvent]:
        """Cancel every running cell and report the ones that still finished."""
        for handle in running:
            handle.cancel()
        for handle, cell in list(running.items()):
            final = handle.wait(timeout=10.0)
            if isinstance(final, Done):
                yield CellEvent(cell, "done", result=final.result)
            del running[handle]


def _fill(pool: WorkerPool, todo: deque[Cell], running: dict[JobHandle, Cell],
          workers: int) -> Iterator[CellEvent]:
    """Start cells from ``todo`` until ``workers`` run."""
    while todo and len(running) < workers:
        cell = todo.popleft()
        running[pool.submit(CELL_JOB, cell.payload())] = cell
        yield CellEvent(cell, "started")


def _translate(cell: Cell, event: Any) -> CellEvent | None:
    if isinstance(event, Progress):
        return CellEvent(cell, "progress", fraction=event.fraction)
    if isinstance(event, Done):
        return CellEvent(cell, "done", result=event.result)
    if isinstance(event, Failed):
        return CellEvent(cell, "failed", message=event.message, failure=event.kind)
    if isinstance(event, Cancelled):
        return CellEvent(cell, "failed", message=f"cancelled {event.note}".strip(),
                         failure="cancelled")
    return None
