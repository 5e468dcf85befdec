"""Study specs: a documented TOML format, validated with one clear line per problem; the
built-in seed-claims study; expansion into cells and their keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from cryptodesk.app.study.spec import StudySpec, StudySpecError

BASE = """
name = "t"
seeds = [0, 1]
[protocol]
preset = "wf1"
[[series]]
symbol = "BTC-USD"
timeframe = "1d"
[[models]]
name = "arima"
[[models]]
name = "lstm"
config = { max_epochs = 3 }
[[comparisons]]
name = "c"
model = "lstm"
baseline = "arima"
"""


def test_a_spec_reads_and_round_trips_through_json() -> None:
    spec = StudySpec.from_toml(BASE)
    assert spec.seeds == (0, 1) and spec.targets == ("price",) and spec.threads == 1
    assert [m.label for m in spec.models] == ["arima", "lstm"]
    assert spec.comparisons[0].baselines == ("arima",)
    assert spec.comparisons[0].metrics == ("mae", "rmse")
    import json

    again = StudySpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec


def test_csv_paths_are_made_absolute_against_the_spec_folder(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(BASE.replace('symbol = "BTC-USD"', 'csv = "data/btc.csv"'))
    spec = StudySpec.read(path)
    assert spec.series[0].csv == str((tmp_path / "data" / "btc.csv").resolve())


@pytest.mark.parametrize("change, message", [
    (("seeds = [0, 1]", "seeds = [0, 0]"), "seeds: seeds must be different"),
    (("seeds = [0, 1]", "sedes = [0]"), "study: unknown key(s) sedes"),
    (('name = "arima"', 'name = "arimax"'), "unknown model 'arimax'"),
    (("max_epochs = 3", "max_epoch = 3"), "models[1] (lstm): LstmConfig: unknown setting(s) max_epoch"),
    (("max_epochs = 3", "max_epochs = -3"), "models[1] (lstm):"),
    (('baseline = "arima"', 'baseline = "cnn"'), "model 'cnn' is not in the study's models"),
    (('preset = "wf1"', 'preset = "wf9"'), "protocol.preset: unknown preset 'wf9'"),
    (('preset = "wf1"', "horizon = 0"), "protocol: "),
    (('timeframe = "1d"', 'timeframe = "1 day"'), "series[0].timeframe:"),
    (('symbol = "BTC-USD"', 'sym = "BTC-USD"'), "series[0]: unknown key(s) sym"),
    (("seeds = [0, 1]", 'targets = ["returns"]'),
     "targets[0]: target 'returns' is not available in this build (available: price, "
     "volatility)"),
    (('name = "arima"', 'name = "ensemble:arima+nosuch"'),
     "models[0] (ensemble:arima+nosuch): ensemble member: unknown model 'nosuch'"),
    (('name = "arima"', 'name = "ensemble:arima"'), "name at least two members"),
    (('name = "arima"', 'name = "arima"\ncombiner = "mean"'),
     "models[0] (arima): combiner applies to ensemble models only"),
    (('name = "arima"', 'name = "ensemble:arima+drift"\ncombiner = "median"'),
     "models[0] (ensemble:arima+drift): setting 'combiner' must be one of"),
    (('name = "arima"', 'name = "arima"\ntune = { trials = 0 }'), "tune.trials: expected a whole"),
])
def test_bad_specs_get_one_clear_line(change: tuple[str, str], message: str) -> None:
    old, new = change
    text = BASE.replace(old, new)
    assert text != BASE
    with pytest.raises(StudySpecError) as info:
        StudySpec.from_toml(text, where="s.toml")
    line = str(info.value)
    assert "\n" not in line and line.startswith("s.toml: ") and message in line, line


@pytest.mark.parametrize("text, message", [
    ("name = [", "not valid TOML"),
    ('name = "x"', "a study needs [[series]] and [[models]]"),
    (BASE.replace("[[comparisons]]", "[[models]]\nname = \"arima\"\n[[comparisons]]"),
     "model labels must be unique"),
    (BASE.replace('baseline = "arima"', 'baseline = "arima"\nexpect = "worse"'),
     "expect must be one of better, not_worse"),
    (BASE.replace('baseline = "arima"', 'baseline = "lstm"'), "cannot be its own baseline"),
])
def test_more_bad_specs(text: str, message: str) -> None:
    with pytest.raises(StudySpecError) as info:
        StudySpec.from_toml(text)
    assert message in str(info.value)


def test_a_missing_spec_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(StudySpecError, match="no study spec at"):
        StudySpec.read(tmp_path / "nope.toml")


def test_the_builtin_seed_claims_study_parses_and_falls_back_to_the_demo(tmp_path: Path) -> None:
    from cryptodesk.app.study.builtin import builtin_names, builtin_spec
    from cryptodesk.data.store import CandleStore

    assert "seed-claims" in builtin_names()
    spec, text, notes = builtin_spec("seed-claims", CandleStore(tmp_path))
    assert "seed-claims" in text and spec.seeds == (0, 1, 2, 3, 4)
    assert [s.symbol for s in spec.series] == ["DEMO/USD"]
    assert any("SYNTHETIC demo" in n for n in notes) and any("claim 2" in n for n in notes)
    assert {c.name.split(":")[0] for c in spec.comparisons} == {"claim 1", "claim 3a",
                                                                "claim 3b"}


def test_cells_cover_series_models_targets_and_seeds(tmp_path: Path) -> None:
    from cryptodesk.app.study.cells import expand, load_series
    from cryptodesk.data.demo import generate_demo
    from cryptodesk.data.store import CandleStore

    store = CandleStore(tmp_path)
    store.write(generate_demo("1d", bars=500, seed=3).pipe(_named, "BTC-USD"))
    spec = StudySpec.from_toml(BASE)
    cells = expand(spec, load_series(spec, store))
    assert [c.id for c in cells] == ["btc-usd-1d__arima__price__all-seeds",
                                     "btc-usd-1d__lstm__price__s0", "btc-usd-1d__lstm__price__s1"]
    lstm = cells[1].run["models"]
    assert [m["name"] for m in lstm] == ["naive", "lstm"]
    assert lstm[1]["config"]["seed"] == 0 and lstm[1]["config"]["num_threads"] == 1
    assert lstm[1]["config"]["max_epochs"] == 3
    assert cells[1].run["protocol"]["test_size"] == 365  # WF1 for daily bars
    assert len({c.key for c in cells}) == 3
    again = expand(spec, load_series(spec, store))
    assert [c.key for c in again] == [c.key for c in cells]  # keys are stable
    store.write(generate_demo("1d", bars=501, seed=3).pipe(_named, "BTC-USD"))
    grown = expand(spec, load_series(spec, store))
    assert all(a.key != b.key for a, b in zip(grown, cells, strict=True))  # other bars


def _named(frame, symbol: str):
    frame.attrs.update(symbol=symbol, source="test")
    return frame


def test_a_missing_series_names_the_entry(tmp_path: Path) -> None:
    from cryptodesk.app.study.cells import load_series
    from cryptodesk.data.store import CandleStore

    with pytest.raises(StudySpecError, match=r"series\[0\] \(BTC-USD 1d\): no stored series"):
        load_series(StudySpec.from_toml(BASE), CandleStore(tmp_path))


def test_models_run_only_on_the_targets_they_forecast(tmp_path: Path) -> None:
    from cryptodesk.app.study.cells import expand, load_series
    from cryptodesk.data.demo import generate_demo
    from cryptodesk.data.store import CandleStore

    store = CandleStore(tmp_path)
    store.write(_named(generate_demo("1d", bars=500, seed=3), "BTC-USD"))
    text = (BASE.replace("seeds = [0, 1]", 'seeds = [0]\ntargets = ["price", "volatility"]')
            .replace('name = "lstm"\nconfig = { max_epochs = 3 }', 'name = "garch"')
            .replace('model = "lstm"', 'model = "garch"\ntarget = "volatility"\n'
                                       'metrics = ["qlike"]')
            .replace('baseline = "arima"', 'baseline = "naive"'))
    spec = StudySpec.from_toml(text)
    cells = expand(spec, load_series(spec, store))
    assert [(c.model, c.target) for c in cells] == [("arima", "price"), ("garch", "volatility")]
    with pytest.raises(StudySpecError, match=r"models\[0\] \(arima\): forecasts price only"):
        StudySpec.from_toml(text.replace('"price", "volatility"', '"volatility"'))
    with pytest.raises(StudySpecError, match="model 'arima' does not forecast volatility"):
        StudySpec.from_toml(text.replace('baseline = "naive"', 'baseline = "arima"'))
    with pytest.raises(StudySpecError, match=r"metrics must be some of mae, rmse \(for price\)"):
        StudySpec.from_toml(text.replace('target = "volatility"\n', ""))


def test_ensembles_and_tuned_models_become_the_run_specs_the_cli_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ensemble:a+b`` with a combiner, and a ``tune`` budget, expand into the same run-spec
    models as ``backtest --models ensemble:...`` and ``tune``; the tuning sampler is seeded with
    the cell's seed; a cell of each runs in the study's cell job."""
    from cryptodesk.app.study.cell_job import run_cell
    from cryptodesk.models.threads import THREADS_ENV

    # a cell caps its process's cores, as in a worker; this process gets its setting back
    monkeypatch.setenv(THREADS_ENV, "")
    from cryptodesk.app.study.cells import expand, load_series
    from cryptodesk.data.demo import generate_demo
    from cryptodesk.data.store import CandleStore
    from cryptodesk.jobs import TaskContext

    store = CandleStore(tmp_path)
    store.write(_named(generate_demo("1d", bars=400, seed=3), "BTC-USD"))
    text = (BASE.replace('[protocol]\npreset = "wf1"',
                         "[protocol]\ntest_size = 12\nrefit_every = 0")
            .replace('name = "lstm"\nconfig = { max_epochs = 3 }',
                     'name = "ensemble:arima+drift"\ncombiner = "inverse_error"\n'
                     '[[models]]\nname = "lightgbm"\nlabel = "lgbm-tuned"\n'
                     'config = { n_estimators = 10 }\n'
                     'tune = { trials = 2, tune_every = 1 }')
            .replace('model = "lstm"', 'model = "lgbm-tuned"'))
    spec = StudySpec.from_toml(text)
    cells = expand(spec, load_series(spec, store))
    assert [c.id for c in cells] == [
        "btc-usd-1d__arima__price__all-seeds", "btc-usd-1d__ensemble-arima-drift__price__all-seeds",
        "btc-usd-1d__lgbm-tuned__price__s0", "btc-usd-1d__lgbm-tuned__price__s1"]
    ensemble = cells[1].run["models"][1]
    assert ensemble["name"] == "ensemble" and ensemble["label"] == "ensemble:arima+drift"
    assert ensemble["config"]["members"] == ["arima", "drift"]
    assert ensemble["config"]["combiner"] == "inverse_error"
    tuned = [c.run["models"][1] for c in cells[2:]]
    assert [t["label"] for t in tuned] == ["lgbm-tuned"] * 2
    assert [t["tuning"]["trials"] for t in tuned] == [2, 2]
    assert [t["tuning"]["seed"] for t in tuned] == [0, 1]  # the cell's seed
    series = load_series(spec, store)[0]
    for cell in (cells[1], cells[2]):
        result = run_cell(cell.payload(), TaskContext(), candles=series.candles)
        names = [m["model"] for m in result.report["models"]]
        assert names == ["naive", cell.run["models"][1]["label"]], names


@pytest.mark.parametrize("name", ["seed-claims", "classics", "combinations"])
def test_every_builtin_study_parses_and_expands(name: str, tmp_path: Path) -> None:
    """Each shipped spec validates (models, members, settings, comparisons) and expands into
    cells on the demo series; combinations holds claim 2's ensembles."""
    from cryptodesk.app.study.builtin import builtin_names, builtin_spec
    from cryptodesk.app.study.cells import expand, load_series
    from cryptodesk.data.store import CandleStore

    assert name in builtin_names()
    store = CandleStore(tmp_path)
    spec, _text, _notes = builtin_spec(name, store)
    cells = expand(spec, load_series(spec, store))
    assert cells and len({c.key for c in cells}) == len(cells)
    if name == "combinations":
        stacked = [c for c in cells if c.model == "stacked"]
        assert len(stacked) == 3  # one per seed: the LSTM and Transformer members are seeded
        model = stacked[0].run["models"][1]
        assert model["config"]["members"] == ["arima", "lstm", "transformer"]
        assert model["config"]["combiner"] == "stack"
        assert {c.min_change for c in spec.comparisons} == {15.0}
