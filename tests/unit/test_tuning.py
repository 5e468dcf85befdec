"""Nested walk-forward tuning: finds known optima, never sees the outer test block, streams
its trials, prunes, resumes from its sqlite storage, and is deterministic under a seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptodesk.evaluation.tuning import STEP, TunedForecaster, search_space, with_values
from cryptodesk.evaluation.tuning_spec import TrialDone, TuningDone, TuningError, TuningSpec
from cryptodesk.evaluation.walkforward import ForecastBatch, WalkForwardSpec, walk_forward
from cryptodesk.jobs import TaskContext
from cryptodesk.models.registry import available_models, config_class, model_class
from tests.support import toy_models
from tests.support.series import ar_returns, candles_from_returns, random_walk

optuna = pytest.importorskip("optuna")


def _toy(tuning: dict, **kw) -> TunedForecaster:
    return TunedForecaster("shrink_ar", None, tuning, registry=toy_models.toy_registry(), **kw)


def _events(model, data, spec):
    events: list = []
    result = walk_forward(model, data, spec, TaskContext(on_partial=events.append))
    return result, events


def test_tuning_finds_the_known_best_settings() -> None:
    """Returns follow r_t = 0.6 r_{t-2} + noise: the best one-step forecast is 0.6 r_{t-2},
    i.e. lag 2 and alpha 0.6, and the tuner must find both from inner folds alone."""
    data = candles_from_returns(ar_returns(700, {2: 0.6}, seed=5))
    model = _toy({"trials": 40, "inner_folds": 3, "inner_fold_bars": 120, "startup_trials": 10,
                  "seed": 1})
    model.fit(data.iloc[:650])
    best = model.studies[0].best_params
    assert best["lag"] == 2
    assert best["alpha"] == pytest.approx(0.6, abs=0.12)
    assert model.config.lag == 2 and model.model.config.alpha == best["alpha"]
    # the defaults (alpha 0: the naive forecast) are trial 0 and scored ~1.0; the best beats them
    study = model.studies[0]
    assert study.history[0]["params"] == {"alpha": 0.0, "lag": 1}
    assert study.default_value == pytest.approx(1.0, abs=1e-9)
    assert study.best_value < 0.95


def test_the_outer_test_block_never_enters_a_trial() -> None:
    data = random_walk(400, seed=11)
    spec = WalkForwardSpec(horizon=1, test_size=60, refit_every=30)
    tuning = {"trials": 8, "inner_folds": 2, "inner_fold_bars": 40, "seed": 3}
    toy_models.SEEN.clear()
    events: list = []
    seen_by_first_tuning: list = []

    def on_partial(event) -> None:
        events.append(event)
        if isinstance(event, TuningDone) and event.refit == 0:
            seen_by_first_tuning.extend(toy_models.SEEN)

    base = walk_forward(_toy(tuning), data, spec, TaskContext(on_partial=on_partial))
    first_test = base.test_start
    first_trials = [e for e in events if isinstance(e, TrialDone) and e.refit == 0]
    assert len(first_trials) == 8
    # every frame the first tuning's trials were given ended before the first test bar
    assert len(seen_by_first_tuning) == 8 * (2 + 2 * 40)
    assert max(seen_by_first_tuning) < first_test
    # replace every bar after the first origin: the first tuning's trials do not move
    changed = data.copy()
    cut = data.index.get_loc(first_test)
    changed.iloc[cut:, :5] = changed.iloc[cut:, :5].to_numpy()[::-1] * 3.0
    changed.attrs.update(data.attrs)
    _res, events2 = _events(_toy(tuning), changed, spec)
    again = [e for e in events2 if isinstance(e, TrialDone) and e.refit == 0]
    key = [(e.trial, e.state, e.params, e.value) for e in first_trials]
    assert key == [(e.trial, e.state, e.params, e.value) for e in again]
    # and the tuned model's first forecast (made at the origin) is bit-identical
    assert base.forecasts["forecast"].iloc[0] == _res.forecasts["forecast"].iloc[0]


def test_a_tuned_lightgbm_does_not_look_ahead() -> None:
    """The registry contract's perturbation test, on a real model tuned at every refit."""
    data = random_walk(330, seed=4)
    spec = WalkForwardSpec(horizon=2, test_size=24, refit_every=12)
    cfg = model_class("lightgbm").fast_config()
    tuning = {"trials": 3, "inner_folds": 2, "inner_fold_bars": 10, "startup_trials": 2,
              "only": ["learning_rate", "num_leaves", "lambda_l2"]}
    base = walk_forward(TunedForecaster("lightgbm", cfg, tuning), data, spec).forecasts
    cut = int(len(data) - 24 - 1 + 13)  # origin 13, after the second refit
    changed = data.copy()
    changed.iloc[cut + 1:, :5] = changed.iloc[cut + 1:, :5].to_numpy() * 10.0
    changed.attrs.update(data.attrs)
    other = walk_forward(TunedForecaster("lightgbm", cfg, tuning), changed, spec).forecasts
    keep = base["origin"] <= data.index[cut]
    pd.testing.assert_frame_equal(base[keep].drop(columns="actual"),
                                  other[keep].drop(columns="actual"), check_exact=True)


def test_trials_stream_as_events_and_inner_forecasts_stay_inside() -> None:
    data = random_walk(300, seed=2)
    spec = WalkForwardSpec(horizon=1, test_size=20, refit_every=10)
    result, events = _events(_toy({"trials": 5, "inner_folds": 2, "inner_fold_bars": 30,
                                   "tune_every": 0}), data, spec)
    trials = [e for e in events if isinstance(e, TrialDone)]
    done = [e for e in events if isinstance(e, TuningDone)]
    assert [e.trial for e in trials] == [0, 1, 2, 3, 4]  # tune_every 0: the first refit only
    assert len(done) == 1 and done[0].best_params == trials[
        [e.value for e in trials].index(min(e.value for e in trials))].params
    best_so_far = [e.best_value for e in trials]
    assert best_so_far == sorted(best_so_far, reverse=True)
    batches = [e for e in events if isinstance(e, ForecastBatch)]
    assert len(batches) == 20  # the outer origins only, none from inner folds
    assert [f["tuning"]["tuned"] for f in result.fits] == [True, False]


def test_same_seed_same_trials_other_seed_other_trials() -> None:
    data = random_walk(300, seed=9)
    tuning = {"trials": 6, "inner_folds": 2, "inner_fold_bars": 30}
    runs = []
    for seed in (4, 4, 5):
        model = _toy({**tuning, "seed": seed})
        model.fit(data)
        runs.append([(h["params"], h["value"]) for h in model.studies[0].history])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_nets_report_every_epoch_and_fold_to_the_pruner(tmp_path) -> None:
    """With a sqlite storage the studies can be opened afterwards: each trial of an LSTM
    reported its validation loss per epoch and its inner score per fold."""
    pytest.importorskip("torch")
    data = random_walk(260, seed=3)
    url = f"sqlite:///{tmp_path / 'lstm.db'}"
    cfg = model_class("lstm").fast_config(max_epochs=2, patience=0)
    model = TunedForecaster("lstm", cfg, {"trials": 3, "inner_folds": 2, "inner_fold_bars": 10,
                                          "storage": url, "startup_trials": 1,
                                          "only": ["learning_rate", "dropout"]})
    model.fit(data)
    summaries = optuna.get_all_study_summaries(url)
    assert len(summaries) == 1
    study = optuna.load_study(study_name=summaries[0].study_name, storage=url)
    first = study.trials[0]
    assert first.params == {"learning_rate": 2e-3, "dropout": 0.2}  # the defaults first
    steps = set(first.intermediate_values)
    assert {1, 2, STEP - 1, STEP + 1, STEP + 2, 2 * STEP - 1} <= steps
    # the storage holds numbers and names only; a second run resumes instead of re-running
    again = TunedForecaster("lstm", cfg, model.tuning)
    events: list = []
    again.fit(data, TaskContext(on_partial=events.append))
    assert not [e for e in events if isinstance(e, TrialDone)]
    assert again.studies[0].best_params == model.studies[0].best_params


def test_budget_and_space_errors_are_one_line() -> None:
    with pytest.raises(TuningError, match="sqlite"):
        TuningSpec(storage="postgresql://x")
    with pytest.raises(TuningError, match="not in the search space"):
        TunedForecaster("lightgbm", None, {"only": ["nope"]})
    with pytest.raises(TuningError, match="no search space"):
        TunedForecaster("drift", None, {})
    with pytest.raises(TuningError, match="training bars are too few"):
        _toy({"inner_folds": 5, "inner_fold_bars": 100}).fit(random_walk(200))


@pytest.mark.parametrize("name", available_models())
def test_every_declared_space_holds_the_defaults(name: str) -> None:
    """Trial 0 of every tuning is the default config: each default lies in its space."""
    cls = config_class(name)
    space = cls.search_space()
    if not space:
        return
    defaults = cls()
    for dotted, (_spec, search) in space.items():
        value = defaults.to_dict()
        for part in dotted.split("."):
            value = value[part]
        if hasattr(search, "values"):
            assert (tuple(value) if isinstance(value, list) else value) in search.values
        else:
            assert search.lo <= value <= search.hi, dotted
    # and every point of the space is a valid config
    picks = {n: (s.values[-1] if hasattr(s, "values") else s.hi) for n, (_p, s) in space.items()}
    with_values(defaults, picks)
    assert search_space(cls)


def test_tuned_model_saves_as_a_plain_model_with_its_studies(tmp_path) -> None:
    from cryptodesk.io.bundles import ModelLibrary

    data = random_walk(300, seed=1)
    cfg = model_class("lightgbm").fast_config()
    model = TunedForecaster("lightgbm", cfg, {"trials": 2, "inner_folds": 2,
                                              "inner_fold_bars": 15, "only": ["num_leaves"]})
    model.fit(data)
    library = ModelLibrary(tmp_path)
    info = library.save(model, data)
    loaded, manifest = library.load(info.id)
    assert loaded.name == "lightgbm" and loaded.config == model.config
    np.testing.assert_array_equal(loaded.predict(data, 1).point, model.predict(data, 1).point)
    tuning = manifest["tuning"]
    assert tuning["space"] == {"num_leaves": {"range": [4, 63], "log": True, "step": None}}
    assert tuning["studies"][0]["best_params"] == {"num_leaves": model.config.num_leaves}
