"""The session keys a run's models the way the run's events and results do: by label (a
tuned copy ``lightgbm+tuned``, ensembles ``ensemble:a+b/<combiner>``), else by kind, so two
entries of the same kind are two rows, each fed by its own events."""

from __future__ import annotations

from cryptodesk.app.ensemble import ensemble_spec
from cryptodesk.app.jobs.events import ModelStarted
from cryptodesk.app.runspec import build_run_spec
from cryptodesk.app.session import Session
from cryptodesk.app.tune import with_tuning
from cryptodesk.data.demo import generate_demo
from cryptodesk.evaluation.walkforward import WalkForwardSpec


def test_models_of_one_kind_are_kept_apart_by_their_labels() -> None:
    candles = generate_demo("1d", bars=200, seed=1)
    models = [("lightgbm", {}), ensemble_spec(["drift", "lightgbm"], "mean"),
              ensemble_spec(["drift", "lightgbm"], "stack")]
    spec = build_run_spec(candles, models, WalkForwardSpec(test_size=20), seed=0)
    spec = with_tuning(spec, ["lightgbm"], {"trials": 2})
    session = Session()
    results = session.begin_run("k", spec, "run")
    names = ["naive", "lightgbm", "lightgbm+tuned", "ensemble:drift+lightgbm/mean",
             "ensemble:drift+lightgbm/stack"]
    assert list(results.models) == names == spec.model_names()
    session.apply_events("k", [ModelStarted("ensemble:drift+lightgbm/stack", 4, 5)])
    assert results.models["ensemble:drift+lightgbm/stack"].status == "running"
    assert results.models["ensemble:drift+lightgbm/mean"].status == "queued"
    assert results.models["lightgbm+tuned"].config["n_estimators"] == spec.model(
        "lightgbm+tuned").config["n_estimators"]
    assert [r["model"] for r in results.rows()][:5] == names
