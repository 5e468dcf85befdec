"""Tuning through the app layer: run specs with labels, tuning budgets and cross inputs
round-trip; ``cryptodesk tune`` reports tuned beside default and naive; ``train --tune``
saves the chosen settings; the ``tune`` job streams trials from a worker process."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cryptodesk.app.runspec import ModelSpec, RunSpec, RunSpecError, build_run_spec
from cryptodesk.app.tune import search_space_of, studies, tunable_models, with_tuning
from cryptodesk.cli import main
from cryptodesk.data.store import CandleStore
from cryptodesk.evaluation.tuning_spec import TrialDone, TuningSpec
from cryptodesk.evaluation.walkforward import WalkForwardSpec
from tests.support.series import random_walk

PROTOCOL = WalkForwardSpec(horizon=1, test_size=20, refit_every=10)
SMALL = {"n_estimators": 10, "num_leaves": 7, "min_data_in_leaf": 10}
BUDGET = TuningSpec(trials=3, inner_folds=2, inner_fold_bars=10, startup_trials=2,
                    only=("learning_rate", "num_leaves"))


@pytest.fixture
def stored() -> pd.DataFrame:
    data = random_walk(260, seed=2, symbol="TUNE-USD")
    CandleStore().write(data)
    return data


def test_spec_with_tuned_twin_round_trips(stored: pd.DataFrame) -> None:
    spec = with_tuning(build_run_spec(stored, [("lightgbm", SMALL)], PROTOCOL, seed=3),
                       ["lightgbm"], BUDGET)
    assert spec.model_names() == ["naive", "lightgbm", "lightgbm+tuned"]
    tuned = spec.model("lightgbm+tuned")
    assert tuned.tuning == BUDGET and tuned.config == spec.model("lightgbm").config
    again = RunSpec.from_json(spec.to_json())
    assert again == spec
    raw = json.loads(spec.to_json())
    raw["models"].append(raw["models"][1])
    with pytest.raises(RunSpecError, match="once"):
        RunSpec.from_dict(raw)
    raw["models"][-1] = {**raw["models"][1], "tuning": {"trials": 0}}
    with pytest.raises(RunSpecError, match="trials"):
        RunSpec.from_dict(raw)


def test_what_a_tune_option_offers() -> None:
    assert {"lightgbm", "lstm", "gru"} <= set(tunable_models())
    assert "naive" not in tunable_models() and "arima" not in tunable_models()
    assert search_space_of("lightgbm")["learning_rate"] == {"range": [0.01, 0.2], "log": True,
                                                           "step": None}


def test_tune_command_reports_tuned_beside_default_and_naive(stored, tmp_path, capsys) -> None:
    out, trials = tmp_path / "t.json", tmp_path / "trials.csv"
    sets = [a for k, v in SMALL.items() for a in ("--set", f"lightgbm.{k}={v}")]
    assert main(["tune", "--symbol", "TUNE-USD", "--model", "lightgbm", "--trials", "3",
                 "--test-size", "20", "--refit-every", "10", "--tune-every", "2",
                 "--inner-folds", "2", "--inner-fold-bars", "10", "--only",
                 "learning_rate,num_leaves", "--seed", "1", "--quiet", "--json", str(out),
                 "--trials-csv", str(trials), *sets]) == 0
    report = json.loads(out.read_text())
    names = {m["model"] for m in report["models"]}
    assert names == {"naive", "lightgbm", "lightgbm+tuned"}
    tuned = next(m for m in report["models"] if m["model"] == "lightgbm+tuned")
    assert tuned["metrics"]["dm_p_value"] is not None
    rows = studies(report)["lightgbm+tuned"]
    assert [r["tuned"] for r in rows] == [True, False]
    assert rows[0]["trials"] == {"complete": 3, "pruned": 0, "failed": 0}
    table = pd.read_csv(trials)
    assert len(table) == 3 and set(table["state"]) == {"complete"}
    text = capsys.readouterr().out
    assert "lightgbm+tuned: settings chosen at each refit" in text and "reused refit 0" in text


def test_train_tune_saves_the_chosen_settings(stored, capsys) -> None:
    from cryptodesk.io.bundles import ModelLibrary

    assert main(["train", "--symbol", "TUNE-USD", "--model", "lightgbm", "--config",
                 json.dumps(SMALL), "--tune", "3", "--tune-only", "num_leaves",
                 "--inner-folds", "2", "--inner-fold-bars", "15", "--no-eval"]) == 0
    info = ModelLibrary().list()[0]
    tuning = info.manifest["tuning"]
    best = tuning["studies"][0]["best_params"]["num_leaves"]
    assert info.manifest["model"]["config"]["num_leaves"] == best
    assert tuning["spec"]["trials"] == 3
    assert "tuned" in capsys.readouterr().out


def test_tune_job_streams_trials_from_a_worker(stored, pool) -> None:
    from cryptodesk.app.jobs.events import Done

    spec = build_run_spec(stored, [ModelSpec("lightgbm", SMALL)], PROTOCOL, seed=0)
    handle = pool.submit("tune", {"spec": spec.to_dict(), "models": ["lightgbm"],
                                  "tuning": BUDGET.to_dict()})
    events = list(handle.events(timeout=300))
    trials = [e for e in events if isinstance(e, TrialDone)]
    assert [t.trial for t in trials if t.refit == 0] == [0, 1, 2]
    assert all(t.model == "lightgbm+tuned" for t in trials)
    final = events[-1]
    assert isinstance(final, Done)
    assert "lightgbm+tuned" in final.result.ranking()
