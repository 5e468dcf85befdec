"""What the desk remembers: the state file and the last run, written atomically, read back
exactly, and refused in one warning line when the files are not what the desk wrote."""

from __future__ import annotations

import logging

import pytest

from cryptodesk.app.desk_state import (
    DeskState,
    load_last_run,
    read_state,
    save_last_run,
    write_state,
)
from cryptodesk.app.run import execute_run
from cryptodesk.app.runspec import build_run_spec
from cryptodesk.data.demo import ensure_demo
from cryptodesk.data.store import CandleStore
from cryptodesk.evaluation.walkforward import WalkForwardSpec


@pytest.fixture(scope="module")
def result():
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
                                  WalkForwardSpec(test_size=20, refit_every=10), seed=0)
            return execute_run(spec, candles=candles).result()
        finally:
            if old is None:
                os.environ.pop("CRYPTODESK_HOME", None)
            else:
                os.environ["CRYPTODESK_HOME"] = old


def test_state_round_trip(tmp_path) -> None:
    state = DeskState(series=("demo", "DEMO/USD", "1h"), checked=("naive", "lstm"),
                      forms={"lstm": {"max_epochs": 3}}, walk_forward={"test_size": 720},
                      strategy={"fee_bps": 20.0}, run_series=("demo", "DEMO/USD", "1d"))
    write_state(tmp_path, state)
    assert read_state(tmp_path) == state
    assert read_state(tmp_path / "nowhere") == DeskState()  # a first start: no warning


def test_last_run_round_trip(tmp_path, result) -> None:
    save_last_run(tmp_path, result)
    again = load_last_run(tmp_path)
    assert again.spec.to_dict() == result.spec.to_dict()
    assert again.report == result.report
    for name, frame in result.forecasts.items():
        assert again.forecasts[name].equals(frame)
    save_last_run(tmp_path, result)  # written again over the first: still one run folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last_run"]


@pytest.mark.parametrize("damage", ["forecasts.json", "report.json", "forecasts_1.parquet"])
def test_a_damaged_last_run_is_ignored_with_one_warning(tmp_path, result, caplog,
                                                        damage) -> None:
    save_last_run(tmp_path, result)
    target = tmp_path / "last_run" / damage
    target.write_bytes(b'{"../../etc/passwd": "x"}' if damage.endswith(".json") else b"PAR1junk")
    with caplog.at_level(logging.WARNING, logger="cryptodesk.app.desk_state"):
        assert load_last_run(tmp_path) is None
    assert len(caplog.records) == 1 and "\n" not in caplog.records[0].getMessage()
