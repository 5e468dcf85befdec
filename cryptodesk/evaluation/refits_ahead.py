"""Fit a walk-forward's refits ahead of its forecasts, several at once, in threads.

Why: a walk-forward of a net is thirteen or more independent fits (each on the rows up to its
own origin, each from its own seed) and cheap forecasts in between. PyTorch trains outside
Python's GIL, so on a machine with two cores two refits train side by side and the walk-forward
takes about half the time (1.8x measured for the LSTM and GRU on two cores). Each refit trains
its own model instance; the forecasts of a block still come from the refit of that block only,
and every fit is exactly the one a lone fit gives (the nets draw dropout from a stream of their
own: :class:`~cryptodesk.models.torch_nets.StreamDropout`), so the results do not depend on how
many refits ran at once.

The fits report to the walk-forward's thread, which alone talks to the job's context: the
progress of the refit it waits for, and each refit's partial results (a net's epochs) in refit
order, so a loss chart sees one fit after the other. Cancelling the job stops every fit; a
failure in one stops the others and is raised where the walk-forward waits for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cryptodesk.jobs import TaskContext
from cryptodesk.models.base import Forecaster

POLL_S = 0.1  # how often the waiting thread relays progress and checks for cancellation


@dataclass
class _Refit:
    """One refit in flight: its model, what it reported and how long it took."""

    model: Forecaster
    partials: list[Any] = field(default_factory=list)  # appended by the fit, read by the waiter
    fraction: float = 0.0
    message: str = "fitting"
    seconds: float = 0.0


class RefitsAhead:
    """Refits ``windows`` (row ranges of ``candles``) of ``make()``'s models, ``workers`` at a
    time, in order; :meth:`take` hands out refit k once it is fitted."""

    def __init__(self, make: Callable[[], Forecaster], candles: pd.DataFrame,
                 windows: list[tuple[int, int]], horizon: int, target: str, workers: int,
                 name: str) -> None:
        self._make = make
        self._candles = candles
        self._windows = windows
        self._horizon, self._target = horizon, target
        self._workers = max(1, workers)
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix=f"{name} refit")
        self._futures: dict[int, Future[_Refit]] = {}
        self._submitted = 0
        self._refits: dict[int, _Refit] = {}

    def take(self, k: int, ctx: TaskContext) -> tuple[Forecaster, float]:
        """Refit ``k``'s fitted model and its fit seconds; meanwhile ``ctx`` (the refit's
        context in the walk-forward's thread) gets its progress and partial results."""
        self._submit_up_to(k + self._workers - 1)
        future = self._futures.pop(k)  # handed out once: the walk-forward keeps the model
        relayed = 0
        while True:
            refit = self._refits.get(k)
            if refit is not None:
                relayed = self._relay(refit, relayed, ctx)
            if ctx.cancelled():
                self._stop.set()
            try:
                done = future.result(timeout=POLL_S)
            except FutureTimeout:
                continue
            except BaseException:
                self._stop.set()
                raise
            self._relay(done, relayed, ctx)
            self._refits.pop(k, None)
            return done.model, done.seconds

    def close(self) -> None:
        """Stop the fits still running and wait for their threads to end."""
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------ internals
    def _submit_up_to(self, last: int) -> None:
        while self._submitted <= min(last, len(self._windows) - 1):
            self._futures[self._submitted] = self._pool.submit(self._fit, self._submitted)
            self._submitted += 1

    def _fit(self, k: int) -> _Refit:
        refit = _Refit(self._make())
        self._refits[k] = refit

        def on_progress(fraction: float | None, message: str) -> None:
            if fraction is not None:
                refit.fraction = fraction
            refit.message = message or refit.message

        ctx = TaskContext(on_progress, refit.partials.append, self._stop)
        lo, hi = self._windows[k]
        started = time.perf_counter()
        refit.model.fit(self._candles.iloc[lo:hi], ctx, horizon=self._horizon,
                        target=self._target)
        refit.seconds = time.perf_counter() - started
        return refit

    @staticmethod
    def _relay(refit: _Refit, start: int, ctx: TaskContext) -> int:
        """Hand ``refit``'s new partial results and progress to ``ctx``; returns how many
        partials have been handed out."""
        end = len(refit.partials)
        for item in refit.partials[start:end]:
            ctx.partial(item)
        ctx.progress(refit.fraction, refit.message)
        return end
