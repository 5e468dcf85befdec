"""Issue 17's net features on a CUDA GPU (skipped without one): pre-training and fine-tuning,
tuning with per-epoch pruning reports, and an ensemble holding a net all train on the GPU and
their saved models forecast on the CPU."""

from __future__ import annotations

import numpy as np
import pytest

from cryptodesk.features.cross_asset import join_pretrain
from cryptodesk.jobs import TaskContext
from cryptodesk.models.registry import create, load_model, model_class
from tests.support.series import random_walk

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")


def _data():
    return join_pretrain(random_walk(300, seed=1), random_walk(300, seed=2, symbol="BTC-USD"),
                         "BTC-USD", "1d")


def test_pretrained_net_trains_on_the_gpu_and_forecasts_on_the_cpu(tmp_path) -> None:
    data = _data()
    cfg = model_class("lstm").fast_config(device="cuda", pretrain=("BTC-USD",),
                                          pretrain_epochs=2, finetune_epochs=2)
    model = create("lstm", cfg).fit(data.iloc[:280])
    assert model.trained_on.startswith("cuda")
    assert model.fit_summary()["pretrained"]["assets"] == ["BTC-USD"]
    fc = model.predict(data, 1)
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict(data, 1).point, fc.point, rtol=1e-6)


def test_tuned_net_on_the_gpu_reports_epochs_to_the_pruner() -> None:
    from cryptodesk.evaluation.tuning import TunedForecaster
    from cryptodesk.evaluation.tuning_spec import TrialDone

    events: list = []
    cfg = model_class("gru").fast_config(device="cuda", max_epochs=2)
    model = TunedForecaster("gru", cfg, {"trials": 3, "inner_folds": 2, "inner_fold_bars": 10,
                                         "startup_trials": 1, "only": ["learning_rate"]})
    model.fit(random_walk(260), TaskContext(on_partial=events.append))
    assert [e.trial for e in events if isinstance(e, TrialDone)] == [0, 1, 2]
    assert model.model.trained_on.startswith("cuda")


def test_ensemble_with_a_gpu_net_member(tmp_path) -> None:
    data = random_walk(300)
    lstm = model_class("lstm").fast_config(device="cuda").to_dict()
    ens = create("ensemble", {"members": ["drift", "lstm"], "combiner": "inverse_error",
                              "oof_folds": 1, "oof_bars": 20, "member_configs": {"lstm": lstm}})
    ens.fit(data.iloc[:280])
    ens.save(tmp_path / "e")
    np.testing.assert_allclose(load_model(tmp_path / "e").predict(data, 1).point,
                               ens.predict(data, 1).point, rtol=1e-6)
