"""App-layer test set-up: worker processes may run the test job functions in tests/support."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cryptodesk.app.jobs.runner import EXTRA_MODULES_ENV


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[object]:
    """A worker pool whose workers may run ``tests.support.jobs``; shut down after the test."""
    from cryptodesk.app.jobs.pool import WorkerPool

    monkeypatch.setenv(EXTRA_MODULES_ENV, "tests.support")
    workers = WorkerPool(stderr_dir=tmp_path)
    yield workers
    workers.shutdown()
