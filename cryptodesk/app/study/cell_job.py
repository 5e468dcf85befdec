"""One study cell as a job: a run spec in, a pickle-free :class:`CellResult` out.

The same function runs in a local worker process (job kind ``study_cell``, candles loaded
from the spec's data reference) and in a Ray task (candles shipped once per series with
``ray.put`` and passed in). Before the run it fixes the CPU threads of torch and the BLAS
libraries to the cell's count, so a cell computes the same floating-point sums however many
cells share the machine: that, with seeded models, is what makes ``--workers 1`` and
``--workers N`` give bit-identical results.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cryptodesk.app.jobs import wire
from cryptodesk.errors import DataError
from cryptodesk.jobs import TaskContext
from cryptodesk.models.threads import THREADS_ENV

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", THREADS_ENV)
FORECAST_FIELDS = ("origin", "target_time", "horizon", "forecast", "lower", "upper", "p_up",
                   "actual", "last_close")


@dataclass
class CellResult:
    """A finished cell: its JSON report (metrics, timings, fits, the run spec), every forecast
    of naive and the model as one frame (Parquet on the wire), and where it ran."""

    cell: str
    key: str
    report: dict[str, Any]
    forecasts: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


wire.register(CellResult)


def thread_env(threads: int) -> dict[str, str]:
    """Environment variables that cap the BLAS/OpenMP pools of a worker process."""
    return {name: str(threads) for name in THREAD_ENV}


def limit_threads(threads: int, spec: Any) -> None:
    """Fix torch's intra-op threads when the cell's model uses torch (BLAS pools are capped
    by :func:`thread_env` when the worker starts), and cap the cores the models may spread
    over (``CRYPTODESK_THREADS``: a Ray worker does not start with the local pool's
    environment)."""
    from cryptodesk.models.registry import model_entry

    os.environ[THREADS_ENV] = str(threads)
    if "torch" in sys.modules or any(model_entry(m.name).library == "PyTorch"
                                     for m in spec.models):
        import torch

        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def run_cell(payload: dict[str, Any], ctx: TaskContext,
             candles: pd.DataFrame | None = None) -> CellResult:
    """Run one cell (``payload`` from :meth:`~cryptodesk.app.study.cells.Cell.payload`)."""
    from cryptodesk.app.run import execute_run
    from cryptodesk.app.runspec import RunSpec
    from cryptodesk.data.fingerprint import data_fingerprint

    started, cpu = time.perf_counter(), time.process_time()
    spec = RunSpec.from_dict(payload.get("run"))
    threads = int(payload.get("threads", 1))
    limit_threads(threads, spec)
    if candles is not None and spec.data.sha256 is not None:
        if data_fingerprint(candles)["sha256"] != spec.data.sha256:
            raise DataError(f"the {spec.data.label} bars shipped to this cell are not the ones "
                            "its spec was made on")
    outcome = execute_run(spec, ctx, candles=candles)
    frames = []
    for name, res in outcome.report.results.items():
        frame = res.forecasts.loc[:, list(FORECAST_FIELDS)].copy()
        frame.insert(0, "model", name)
        frames.append(frame)
    forecasts = pd.concat(frames, ignore_index=True)
    info = {"host": socket.gethostname(), "pid": os.getpid(), "threads": threads,
            "seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu}
    return CellResult(str(payload.get("cell")), str(payload.get("key")), outcome.report_json(),
                      forecasts, info)


def study_cell_job(payload: dict[str, Any], ctx: TaskContext) -> CellResult:
    """Job ``study_cell``: run a cell in this worker process, candles from its data ref. Its
    partial results are not streamed (the driver decoded every scored model's forecasts only to
    drop them): the result carries them once, as on a Ray cluster."""
    return run_cell(payload, ctx.without_partials())
