"""Other assets as inputs: the join is causal whatever the timeframes, pre-training reads only
bars before the origin, and a whole run (store, spec, replay) keeps every asset's future out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptodesk.evaluation.walkforward import WalkForwardSpec
from cryptodesk.features.cross_asset import (
    join_pretrain,
    join_with,
    pretrain_columns,
    with_columns,
)
from tests.support.series import random_walk


def test_with_columns_hold_returns_of_bars_closed_before_the_row_closes() -> None:
    target = random_walk(50, seed=1)
    other = random_walk(50, seed=2, symbol="BTC-USD")
    out = join_with(target, other, "BTC-USD", 2, "1d")
    r = np.diff(np.log(other["close"].to_numpy()))  # r[j-1]: return of other bar j
    cols = with_columns("BTC-USD", 2)
    # row t closes with other bar t: it sees other bar t-1 (ret_0) and t-2 (ret_1)
    t = 10
    assert out[cols[0]].iat[t] == pytest.approx(r[t - 2])
    assert out[cols[1]].iat[t] == pytest.approx(r[t - 3])
    assert out.attrs == target.attrs


@pytest.mark.parametrize("other_tf", ["1h", "1d"])
def test_join_never_sees_the_other_assets_future(other_tf: str) -> None:
    """Perturb the other series' bars that close after some time: no target row closing by
    then changes (hourly other on a daily target, and daily other on an hourly target)."""
    from cryptodesk.data.timeframes import timeframe_delta

    if other_tf == "1h":
        target = random_walk(40, seed=1)
        other = random_walk(40 * 24, seed=2, symbol="BTC-USD", freq="h", timeframe="1h")
    else:
        target = random_walk(24 * 30, seed=1, freq="h", timeframe="1h")
        other = random_walk(40, seed=2, symbol="BTC-USD")
    target_close = target.index + timeframe_delta(target.attrs["timeframe"])
    cut = target_close[len(target) // 2]
    changed = other.copy()
    late = other.index + timeframe_delta(other_tf) >= cut
    changed.loc[late, ["open", "high", "low", "close", "volume"]] *= 7.0
    for join in (lambda o: join_with(target, o, "BTC-USD", 3, other_tf),
                 lambda o: join_pretrain(target, o, "BTC-USD", other_tf)):
        a, b = join(other), join(changed)
        rows = target_close <= cut
        pd.testing.assert_frame_equal(a[rows], b[rows])
        assert not a[~rows].equals(b[~rows])


def _store_with(tmp_home, **series: pd.DataFrame):
    """A store (in the test's own home folder) holding ``series``."""
    from cryptodesk.data.store import CandleStore

    store = CandleStore()
    for frame in series.values():
        store.write(frame)
    return store


def _run(target: pd.DataFrame, store, models, with_symbols=()):
    from cryptodesk.app.cross_asset import plan_cross
    from cryptodesk.app.run import execute_run
    from cryptodesk.app.runspec import build_run_spec

    spec_models, cross = plan_cross(target, models, with_symbols, store=store)
    spec = build_run_spec(target, spec_models, WalkForwardSpec(horizon=1, test_size=24,
                                                               refit_every=12),
                          seed=0, cross=cross)
    return spec, execute_run(spec, store=store, candles=target)


def test_a_run_keeps_every_assets_future_out(cryptodesk_home) -> None:
    """A pre-trained LSTM and LightGBM with another asset's returns, through the store and
    the run spec: perturbing the target's *and* the other asset's bars after an origin
    leaves every forecast made up to it unchanged."""
    pytest.importorskip("torch")
    from cryptodesk.models.registry import model_class

    target = random_walk(280, seed=3, symbol="ETH-USD")
    other = random_walk(280, seed=4, symbol="BTC-USD")
    lstm = model_class("lstm").fast_config(pretrain=("BTC-USD",), pretrain_epochs=2,
                                           finetune_epochs=2).to_dict()
    models = [("lstm", lstm), ("lightgbm", model_class("lightgbm").fast_config().to_dict())]
    store = _store_with(cryptodesk_home, target=target, other=other)
    spec, base = _run(target, store, models, ["BTC-USD"])
    assert spec.model_names() == ["naive", "lstm+pretrain", "lstm", "lightgbm"]
    assert [c.role for c in spec.cross] == ["with", "pretrain"]
    assert "x_btc_usd_ret_0" in spec.model("lightgbm").config["features"]["external"]
    fits = base.report.results["lstm+pretrain"].fits
    assert fits[0]["pretrained"]["assets"] == ["BTC-USD"]
    cut = len(target) - 24 - 1 + 13  # origin 13, after the second refit
    late = slice(cut + 1, None)
    t2, o2 = target.copy(), other.copy()
    t2.iloc[late, :5] = t2.iloc[late, :5].to_numpy()[::-1] * 3
    o2.iloc[late, :5] = o2.iloc[late, :5].to_numpy() * 9
    t2.attrs.update(target.attrs)
    o2.attrs.update(other.attrs)
    store.delete(store.find("ETH-USD", "1d"))
    store.delete(store.find("BTC-USD", "1d"))
    store = _store_with(cryptodesk_home, target=t2, other=o2)
    _spec, changed = _run(t2, store, models, ["BTC-USD"])
    for name in ("lstm+pretrain", "lstm", "lightgbm"):
        a = base.report.results[name].forecasts
        b = changed.report.results[name].forecasts
        keep = a["origin"] <= target.index[cut]
        pd.testing.assert_frame_equal(a[keep].drop(columns="actual"),
                                      b[keep].drop(columns="actual"), check_exact=True)


def test_replay_refuses_a_changed_other_asset(cryptodesk_home) -> None:
    from cryptodesk.app.run import execute_run
    from cryptodesk.errors import DataError

    target = random_walk(200, seed=3, symbol="ETH-USD")
    other = random_walk(200, seed=4, symbol="BTC-USD")
    store = _store_with(cryptodesk_home, target=target, other=other)
    spec, _ = _run(target, store, [("drift", {})], ["BTC-USD"])
    bad = other.copy()
    bad.iloc[5, 3] *= 1.01
    bad.attrs.update(other.attrs)
    store.delete(store.find("BTC-USD", "1d"))
    store.write(bad)
    with pytest.raises(DataError, match="BTC-USD"):
        execute_run(spec, store=store)


def test_pretrain_columns_are_named_per_asset() -> None:
    assert pretrain_columns("BTC-USD")["close"] == "pt_btc_usd_close"
    assert with_columns("BTC/USDT", 2) == ("x_btc_usdt_ret_0", "x_btc_usdt_ret_1")


def test_train_with_another_asset_saves_a_bundle_that_rebuilds_its_inputs(cryptodesk_home) -> None:
    from cryptodesk.app.forecast import forecast_from_bundle
    from cryptodesk.app.library import train_and_save
    from cryptodesk.io.bundles import ModelLibrary

    target = random_walk(300, seed=3, symbol="ETH-USD")
    other = random_walk(300, seed=4, symbol="BTC-USD")
    store = _store_with(cryptodesk_home, target=target, other=other)
    saved = train_and_save(target, "lightgbm", {"n_estimators": 10}, evaluate=False,
                           with_symbols=("BTC-USD",), store=store)
    manifest = saved.bundle.manifest
    assert manifest["external_columns"] == list(with_columns("BTC-USD", 3))
    assert manifest["external_sources"]["x_BTC-USD"]["kind"] == "asset"
    table, _m, notes = forecast_from_bundle(ModelLibrary(), saved.bundle.id, target, 1)
    assert np.isfinite(table["forecast"]).all() and any("rebuilt" in n for n in notes)


def test_backtest_with_flag_feeds_the_other_assets_returns(cryptodesk_home, tmp_path) -> None:
    import json

    from cryptodesk.cli import main

    _store_with(cryptodesk_home, target=random_walk(220, seed=3, symbol="ETH-USD"),
                other=random_walk(220, seed=4, symbol="BTC-USD"))
    out = tmp_path / "r.json"
    assert main(["backtest", "--symbol", "ETH-USD", "--models", "lightgbm", "--with", "BTC-USD",
                 "--with-lags", "2", "--set", "lightgbm.n_estimators=5", "--test-size", "10",
                 "--quiet", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    lgbm = next(m for m in report["models"] if m["model"] == "lightgbm")
    assert lgbm["config"]["features"]["external"] == ["x_btc_usd_ret_0", "x_btc_usd_ret_1"]
    assert report["run_spec"]["cross"][0]["data"]["symbol"] == "BTC-USD"
