"""The training panel's Tune option: the run spec gets a tuned copy of each ticked tunable
model (as ``cryptodesk tune`` builds it), the run scores it beside its defaults and naive, and
the Tuning dock draws every trial live (table and best-so-far curve)."""

from __future__ import annotations

import os
from itertools import pairwise
from pathlib import Path

import pytest

from tests.gui.helpers import tiny_run


def test_tune_is_off_by_default_and_refuses_untunable_models(window) -> None:
    tp = window.training
    assert tp.tune.request(["naive", "lightgbm"]) is None  # off: nothing is tuned
    tp.tune.setChecked(True)
    assert tp.tune.form.isVisible()
    tp.set_checked(["drift"])
    assert tp.tune.models_label.text().startswith("Tick a model to tune: lightgbm, lstm")
    errors = []
    window.error_shown.connect(errors.append)
    window.start_training()
    assert errors and errors[0].startswith("Tune is on, but none of the ticked models has a "
                                           "search space; tick one of: lightgbm")
    assert not window.runs.running
    tp.set_checked(["drift", "lightgbm"])
    assert tp.tune.models_label.text().startswith("Tuned: lightgbm")
    models, budget = tp.tune.request(tp.checked())
    assert models == ["lightgbm"] and budget.trials == 10


def test_a_tuned_run_draws_its_trials_live(window, qtbot) -> None:
    tp = window.training
    tiny_run(window, ["lightgbm"], test_size=30, refit_every=0)
    tp.select_model("lightgbm")
    tp.form("lightgbm").set_values({"n_estimators": 20})
    tp.tune.setChecked(True)
    tp.tune.form.set_values({"trials": 5, "inner_folds": 2, "inner_fold_bars": 15,
                             "pruning": False, "seed": 3})
    monitor, dock = window.study_tune.tuning, window.study_tune.tuning_dock
    seen_live: list[int] = []
    window.runs.run_slot.events.connect(lambda _e: seen_live.append(len(monitor.log.trials)))
    with qtbot.waitSignal(window.run_finished, timeout=240_000) as done:
        window.start_training()
    result = done.args[0]
    assert set(result.metrics()) == {"naive", "lightgbm", "lightgbm+tuned"}
    tuned = result.spec.model("lightgbm+tuned")
    assert tuned.tuning is not None and tuned.tuning.trials == 5 and tuned.tuning.seed == 3
    assert result.spec.model("lightgbm").tuning is None  # the defaults run beside it
    rows_shown = {r["model"]: r for r in window.results.rows()}
    assert rows_shown["lightgbm+tuned"]["status"] == "done"  # its own row, beside lightgbm
    assert rows_shown["lightgbm"]["status"] == "done"
    # the trials arrived as the run went on, and the dock came up with the first
    assert any(0 < n for n in seen_live) and dock.isVisible()
    monitor.redraw()
    rows = monitor.rows()
    assert len(rows) == 5 and [r["Trial"] for r in rows] == ["4", "3", "2", "1", "0"]
    assert {r["Model"] for r in rows} == {"lightgbm+tuned"}
    assert all(r["State"] == "complete" for r in rows)
    assert all(r["Settings"] for r in rows) and "=" in rows[0]["Settings"]
    xs, best = monitor.best_curve("lightgbm+tuned")
    assert xs == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert all(b2 <= b1 for b1, b2 in pairwise(best))  # best so far
    values = [float(r["Inner U"]) for r in rows]
    assert best[-1] == pytest.approx(min(values), rel=1e-3)
    bold = [r for i, r in enumerate(rows) if monitor.table.item(i, 4).font().bold()]
    assert len(bold) == 1 and float(bold[0]["Inner U"]) == pytest.approx(best[-1], rel=1e-3)
    assert "1 search(es) done" in monitor.summary.text()
    # the run's JSON report holds the same search (what `cryptodesk tune` prints)
    from cryptodesk.app.tune import studies

    found = studies(result.report)["lightgbm+tuned"]
    assert found[0]["tuned"] and found[0]["best_params"]
    if os.environ.get("CRYPTODESK_SCREENSHOT_DIR"):
        keep = Path(os.environ["CRYPTODESK_SCREENSHOT_DIR"])
        keep.mkdir(parents=True, exist_ok=True)
        window.resize(1280, 800)
        from PySide6.QtWidgets import QScrollArea

        scroll = tp.findChild(QScrollArea)
        scroll.verticalScrollBar().setValue(tp.tune.y())
        scroll.horizontalScrollBar().setValue(0)
        for theme in ("light", "dark"):
            window.apply_theme(theme)
            qtbot.wait(200)
            window.grab().toImage().save(str(keep / f"tuning_{theme}.png"))
