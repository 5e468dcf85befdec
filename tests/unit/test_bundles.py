"""Model bundles: round trips for every model, safety against crafted files, damage that stays
local, upgrades, zip export/import, and the forecasts CSV layout."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import zipfile
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cryptodesk.app.forecast import forecast_from_bundle
from cryptodesk.app.library import train_and_save
from cryptodesk.data.demo import generate_demo
from cryptodesk.io import bundles as bundles_module
from cryptodesk.io.bundles import BUNDLE_FORMAT, BundleError, ModelLibrary
from cryptodesk.io.exports import (
    FORECAST_COLUMNS,
    read_forecasts_csv,
    write_forecasts_csv,
)
from cryptodesk.models.registry import available_models, config_class, create

GOLDEN = Path(__file__).parent / "golden"
TINY = {"max_epochs": 2, "epochs": 2, "n_estimators": 10, "lookback": 16, "patience": 1}


def tiny_config(kind: str) -> dict[str, Any]:
    """Defaults, with the expensive knobs turned down where the model has them."""
    names = {f.name for f in fields(config_class(kind))} if is_dataclass(config_class(kind)) else set()
    return {k: v for k, v in TINY.items() if k in names}


@pytest.fixture(scope="module")
def candles() -> pd.DataFrame:
    return generate_demo("1d", bars=400)


@pytest.fixture()
def library(tmp_path: Path) -> ModelLibrary:
    return ModelLibrary(tmp_path / "models")


def _fit(kind: str, candles: pd.DataFrame) -> Any:
    model = create(kind, tiny_config(kind))
    model.fit(candles, None, 2)
    return model


def test_every_model_round_trips_in_a_fresh_process(
    library: ModelLibrary, candles: pd.DataFrame, tmp_path: Path
) -> None:
    expected = {}
    for kind in available_models():
        model = _fit(kind, candles)
        info = library.save(model, candles, label=f"rt {kind}")
        f = model.predict(candles, 2)
        expected[info.id] = [None if a is None else a.tolist() for a in (f.point, f.q10, f.q90, f.p_up)]
    data = tmp_path / "history.parquet"
    candles.to_parquet(data)
    code = (
        "import json, sys, pandas as pd\n"
        "from cryptodesk.io.bundles import ModelLibrary\n"
        "lib = ModelLibrary(sys.argv[1]); hist = pd.read_parquet(sys.argv[2])\n"
        "hist.attrs.update({'source': 'demo', 'symbol': 'DEMO/USD', 'timeframe': '1d'})\n"
        "out = {}\n"
        "for info in lib.list():\n"
        "    model, _ = lib.load(info.id); f = model.predict(hist, 2)\n"
        "    out[info.id] = [None if a is None else a.tolist() for a in (f.point, f.q10, f.q90, f.p_up)]\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(library.root), str(data)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert set(got) == set(expected)
    for bundle_id, arrays in expected.items():
        assert got[bundle_id] == arrays, bundle_id  # identical, not merely close


def test_manifest_records_provenance(library: ModelLibrary, candles: pd.DataFrame) -> None:
    result = train_and_save(candles, "drift", {}, horizon=3, label="drift demo", library=library)
    manifest = result.bundle.manifest
    assert manifest["bundle_format"] == BUNDLE_FORMAT
    assert manifest["model"]["kind"] == "drift" and manifest["target"]["horizon"] == 3
    data = manifest["data"]
    assert data["symbol"] == "DEMO/USD" and data["rows"] == len(candles) and len(data["sha256"]) == 64
    assert manifest["training_window"]["end"] == candles.index[-1].isoformat()
    assert {"numpy", "pandas", "python", "cryptodesk"} <= set(manifest["libraries"])
    assert result.metrics["rmse"] > 0 and "theils_u" in result.metrics
    assert result.metrics["monitoring"]["status"] in ("ok", "degraded — retrain suggested")
    assert manifest["evaluation"]["naive_metrics"]["theils_u"] == pytest.approx(1.0)
    assert all(len(h) == 64 for h in manifest["payload"]["files"].values())


def test_forecast_from_bundle_and_refusals(library: ModelLibrary, candles: pd.DataFrame) -> None:
    info = library.save(_fit("naive", candles), candles, label="n")
    table, _, notes = forecast_from_bundle(library, "n", candles, 2)
    assert list(table.horizon) == [1, 2] and notes == []
    assert table.timestamp.iloc[0] == candles.index[-1] + pd.Timedelta(days=1)
    assert (table.forecast == candles.close.iloc[-1]).all()
    hourly = generate_demo("1h", bars=100)
    with pytest.raises(BundleError, match="trained on 1d bars"):
        forecast_from_bundle(library, info.id, hourly, 1)


def test_crafted_pickle_in_a_payload_is_refused_and_never_runs(
    library: ModelLibrary, candles: pd.DataFrame, tmp_path: Path
) -> None:
    torch_kinds = [k for k in available_models() if k in ("lstm", "gru", "cnn", "cnn_gru", "transformer")]
    if not torch_kinds:
        pytest.skip("no torch models registered")
    kind = torch_kinds[0]
    info = library.save(_fit(kind, candles), candles, label="victim")
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> tuple:
            return (os.system, (f"touch {marker}",))

    payload = info.path / "model"
    weights = [p for p in payload.iterdir() if p.name != "model.json"]
    assert weights, "torch bundle has no weight file"
    for target in weights:  # replace every weight file, and fix the hashes as an attacker would
        target.write_bytes(pickle.dumps(Exploit()))
    manifest = json.loads((info.path / "manifest.json").read_text())
    manifest["payload"]["files"] = {
        name: bundles_module._sha256(payload / name) for name in manifest["payload"]["files"]
    }
    (info.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"cannot be loaded safely|weights|refus"):
        library.load(info.id)
    assert not marker.exists(), "the pickle payload executed"


@pytest.mark.parametrize("name", ["../../x", "/etc/passwd", "a/../../b", "C:\\x", ""])
def test_manifest_paths_outside_the_bundle_are_refused(
    library: ModelLibrary, candles: pd.DataFrame, name: str
) -> None:
    info = library.save(_fit("naive", candles), candles, label="p")
    manifest = json.loads((info.path / "manifest.json").read_text())
    manifest["payload"]["files"][name] = "0" * 64
    (info.path / "manifest.json").write_text(json.dumps(manifest))
    [listed] = library.list()
    assert listed.error and ("outside" in listed.error or "invalid" in listed.error)
    with pytest.raises(BundleError):
        library.load(info.id)


def test_zip_round_trip_and_unsafe_zips(library: ModelLibrary, candles: pd.DataFrame, tmp_path: Path) -> None:
    info = library.save(_fit("drift", candles), candles, label="z")
    archive = library.export_zip(info.id, tmp_path / "z.zip")
    other = ModelLibrary(tmp_path / "other")
    imported = other.import_zip(archive)
    # a fresh id on import (never a path taken from the zip), the original kept as its prefix
    assert imported.id.startswith(f"{info.id}-imp") and imported.label == "z"
    assert imported.path == other.root / imported.id
    a = library.load(info.id)[0].predict(candles, 1).point
    b = other.load(imported.id)[0].predict(candles, 1).point
    assert np.array_equal(a, b)
    again = other.import_zip(archive)  # importing twice gives a second, distinct entry
    assert again.id not in (info.id, imported.id) and len(other.list()) == 2

    for member in ("../evil.txt", "/abs/evil.txt", "bundle/../../evil.txt"):
        bad = tmp_path / "bad.zip"
        with zipfile.ZipFile(bad, "w") as zf:
            zf.writestr(member, "x")
        with pytest.raises(BundleError, match="outside"):
            other.import_zip(bad)
    assert not (tmp_path / "evil.txt").exists() and not Path("/abs/evil.txt").exists()
    (tmp_path / "not.zip").write_text("hello")
    with pytest.raises(BundleError, match="not a readable zip"):
        other.import_zip(tmp_path / "not.zip")
    assert not [p for p in other.root.iterdir() if p.name.startswith(".")]  # no leftovers


def test_damage_stays_local(library: ModelLibrary, candles: pd.DataFrame) -> None:
    good = library.save(_fit("naive", candles), candles, label="good")
    bad_json = library.save(_fit("drift", candles), candles, label="bad json")
    missing = library.save(_fit("drift", candles), candles, label="missing")
    truncated = library.save(_fit("lightgbm", candles), candles, label="truncated")
    (bad_json.path / "manifest.json").write_text("{ not json")
    (missing.path / "model" / "model.json").unlink()
    weight = next(p for p in (truncated.path / "model").iterdir() if p.suffix == ".txt")
    weight.write_bytes(weight.read_bytes()[:100])
    listed = {i.id: i for i in library.list()}
    assert len(listed) == 4 and listed[good.id].ok
    assert "not valid JSON" in (listed[bad_json.id].error or "")
    assert "missing" in (listed[missing.id].error or "")
    with pytest.raises(BundleError, match="checksum"):
        library.load(truncated.id)
    assert library.load("good")[0].predict(candles, 1).point.size == 1
    library.delete(bad_json.id)  # damaged bundles can still be deleted
    assert bad_json.id not in {i.id for i in library.list()}


def test_incomplete_bundle_is_never_listed(
    library: ModelLibrary, candles: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _fit("naive", candles)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(bundles_module, "write_text_atomic", crash)
    with pytest.raises(OSError, match="disk full"):
        library.save(model, candles, label="crash")
    monkeypatch.undo()
    assert library.list() == [] and not list(library.root.iterdir())


def test_newer_bundle_format_is_refused_and_migrations_run(
    library: ModelLibrary, candles: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = library.save(_fit("naive", candles), candles, label="v")
    manifest = json.loads((info.path / "manifest.json").read_text())
    (info.path / "manifest.json").write_text(json.dumps(dict(manifest, bundle_format=BUNDLE_FORMAT + 1)))
    with pytest.raises(BundleError, match=rf"bundle format {BUNDLE_FORMAT + 1}.*up to {BUNDLE_FORMAT}"):
        library.load(info.id)
    # an older format goes through its migration
    old = dict(manifest, bundle_format=BUNDLE_FORMAT)
    old["model_kind_v0"] = old["model"].pop("kind")

    def migrate(m: dict[str, Any]) -> dict[str, Any]:
        m["model"]["kind"] = m.pop("model_kind_v0")
        return dict(m, bundle_format=BUNDLE_FORMAT + 1)

    monkeypatch.setattr(bundles_module, "BUNDLE_FORMAT", BUNDLE_FORMAT + 1)
    monkeypatch.setitem(bundles_module.MIGRATIONS, BUNDLE_FORMAT, migrate)
    (info.path / "manifest.json").write_text(json.dumps(old))
    model, loaded = library.load(info.id)
    assert loaded["model"]["kind"] == "naive" and model.name == "naive"


def test_labels_rename_and_resolve(library: ModelLibrary, candles: pd.DataFrame) -> None:
    a = library.save(_fit("naive", candles), candles)
    b = library.save(_fit("naive", candles), candles)
    assert a.label != b.label  # default labels are numbered
    with pytest.raises(BundleError, match="already labelled"):
        library.save(_fit("naive", candles), candles, label=a.label)
    library.rename(b.id, "mine")
    assert library.resolve("MINE").id == b.id
    with pytest.raises(BundleError, match="no saved model"):
        library.resolve("nothing")


def test_forecast_csv_golden_layout_and_dtypes(tmp_path: Path) -> None:
    table = pd.DataFrame({
        "timestamp": pd.to_datetime(["2024-01-02", "2024-01-03"], utc=True),
        "symbol": ["BTC-USD", "BTC-USD"], "model": ["lightgbm", "lightgbm"], "horizon": [1, 2],
        "forecast": [42000.5, 42100.25], "lower": [41000.0, np.nan], "upper": [43000.0, np.nan],
        "p_up": [0.55, np.nan], "actual": [42050.0, np.nan],
    })
    out = write_forecasts_csv(table, tmp_path / "f.csv")
    assert out.read_text() == (GOLDEN / "forecasts.csv").read_text()
    back = read_forecasts_csv(out)
    assert tuple(back.columns) == FORECAST_COLUMNS
    assert str(back.timestamp.dtype).startswith("datetime64") and str(back.timestamp.dt.tz) == "UTC"
    assert back.horizon.dtype == np.int64 and back.forecast.dtype == np.float64
    assert back.symbol.iloc[0] == "BTC-USD" and np.isnan(back.lower.iloc[1])


def test_saved_model_with_sentiment_features_rebuilds_them_to_forecast(library: ModelLibrary) -> None:
    """A model trained on sentiment columns forecasts later from plain candles: the bundle
    records how the columns were made and they are rebuilt from the same dataset."""
    from cryptodesk.sentiment.aggregate import AggregationConfig, sentiment_features
    from cryptodesk.sentiment.datasets import TextDatasets, score_dataset
    from cryptodesk.sentiment.scorers import LexiconScorer

    candles = generate_demo("1h", bars=300)
    rng = np.random.default_rng(1)
    times = candles.index[0] + pd.to_timedelta(rng.integers(0, 300 * 3600, 800), unit="s")
    words = np.array(["to the moon", "rekt again", "hodl", "rug pull scam", "fine"], dtype=object)
    texts = TextDatasets()
    texts.merge("posts", pd.DataFrame({"time": times, "text": rng.choice(words, 800)}))
    score_dataset(texts, "posts", LexiconScorer())
    with_sent = sentiment_features(candles, "posts", config=AggregationConfig(divergence_window=10))
    columns = tuple(c for c in with_sent.columns if c.startswith("sent_posts"))
    spec = {"return_lags": 3, "volatility_windows": [], "rsi_window": None, "macd_fast": None,
            "bollinger_window": None, "atr_window": None, "volume_z_window": None,
            "calendar": False, "external": list(columns)}
    model = create("lightgbm", {"features": spec, "n_estimators": 10})
    model.fit(with_sent, None, 1)
    info = library.save(model, with_sent, label="sent")
    assert info.manifest["external_sources"]["sent_posts"]["dataset"] == "posts"
    expected = model.predict(with_sent, 1).point
    table, _, notes = forecast_from_bundle(library, "sent", candles, 1)  # plain candles
    assert any("rebuilt external columns" in n for n in notes)
    assert np.array_equal(table.forecast.to_numpy(), expected)
