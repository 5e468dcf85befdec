"""The session model, without Qt: results per series, run events, selection, observers.

The events come from a real run (execute_run with an event context), as a worker sends them.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cryptodesk.app.jobs.context import EventContext
from cryptodesk.app.jobs.events import ModelStarted, Progress
from cryptodesk.app.run import ModelScored, execute_run
from cryptodesk.app.runspec import build_run_spec
from cryptodesk.app.session import BENCHMARK_ROW, Change, Session
from cryptodesk.data.demo import ensure_demo
from cryptodesk.data.store import CandleStore
from cryptodesk.evaluation.strategy import StrategySpec
from cryptodesk.evaluation.walkforward import ForecastBatch, WalkForwardSpec
from cryptodesk.models.epochs import EpochReport


@dataclass(frozen=True)
class Shown:
    """What a front end shows: anything with a key (the GUI's LoadedSeries has more)."""

    key: Any
    frame: pd.DataFrame


@pytest.fixture(scope="module")
def run() -> tuple[Any, list[Any], Any, pd.DataFrame]:
    """A real walk-forward (naive, drift) on the demo series: its spec, the events it
    streamed, and its result."""
    import os
    import tempfile

    old = os.environ.get("CRYPTODESK_HOME")
    with tempfile.TemporaryDirectory() as home:
        os.environ["CRYPTODESK_HOME"] = home
        try:
            store = CandleStore()
            ensure_demo(store)
            candles = store.load(store.find("DEMO/USD", "1d"))
            spec = build_run_spec(candles, [("drift", {})],
                                  WalkForwardSpec(test_size=30, refit_every=10), seed=0,
                                  strategy=StrategySpec())
            batches: list[list[Any]] = []
            context = EventContext(batches.append, progress_s=0.0, partial_s=0.0)
            result = execute_run(spec, context.ctx, candles=candles).result()
            context.flush()
        finally:
            if old is None:
                os.environ.pop("CRYPTODESK_HOME", None)
            else:
                os.environ["CRYPTODESK_HOME"] = old
    return spec, [e for batch in batches for e in batch], result, candles


def test_the_session_runs_without_qt() -> None:
    code = ("import sys; from cryptodesk.app.session import Session; Session(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'pyqtgraph', 'torch', 'lightgbm')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_observers_get_changes_of_their_topics_and_can_leave() -> None:
    session = Session()
    seen: list[Change] = []
    only_series: list[Change] = []
    session.subscribe(seen.append)
    session.subscribe(only_series.append, ("series",))
    session.show_series(Shown("A", pd.DataFrame()))
    session.set_sentiment(None)
    assert [c.topic for c in seen] == ["series", "sentiment"]
    assert [c.topic for c in only_series] == ["series"] and only_series[0].key == "A"
    session.unsubscribe(seen.append)
    session.show_series(Shown("B", pd.DataFrame()))
    assert len(seen) == 2 and len(only_series) == 2
    with pytest.raises(ValueError, match="unknown topic"):
        session.subscribe(seen.append, ("nope",))


def test_a_run_fills_its_series_results_from_the_job_events(run) -> None:
    spec, events, result, candles = run
    assert {type(e) for e in events} >= {Progress, ModelStarted, ForecastBatch, ModelScored}
    session = Session()
    session.show_series(Shown("A", candles))
    changes: list[Change] = []
    session.subscribe(changes.append)
    results = session.begin_run("A", spec, "walk-forward")
    assert list(results.models) == ["naive", "drift"]
    assert all(m.status == "queued" for m in results.models.values())
    assert results.models["drift"].data_sha256 == spec.data.sha256
    assert results.models["drift"].config == spec.model("drift").config
    assert session.progress.running and session.spec is spec
    # feed the events in two halves: the first model is scored, the second still running
    first_scored = next(i for i, e in enumerate(events) if isinstance(e, ModelScored))
    cut = next(i for i, e in enumerate(events) if isinstance(e, ForecastBatch)
               and e.model == "drift" and i > first_scored) + 3
    assert [c.topic for c in changes] == ["run", "progress"]
    changes.clear()
    session.apply_events("A", events[:cut])
    assert results.models["naive"].status == "done"
    assert results.models["drift"].status == "running" and results.live_model == "drift"
    assert 0 < results.models["drift"].forecasts.n < 30
    assert session.progress.fraction is not None
    # one notification per kind of change and model for the whole batch
    topics = [(c.topic, c.model) for c in changes]
    assert len(topics) == len(set(topics))
    session.apply_events("A", events[cut:])
    assert results.models["drift"].status == "done"
    assert results.models["drift"].forecasts.n == 30
    session.finish_run("A", result, "finished")
    assert results.result is result and session.selection == ("drift",)
    assert not session.progress.running and session.progress.message == "finished"
    x, point, lo, _hi, actual = results.models["drift"].forecasts.arrays()
    expected = result.forecasts["drift"]
    np.testing.assert_array_equal(point, expected["forecast"].to_numpy())
    assert x.size == 30
    assert lo is not None and np.isfinite(actual).all()


def test_rows_carry_metrics_trading_health_and_the_benchmark(run) -> None:
    spec, _events, result, candles = run
    session = Session()
    session.show_series(Shown("A", candles))
    session.begin_run("A", spec)
    session.finish_run("A", result)
    rows = {r["model"]: r for r in session.current.rows()}
    assert set(rows) == {"naive", "drift", BENCHMARK_ROW}
    metrics = result.metrics()["drift"]
    assert rows["drift"]["rmse"] == pytest.approx(metrics["rmse"])
    assert rows["naive"]["dm_p_value"] is None and rows["naive"]["theils_u"] == pytest.approx(1)
    signals = result.signals
    assert rows["drift"]["total_return"] == pytest.approx(
        signals.metrics["drift"]["total_return"] * 100)
    assert rows["drift"]["sharpe"] == pytest.approx(signals.metrics["drift"]["sharpe"])
    assert rows["drift"]["health"] in ("ok", "degraded — retrain suggested")
    assert rows[BENCHMARK_ROW]["status"] == "benchmark"


def test_results_stay_with_their_series(run) -> None:
    spec, events, result, candles = run
    session = Session()
    session.show_series(Shown("A", candles))
    session.begin_run("A", spec)
    session.show_series(Shown("B", candles))  # the run goes on while B is shown
    session.apply_events("A", events)
    session.finish_run("A", result)
    assert session.current is None and session.selection == () and session.spec is None
    session.select(["drift"])  # nothing to select on B
    assert session.selection == ()
    session.show_series(Shown("A", candles))
    assert session.current.result is result and session.selection == ("drift",)
    session.select(["naive", "nope", "drift", "naive"])
    assert session.selection == ("naive", "drift")  # several models, unknown ones dropped


def test_a_cancelled_run_keeps_its_finished_models(run) -> None:
    spec, events, _result, candles = run
    session = Session()
    session.show_series(Shown("A", candles))
    session.begin_run("A", spec)
    first_scored = next(i for i, e in enumerate(events) if isinstance(e, ModelScored))
    session.apply_events("A", events[: first_scored + 1])
    session.end_run("A", "cancelled", "Cancelled.")
    statuses = {m.name: m.status for m in session.current.models.values()}
    assert statuses == {"naive": "done", "drift": "cancelled"}
    assert not session.progress.running and session.progress.message == "Cancelled."


def test_loss_reports_feed_the_model_they_name(run) -> None:
    spec, _events, _result, candles = run
    session = Session()
    session.show_series(Shown("A", candles))
    results = session.begin_run("A", spec)
    reports = [EpochReport("drift", e, 3, 1.0 / e, 2.0 / e, 1.5, e, 0.1) for e in (1, 2, 3)]
    session.apply_events("A", [*reports, EpochReport("drift", 1, 3, 0.9, None, None, 1, 0.1)])
    loss = results.models["drift"].losses
    assert loss.fits == 2 and loss.epochs == [1.0]  # a refit starts a new curve
    assert results.loss_model == "drift" and loss.naive == 1.5


def test_a_saved_models_forecast_belongs_to_its_series() -> None:
    session = Session()
    session.show_series(Shown("A", pd.DataFrame()))
    session.set_future("A", "forecast of A")
    session.show_series(Shown("B", pd.DataFrame()))
    assert session.current is None
    session.show_series(Shown("A", pd.DataFrame()))
    assert session.current.future == "forecast of A"
