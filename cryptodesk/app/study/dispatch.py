"""What a study asks of the thing that runs its cells: the :class:`CellRunner` protocol and
the :class:`CellEvent` it yields.

Two runners implement it: :class:`~cryptodesk.app.study.local.LocalRunner` (worker processes
on this machine, every core by default) and :class:`~cryptodesk.app.study.ray_runner.RayRunner`
(tasks on an existing Ray cluster). The study engine does not know which one it drives: it
hands over the cells still to run and writes each result as it comes back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from cryptodesk.app.study.cells import Cell, SeriesData
from cryptodesk.jobs import TaskContext


@dataclass(frozen=True)
class CellEvent:
    """``kind``: ``started``, ``progress`` (``fraction``), ``done`` (``result``: a
    :class:`~cryptodesk.app.study.cell_job.CellResult`) or ``failed`` (``message``,
    ``failure``: error, bug or crash)."""

    cell: Cell
    kind: str
    fraction: float | None = None
    result: Any = None
    message: str = ""
    failure: str = "error"


class CellRunner(Protocol):
    """Runs cells somewhere and reports each one's life as :class:`CellEvent` s."""

    name: str
    workers: int

    def describe(self) -> dict[str, Any]:
        """Where the cells run (for ``environment.json``)."""
        ...

    def connect(self) -> None:
        """Get ready before the study writes anything (join a cluster, check versions); a
        one-line error when the runner cannot be used."""
        ...

    def close(self) -> None:
        """Release what :meth:`connect` took."""
        ...

    def run(self, cells: list[Cell], series: list[SeriesData],
            ctx: TaskContext) -> Iterator[CellEvent]:
        """Run ``cells``; stop early, cancelling what runs, when ``ctx`` is cancelled (then
        raise :class:`~cryptodesk.jobs.Cancelled` after the last event)."""
        ...
