"""App-layer test set-up: worker processes may run the test job functions in tests/support;
a small study (inputs, and its results with 1 and 2 workers) shared by the study tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cryptodesk.app.jobs.runner import EXTRA_MODULES_ENV
from tests.support.study_inputs import study_spec, write_study_inputs


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[object]:
    """A worker pool whose workers may run ``tests.support.jobs``; shut down after the test."""
    from cryptodesk.app.jobs.pool import WorkerPool

    monkeypatch.setenv(EXTRA_MODULES_ENV, "tests.support")
    workers = WorkerPool(stderr_dir=tmp_path)
    yield workers
    workers.shutdown()


# ---------------------------------------------------------------------- studies
STUDY_SPEC = study_spec("two-by-three", """
[[models]]
name = "lstm"
config = { lookback = 8, max_epochs = 2, hidden = [8], batch_size = 32 }

[[comparisons]]
name = "the LSTM beats drift and naive"
model = "lstm"
baselines = ["drift", "naive"]

[[comparisons]]
name = "LightGBM is not worse than the LSTM"
model = "lightgbm"
baseline = "lstm"
expect = "not_worse"
margin = 5
""")


@pytest.fixture(scope="session")
def study_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with two synthetic daily series as CSV files and ``study.toml``: a
    2-series x 3-model x 2-seed study (drift runs once per series: 10 cells)."""
    return write_study_inputs(tmp_path_factory.mktemp("study_inputs"), STUDY_SPEC, bars=260)


@pytest.fixture(scope="session")
def local_studies(study_inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """The study run on this machine with 1 and with 2 workers: {workers: output folder}."""
    from cryptodesk.app.study.api import make_runner, open_spec
    from cryptodesk.app.study.engine import run_study

    spec, text, _notes = open_spec(study_inputs / "study.toml")
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRYPTODESK_HOME", str(tmp_path_factory.mktemp("study_home")))
        for workers in (1, 2):
            folder = tmp_path_factory.mktemp(f"study_w{workers}")
            outcome = run_study(spec, folder, make_runner(workers), spec_text=text)
            assert outcome.done == outcome.cells == 10 and not outcome.failed
            out[workers] = folder
    return out
