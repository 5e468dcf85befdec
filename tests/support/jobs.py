"""Job functions for the worker-pool tests (allowed through CRYPTODESK_EXTRA_JOB_MODULES)."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.errors import DataError
from cryptodesk.jobs import TaskContext


def echo(payload: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    """Report progress and a partial result, return the payload with an array and a frame."""
    ctx.progress(0.5, "half way")
    ctx.partial({"step": 1})
    frame = pd.DataFrame({"x": [1.0, np.nan]}, index=pd.date_range("2024", periods=2, tz="UTC"))
    return {"payload": payload, "array": np.arange(3.0), "frame": frame, "pid": os.getpid()}


def fail(payload: dict[str, Any], ctx: TaskContext) -> None:
    """A user error."""
    raise DataError(payload.get("message", "bad data"))


def bug(payload: dict[str, Any], ctx: TaskContext) -> None:
    """A programming error."""
    return {}["missing"]


def abort(payload: dict[str, Any], ctx: TaskContext) -> None:
    """A native abort, as a library's fatal error would cause."""
    os.write(2, b"native library: fatal error, aborting\n")
    os.abort()


def sleep(payload: dict[str, Any], ctx: TaskContext) -> str:
    """Sleep in small steps, honouring cancel."""
    end = time.monotonic() + float(payload.get("seconds", 10))
    while time.monotonic() < end:
        ctx.check_cancelled()
        time.sleep(0.01)
    return "slept"


def stubborn(payload: dict[str, Any], ctx: TaskContext) -> str:
    """Never checks for cancel (a job stuck in native code)."""
    time.sleep(float(payload.get("seconds", 30)))
    return "woke"


def slow_teardown(payload: dict[str, Any], ctx: TaskContext) -> str:
    """Leave an exit handler that would hold the worker's interpreter teardown for a minute
    (as a big library's teardown holds it for seconds)."""
    import atexit

    atexit.register(time.sleep, 60.0)
    return "armed"
