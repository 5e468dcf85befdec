"""Runs as a trader sees them: re-running keeps the models already done, and the progress bar
moves with the work (weighted by each model's cost), with the table saying what the worker
does. Real worker processes, real runs."""

from __future__ import annotations

import itertools
import time

import pytest

from tests.gui.helpers import tiny_run

pytestmark = pytest.mark.gui
LSTM_SMALL = {"lookback": 16, "max_epochs": 10, "patience": 0, "batch_size": 64,
              "num_threads": 1, "hidden": [12]}


def _statuses(window) -> dict[str, str]:
    return {r["model"]: r["status"] for r in window.results.rows()}


def test_rerunning_reuses_finished_models(window, qtbot) -> None:
    tp = window.training
    tiny_run(window, ["lightgbm"], test_size=40, refit_every=10)
    tp.select_model("lightgbm")
    tp.form("lightgbm").set_values({"n_estimators": 10})
    with qtbot.waitSignal(window.run_finished, timeout=120_000) as first:
        window.start_training()
    before = first.args[0]
    # one more model: naive and lightgbm are not walked forward again
    tp.set_checked(["lightgbm", "drift"])
    with qtbot.waitSignal(window.run_finished, timeout=120_000) as second:
        window.start_training()
    assert "reusing naive, lightgbm (same settings and data)" in window.session.progress.label
    after = second.args[0]
    old, new = before.timings(), after.timings()
    # a kept model's walk-forward is the one of the first run, to the microsecond
    assert new["lightgbm"]["total_seconds"] == old["lightgbm"]["total_seconds"]
    assert new["naive"]["total_seconds"] == old["naive"]["total_seconds"]
    assert after.forecasts["lightgbm"]["forecast"].equals(before.forecasts["lightgbm"]["forecast"])
    assert _statuses(window) == {"naive": "done", "lightgbm": "done", "drift": "done",
                                 "buy & hold": "benchmark"}
    assert after.metrics()["lightgbm"]["rmse"] == before.metrics()["lightgbm"]["rmse"]
    # a changed setting means new work: lightgbm runs again
    tp.form("lightgbm").set_values({"n_estimators": 12})
    with qtbot.waitSignal(window.run_finished, timeout=120_000) as third:
        window.start_training()
    label = window.session.progress.label
    assert "lightgbm" not in label.split("reusing")[-1]
    assert third.args[0].timings()["lightgbm"]["total_seconds"] != \
        old["lightgbm"]["total_seconds"]


def test_progress_rises_steadily_across_naive_lightgbm_and_lstm(window, qtbot) -> None:
    tp = window.training
    tiny_run(window, ["lightgbm", "lstm"], test_size=90, refit_every=30)
    for name, values in (("lightgbm", {"n_estimators": 100}), ("lstm", LSTM_SMALL)):
        tp.select_model(name)
        tp.form(name).set_values(values)
    qtbot.waitUntil(lambda: not window.runs.warm_slot.busy, timeout=120_000)  # ticked, loaded
    seen: list[tuple[float, float, str]] = []
    mismatches: list[str] = []

    def on_progress(_change) -> None:
        p = window.session.progress
        if not p.running or p.fraction is None:
            return
        seen.append((time.monotonic(), p.fraction, p.message))
        model = p.message.split(":")[0]
        status = _statuses(window).get(model)
        # the worker works on ``model``: the table must not still call it queued (its last
        # message may arrive with its score, in the same batch: then it reads done)
        if status is not None and status not in ("running", "done"):
            mismatches.append(f"{p.message!r} while the table says {model} is {status}")

    window.session.subscribe(on_progress, ("progress",))
    with qtbot.waitSignal(window.run_finished, timeout=300_000):
        window.start_training()
    end = time.monotonic()
    window.session.unsubscribe(on_progress)
    assert len(seen) > 10 and not mismatches, mismatches[:3]
    fractions = [f for _t, f, _m in seen]
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(fractions))
    start = seen[0][0]
    span = end - start
    # the moments the bar moved on (by at least half a percent)
    rises, last = [start], fractions[0]
    for t, f, _m in seen:
        if f >= last + 0.005:
            rises.append(t)
            last = f
    rises.append(end)
    longest = max(b - a for a, b in itertools.pairwise(rises))
    assert longest <= 0.2 * span, (
        f"the bar stood still for {longest:.1f} s of a {span:.1f} s run; "
        f"{[(round(t - start, 1), round(f, 3), m) for t, f, m in seen][:60]}")
    # the LSTM is the expensive one: it gets most of the bar, naive a sliver
    lstm_from = next(f for _t, f, m in seen if m.startswith("lstm"))
    assert lstm_from < 0.7


def test_ctrl_click_in_the_table_overlays_models_and_compares_residuals(window, qtbot) -> None:
    from PySide6.QtCore import Qt

    tiny_run(window, ["drift", "arima"], test_size=30, refit_every=15)
    with qtbot.waitSignal(window.run_finished, timeout=180_000):
        window.start_training()
    view, panel = window.results.view, window.results

    def click(name: str, modifier=Qt.KeyboardModifier.NoModifier) -> None:
        row = panel.proxy.mapFromSource(panel.model.index(panel.model.row_of(name), 0)).row()
        rect = view.visualRect(panel.proxy.index(row, 0))
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())

    click("drift")
    click("naive", Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.chart.overlays() == ["naive", "drift"]
                    or window.chart.overlays() == ["drift", "naive"], timeout=3_000)
    residual = window.chart.residual
    assert {residual.model, residual.other_model} == {"drift", "naive"}
    # the readout follows: both models' forecasts and residuals at the last bar
    text = window.chart.readout.text()
    assert text.count("resid") == 2 and "naive" in text and "drift" in text
    click("arima", Qt.KeyboardModifier.ShiftModifier)  # a range: three models overlaid
    qtbot.waitUntil(lambda: len(window.chart.overlays()) == 3, timeout=3_000)
    assert all(window.chart.price.band_visible(i) for i in range(3))
    click("drift")  # a plain click: one model again, no comparison
    qtbot.waitUntil(lambda: window.chart.overlays() == ["drift"], timeout=3_000)
    assert residual.other_model == ""


def test_models_a_cancelled_run_finished_are_reused(window, qtbot) -> None:
    tp = window.training
    tiny_run(window, ["lightgbm", "lstm"], test_size=40, refit_every=10)
    tp.select_model("lightgbm")
    tp.form("lightgbm").set_values({"n_estimators": 10})
    tp.select_model("lstm")
    tp.form("lstm").set_values({**LSTM_SMALL, "max_epochs": 500})  # far too long to finish
    window.start_training()
    qtbot.waitUntil(lambda: _statuses(window).get("lightgbm") == "done"
                    and _statuses(window).get("lstm") == "running", timeout=180_000)
    kept = window.session.current.models["lightgbm"].seconds
    with qtbot.waitSignal(window.run_cancelled, timeout=60_000):
        window.runs.cancel()
    assert _statuses(window)["lstm"] == "cancelled"
    tp.set_checked(["lightgbm", "drift"])
    with qtbot.waitSignal(window.run_finished, timeout=120_000) as done:
        window.start_training()
    assert "reusing naive, lightgbm (same settings and data)" in window.session.progress.label
    timings = done.args[0].timings()["lightgbm"]
    assert timings["total_seconds"] == kept and timings["n_fits"] == 4
    assert _statuses(window) == {"naive": "done", "lightgbm": "done", "drift": "done",
                                 "buy & hold": "benchmark"}
