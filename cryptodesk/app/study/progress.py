"""Where a study stands: cells done, running and left, failures, and an ETA.

The ETA comes from the cells themselves: each finished cell's compute time (measured inside
the cell, so a task that waited in Ray's queue does not count its wait) is the estimate for
the other cells of the same model (all models' mean until that model has finished once; the
records of cells finished in an earlier run of the study count too). What is left, minus what
the running cells have done, is divided among the workers.
"""

from __future__ import annotations

import time
from collections import defaultdict

from cryptodesk.app.study.cells import Cell
from cryptodesk.app.study.events import StudyProgress


class Tracker:
    """Counts cells and estimates the time left (see module docstring)."""

    def __init__(self, cells: list[Cell], done: int, workers: int,
                 prior: dict[str, list[float]] | None = None) -> None:
        self.total = len(cells)
        self.done, self.failed = done, 0
        self.workers = max(1, workers)
        self.left = {c.id: c for c in cells}
        self.running: dict[str, tuple[Cell, float, float | None]] = {}
        self.seconds: dict[str, list[float]] = defaultdict(list, prior or {})

    def start(self, cell: Cell) -> None:
        self.left.pop(cell.id, None)
        self.running[cell.id] = (cell, time.monotonic(), None)

    def progress(self, cell: Cell, fraction: float | None) -> None:
        if cell.id in self.running and fraction is not None:
            started = self.running[cell.id][1]
            self.running[cell.id] = (cell, started, fraction)

    def finish(self, cell: Cell, seconds: float | None) -> None:
        self.running.pop(cell.id, None)
        self.left.pop(cell.id, None)
        self.done += 1
        if seconds is not None:
            self.seconds[cell.model].append(float(seconds))

    def fail(self, cell: Cell) -> None:
        self.running.pop(cell.id, None)
        self.left.pop(cell.id, None)
        self.failed += 1

    def snapshot(self, message: str = "") -> StudyProgress:
        running = min(len(self.running), self.workers)
        left = self.total - self.done - self.failed - running
        return StudyProgress(self.done, running, left, self.failed, self.total, self.eta(),
                             message)

    def eta(self) -> float | None:
        """Seconds left, or None while no cell has finished."""
        work = 0.0
        now = time.monotonic()
        for cell in self.left.values():
            estimate = self._estimate(cell)
            if estimate is None:
                return None
            work += estimate
        for cell, started, fraction in self.running.values():
            estimate = self._estimate(cell)
            if estimate is None:
                return None
            work += (estimate * (1 - fraction) if fraction is not None
                     else max(0.0, estimate - (now - started)))
        busy = min(self.workers, len(self.left) + len(self.running)) or 1
        return work / busy

    def _estimate(self, cell: Cell) -> float | None:
        mine = self.seconds.get(cell.model)
        if mine:
            return sum(mine) / len(mine)
        every = [s for values in self.seconds.values() for s in values]
        return sum(every) / len(every) if every else None
