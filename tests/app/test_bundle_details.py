"""The library's texts of one bundle without Qt: score cells, and the details of a bundle as
first saved, as retrained (its newest scores first, the first version's beside them) and as
damaged."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from cryptodesk.app.bundle_details import manifest_summary, metric_text

MANIFEST = {
    "model": {"kind": "lightgbm", "config": {"n_estimators": 100}},
    "data": {"symbol": "BTC-USD", "timeframe": "1d", "source": "csv", "synthetic": False},
    "training_window": {"rows": 2000, "start": "2019-01-01T00:00:00+00:00",
                        "end": "2024-06-22T00:00:00+00:00"},
    "target": {"horizon": 1, "kind": "price"},
    "seed": 0, "app_version": "0.9", "libraries": {"lightgbm": "4.6.0"},
    "metrics": {"n": 365, "rmse": 1234.5, "theils_u": 1.0258, "monitoring": {"degraded": True}},
}


def _info(manifest: dict, error: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(id="lightgbm-btc-1", label="btc daily", error=error,
                           path=Path("/lib/lightgbm-btc-1"), manifest=manifest,
                           created="2024-06-23T10:00:00+00:00")


def test_metric_text() -> None:
    assert metric_text({"theils_u": 1.02581}, "theils_u") == "1.0258"
    assert metric_text({"rmse": 1234.56}, "rmse") == "1,235"
    for bad in (None, "x", float("nan"), float("inf")):
        assert metric_text({"rmse": bad}, "rmse") == "—"
    assert metric_text({}, "rmse") == "—"


def test_details_of_a_bundle_as_saved() -> None:
    text = manifest_summary(_info(MANIFEST))
    lines = text.splitlines()
    assert lines[0] == "btc daily  (lightgbm-btc-1)"
    assert "Data: BTC-USD 1d (csv), 2,000 bars 2019-01-01 → 2024-06-22" in lines
    assert "Out-of-sample metrics: n 365, rmse 1234, theils_u 1.026" in lines  # no monitoring
    assert "first version" not in text and "Lineage" not in text


def test_details_of_a_retrained_bundle_lead_with_its_newest_scores() -> None:
    manifest = {**MANIFEST, "metrics": {**MANIFEST["metrics"], "retrain": {
        "n": 60, "mae": 900.0, "rmse": 1100.0, "theils_u": 0.998}}}
    lines = manifest_summary(_info(manifest)).splitlines()
    at = lines.index("Out-of-sample metrics at its retrain (the challenger, on the new bars): "
                     "n 60, mae 900, rmse 1100, theils_u 0.998")
    assert lines[at + 1] == "The first version's walk-forward: n 365, rmse 1234, theils_u 1.026"


def test_details_of_a_damaged_bundle() -> None:
    text = manifest_summary(_info({}, error="manifest.json is not valid JSON"))
    assert text.startswith("lightgbm-btc-1\n\nDAMAGED: manifest.json is not valid JSON")
    assert text.endswith("It can only be deleted.")
