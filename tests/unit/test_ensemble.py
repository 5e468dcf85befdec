"""Ensembles: combiners learn the weights they should, configs are checked, bundles hold
their members as sub-bundles (no pickle), and the CLI spells them ``ensemble:a+b``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cryptodesk.errors import ModelError
from cryptodesk.evaluation.walkforward import WalkForwardSpec, walk_forward
from cryptodesk.models.ensemble import _weights
from cryptodesk.models.ensemble_config import EnsembleConfig
from cryptodesk.models.registry import create, model_class
from tests.support.series import random_walk


def _oof(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three members' out-of-fold log-return forecasts and the truth 0.7 a + 0.3 b + noise."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.normal(0, 0.01, (3, n))
    truth = 0.7 * a + 0.3 * b + rng.normal(0, 0.001, n)
    return np.stack([a, b, c], axis=-1)[:, None, :], truth[:, None]


def test_stacking_recovers_the_weights_behind_the_truth() -> None:
    preds, truth = _oof()
    w, mse = _weights(preds, truth, EnsembleConfig(members=("drift", "arima", "naive"),
                                                   combiner="stack"))
    np.testing.assert_allclose(w[0], [0.7, 0.3, 0.0], atol=0.02)
    assert len(mse[0]) == 3
    ridge, _ = _weights(preds, truth, EnsembleConfig(members=("drift", "arima", "naive"),
                                                     combiner="stack", stack="ridge",
                                                     ridge_alpha=1.0))
    assert np.abs(ridge[0]).sum() < 0.8 * np.abs(w[0]).sum()  # shrunk towards no change
    assert ridge[0][0] > ridge[0][1] > abs(ridge[0][2])


def test_inverse_error_weights_follow_the_members_errors() -> None:
    preds, truth = _oof()
    w, mse = _weights(preds, truth, EnsembleConfig(members=("drift", "arima", "naive"),
                                                   combiner="inverse_error"))
    inv = 1 / np.asarray(mse[0])
    np.testing.assert_allclose(w[0], inv / inv.sum())
    assert w[0][0] == max(w[0]) and w[0].sum() == pytest.approx(1.0)


def test_mean_ensemble_is_the_average_of_its_members_log_returns() -> None:
    data = random_walk(300)
    ens = create("ensemble", {"members": ["drift", "naive"], "combiner": "mean"})
    ens.fit(data.iloc[:250])
    fc = ens.predict(data.iloc[:250], 1)
    last = data["close"].iloc[249]
    drift = create("drift").fit(data.iloc[:250]).predict(data.iloc[:250], 1)
    expected = last * np.exp(0.5 * np.log(drift.point[0] / last))
    assert fc.point[0] == pytest.approx(expected, rel=1e-12)


def test_config_is_checked_and_holds_full_member_configs() -> None:
    cfg = EnsembleConfig(members=("arima", "lightgbm"), seed=5,
                         member_configs={"lightgbm": {"n_estimators": 7}})
    assert cfg.member_configs["lightgbm"]["n_estimators"] == 7
    assert cfg.member_configs["lightgbm"]["seed"] == 5  # members take the ensemble's seed
    assert "max_p" in cfg.member_configs["arima"]
    assert EnsembleConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert cfg.label() == "ensemble:arima+lightgbm/mean"
    for bad, match in ((("arima",), "at least two"), (("arima", "arima"), "once"),
                       (("arima", "ensemble"), "another ensemble"),
                       (("arima", "nope"), "unknown model")):
        with pytest.raises(ModelError, match=match):
            EnsembleConfig(members=bad)
    with pytest.raises(ModelError, match="not members"):
        EnsembleConfig(members=("arima", "drift"), member_configs={"lstm": {}})
    with pytest.raises(ModelError, match="n_estimators"):
        EnsembleConfig(members=("arima", "lightgbm"),
                       member_configs={"lightgbm": {"n_estimators": -1}})


def test_learned_weights_come_from_the_training_window_only() -> None:
    data = random_walk(330, seed=5)
    cfg = EnsembleConfig(members=("drift", "arima"), combiner="inverse_error", oof_folds=2,
                         oof_bars=30)
    spec = WalkForwardSpec(horizon=1, test_size=30, refit_every=15)
    base = walk_forward(create("ensemble", cfg), data, spec)
    changed = data.copy()
    changed.iloc[-30:, :5] = changed.iloc[-30:, :5].to_numpy() * 5
    changed.attrs.update(data.attrs)
    other = walk_forward(create("ensemble", cfg), changed, spec)
    assert base.fits[0]["weights"] == other.fits[0]["weights"]
    assert base.fits[0]["weights"] != base.fits[1]["weights"]  # refit: learned again


def test_bundle_lists_members_as_sub_bundles(tmp_path) -> None:
    from cryptodesk.io.bundles import ModelLibrary

    data = random_walk(300)
    cfg = model_class("ensemble").fast_config().replace(combiner="inverse_error")
    ens = create("ensemble", cfg).fit(data.iloc[:260])
    library = ModelLibrary(tmp_path)
    info = library.save(ens, data.iloc[:260])
    members = info.manifest["members"]
    assert [m["kind"] for m in members] == ["arima", "lightgbm", "lstm"]
    payload = info.path / "model"
    for m in members:
        assert (payload / m["dir"] / "model.json").is_file()
        assert any(f.startswith(m["dir"] + "/") for f in info.manifest["payload"]["files"])
    assert not list(info.path.rglob("*.pkl")) and not list(info.path.rglob("*.pickle"))
    loaded, _manifest = library.load(info.id)
    np.testing.assert_array_equal(loaded.predict(data, 1).point, ens.predict(data, 1).point)
    # a swapped member payload is refused by its checksum
    weights = payload / members[2]["dir"] / "net.pt"
    weights.write_bytes(weights.read_bytes()[:-8])
    with pytest.raises(ModelError, match="checksum"):
        library.load(info.id)


def test_cli_spells_an_ensemble_with_its_members(tmp_path, capsys) -> None:
    from cryptodesk.cli import main

    csv = tmp_path / "T.csv"
    data = random_walk(260)
    data.rename_axis("date").reset_index().to_csv(csv, index=False)
    out = tmp_path / "r.json"
    code = main(["backtest", "--csv", str(csv), "--symbol", "T-USD", "--models",
                 "ensemble:drift+arima", "--set", "ensemble.combiner=stack", "--set",
                 "ensemble.oof_bars=20", "--test-size", "20", "--refit-every", "10",
                 "--quiet", "--json", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    names = [m["model"] for m in report["models"]]
    assert "ensemble:drift+arima/stack" in names
    entry = next(m for m in report["models"] if m["model"] == "ensemble:drift+arima/stack")
    assert entry["config"]["combiner"] == "stack" and entry["fits"][0]["weights"]
    assert "ensemble:drift+arima/stack" in capsys.readouterr().out


def test_member_picking_helpers_for_the_front_ends() -> None:
    from cryptodesk.app.ensemble import (
        combiners,
        ensemble_spec,
        member_candidates,
        parse_model_token,
    )

    assert "ensemble" not in member_candidates() and {"arima", "lstm"} <= set(member_candidates())
    assert combiners() == ("mean", "inverse_error", "stack")
    spec = ensemble_spec(["arima", "drift"], "inverse_error", seed=3)
    assert spec.name == "ensemble" and spec.key == "ensemble:arima+drift/inverse_error"
    assert spec.config["member_configs"]["arima"]["max_p"] >= 0
    assert parse_model_token("Ensemble:arima+drift") == ("ensemble", {"members": ["arima", "drift"]})
    assert parse_model_token("lstm") == ("lstm", {})
    for bad in ("lstm:arima+drift", "ensemble:arima"):
        with pytest.raises(ModelError):
            parse_model_token(bad)
