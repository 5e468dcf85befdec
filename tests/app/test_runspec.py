"""Run specs: complete, validated, replayable bit for bit."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cryptodesk.app.run import execute_run
from cryptodesk.app.runspec import RunSpec, RunSpecError, build_run_spec
from cryptodesk.app.spec_candles import load_candles
from cryptodesk.cli import main
from cryptodesk.data.demo import ensure_demo
from cryptodesk.data.store import CandleStore
from cryptodesk.errors import DataError
from cryptodesk.evaluation.strategy import StrategySpec
from cryptodesk.evaluation.walkforward import WalkForwardSpec

PROTOCOL = WalkForwardSpec(horizon=2, test_size=40, refit_every=20)


@pytest.fixture
def demo() -> pd.DataFrame:
    store = CandleStore()
    ensure_demo(store)
    return store.load(store.find("DEMO/USD", "1d"))


def _spec(candles: pd.DataFrame) -> RunSpec:
    return build_run_spec(candles, [("lightgbm", {"n_estimators": 10}), ("drift", {})],
                          PROTOCOL, seed=7, strategy=StrategySpec())


def test_a_spec_holds_full_configs_and_round_trips_through_json(demo: pd.DataFrame) -> None:
    spec = _spec(demo)
    assert spec.model_names() == ["naive", "lightgbm", "drift"]
    lgbm = spec.model("lightgbm").config
    assert lgbm["seed"] == 7 and lgbm["n_estimators"] == 10 and "features" in lgbm
    assert spec.data.sha256 and spec.data.rows == len(demo)
    again = RunSpec.from_json(spec.to_json())
    assert again == spec
    assert json.loads(spec.to_json())["schema"] == "cryptodesk.run/1"


def test_replay_is_bit_identical_and_survives_new_bars(demo: pd.DataFrame, tmp_path) -> None:
    spec = _spec(demo)
    first = execute_run(spec).result()
    store = CandleStore()
    later = demo.index[-1] + pd.Timedelta(days=1)
    extra = demo.iloc[-1:].copy()
    extra.index = pd.DatetimeIndex([later], name=demo.index.name)
    store.write(pd.concat([demo, extra]).pipe(lambda f: f.__finalize__(demo)))
    assert len(store.load(store.find("DEMO/USD", "1d"))) == len(demo) + 1
    second = execute_run(RunSpec.from_json(spec.to_json())).result()
    for name in spec.model_names():
        pd.testing.assert_frame_equal(first.forecasts[name], second.forecasts[name],
                                      check_exact=True)


def test_changed_bars_are_refused_with_one_line(demo: pd.DataFrame) -> None:
    spec = _spec(demo)
    changed = demo.copy()
    changed.iloc[100, changed.columns.get_loc("close")] *= 1.01
    CandleStore().write(changed.__finalize__(demo))
    with pytest.raises(DataError, match="not the ones the run spec was made on") as err:
        load_candles(spec.data)
    assert "\n" not in str(err.value)


def test_backtest_save_spec_then_run_gives_the_same_files(demo: pd.DataFrame, tmp_path) -> None:
    args = ["--models", "drift,lightgbm", "--set", "lightgbm.n_estimators=10",
            "--test-size", "30", "--refit-every", "15", "--seed", "3", "--quiet"]
    assert main(["backtest", "--symbol", "DEMO/USD", "--timeframe", "1d", *args,
                 "--save-spec", str(tmp_path / "run.json"),
                 "--export", str(tmp_path / "a.csv"), "--json", str(tmp_path / "a.json")]) == 0
    assert main(["run", str(tmp_path / "run.json"), "--quiet",
                 "--export", str(tmp_path / "b.csv"), "--json", str(tmp_path / "b.json")]) == 0
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "ab")
    assert [m["metrics"] for m in a["models"]] == [m["metrics"] for m in b["models"]]
    assert a["run_spec"] == b["run_spec"]


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(extra=1), "unknown key"),
    (lambda d: d.update(schema="other/1"), "not a CryptoDesk run spec"),
    (lambda d: d["models"][1]["config"].update(n_estimators=-1), "n_estimators"),
    (lambda d: d["models"][1].update(name="nope"), "unknown model"),
    (lambda d: d.update(models=[]), "non-empty list"),
    (lambda d: d.update(seed="x"), "seed"),
    (lambda d: d["protocol"].update(horizon=0), "horizon"),
    (lambda d: d["data"].update(symbol=5), "data.symbol"),
    (lambda d: d.update(strategy={"rule": "moon"}), "rule"),
])
def test_invalid_specs_get_one_clear_line(demo: pd.DataFrame, change, message: str) -> None:
    raw = _spec(demo).to_dict()
    change(raw)
    with pytest.raises(RunSpecError, match=message) as err:
        RunSpec.from_json(json.dumps(raw))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"seed": ' + "9" * 5000 + "}",
                                  "not json", '{"seed": NaN}', ""])
def test_hostile_spec_text_is_refused(text: str, tmp_path, capsys) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    assert main(["run", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("cryptodesk: error:") and "\n" not in err and "Traceback" not in err


def test_forecasts_of_a_spec_are_the_same_through_a_worker(demo: pd.DataFrame, pool) -> None:
    spec = _spec(demo)
    here = execute_run(spec).result()
    final = pool.submit("run", {"spec": spec.to_dict()}).wait(300)
    there = final.result
    assert there.ranking() == here.ranking()
    for name in spec.model_names():
        np.testing.assert_array_equal(there.forecasts[name]["forecast"].to_numpy(),
                                      here.forecasts[name]["forecast"].to_numpy())
    assert there.signals is not None and "buy&hold" in there.signals.curves
