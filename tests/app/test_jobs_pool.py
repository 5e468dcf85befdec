"""Worker processes: events stream back, failures stay in their job, cancel works, a dead
worker is replaced. Real processes, real signals."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from cryptodesk.app.jobs.events import Cancelled, Done, Failed, Progress

ECHO = "tests.support.jobs:echo"


def test_a_job_streams_events_and_returns_data_without_pickle(pool) -> None:
    handle = pool.submit(ECHO, {"a": [1, 2.5, None]})
    events = list(handle.events(timeout=60))
    assert any(isinstance(e, Progress) and e.message == "half way" for e in events)
    assert {"step": 1} in events
    final = events[-1]
    assert isinstance(final, Done)
    assert final.result["payload"] == {"a": [1, 2.5, None]}
    np.testing.assert_array_equal(final.result["array"], np.arange(3.0))
    frame = final.result["frame"]
    assert isinstance(frame, pd.DataFrame) and np.isnan(frame["x"].iat[1])
    assert str(frame.index.tz) == "UTC"


def test_errors_and_bugs_fail_only_their_job(pool) -> None:
    error = pool.submit("tests.support.jobs:fail", {"message": "bad bars"}).wait(60)
    assert isinstance(error, Failed) and error.kind == "error" and error.message == "bad bars"
    bug = pool.submit("tests.support.jobs:bug", {}).wait(60)
    assert isinstance(bug, Failed) and bug.kind == "bug" and "KeyError" in bug.message
    assert "Traceback" in bug.details
    assert isinstance(pool.submit(ECHO, {}).wait(60), Done)


def test_a_native_abort_fails_its_job_with_the_last_stderr_lines_and_the_next_job_runs(pool) -> None:
    first = pool.submit(ECHO, {}).wait(60)
    final = pool.submit("tests.support.jobs:abort", {}).wait(60)
    assert isinstance(final, Failed) and final.kind == "crash"
    assert "SIGABRT" in final.message and "fatal error, aborting" in final.message
    assert "native library: fatal error" in final.details
    again = pool.submit(ECHO, {}).wait(60)
    assert isinstance(again, Done)
    assert again.result["pid"] != first.result["pid"]  # a fresh worker took over


def test_cancel_stops_a_cooperative_job_at_once(pool) -> None:
    handle = pool.submit("tests.support.jobs:sleep", {"seconds": 30})
    assert isinstance(pool.submit(ECHO, {}).wait(60), Done)  # both run: one worker per job
    time.sleep(0.3)
    started = time.monotonic()
    handle.cancel()
    final = handle.wait(10)
    assert isinstance(final, Cancelled) and final.note == ""
    assert time.monotonic() - started < 2.0  # well under 1 s on a quiet machine


def test_a_job_that_ignores_cancel_is_terminated_after_the_grace_period(pool) -> None:
    handle = pool.submit("tests.support.jobs:stubborn", {"seconds": 60})
    pid = handle.worker_pid
    time.sleep(0.3)
    started = time.monotonic()
    handle.cancel(grace_s=0.5)
    final = handle.wait(10)
    assert isinstance(final, Cancelled) and "terminated" in final.note
    assert time.monotonic() - started < 5.0  # 0.5 s grace + SIGTERM on a quiet machine
    assert pid not in [w.pid for w in pool.workers()]
    assert isinstance(pool.submit(ECHO, {}).wait(60), Done)


@pytest.mark.parametrize("kind", ["os:system", "cryptodesk.cli:main", "subprocess:run", "nope"])
def test_only_cryptodesk_job_functions_can_be_named(pool, kind: str) -> None:
    final = pool.submit(kind, {"x": 1}).wait(60)
    assert isinstance(final, Failed) and final.message == f"unknown job {kind!r}"



def test_shutdown_lets_every_idle_worker_exit_on_its_own(pool, tmp_path) -> None:
    # the workers leave without the interpreter's teardown (a second or more once torch is
    # loaded; here an exit handler that would take a minute), all asked at once: none has to
    # be terminated
    from cryptodesk.app.jobs.pool import WorkerPool

    two = WorkerPool(keep_idle=2, stderr_dir=tmp_path)
    try:
        handles = [two.submit("tests.support.jobs:slow_teardown", {}),
                   two.submit("tests.support.jobs:sleep", {"seconds": 0.5})]
        assert all(isinstance(h.wait(60), Done) for h in handles)
        workers = two.workers()
        assert len(workers) == 2
    finally:
        two.shutdown(timeout=10.0)
    assert [w.process.returncode for w in workers] == [0, 0]
