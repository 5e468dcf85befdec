"""The library's retrain texts without Qt: the Health cell, the lineage lines of a manifest, a
decision line and the start-up offer."""

from __future__ import annotations

from cryptodesk.app.retrain_view import (
    DEGRADED_BADGE,
    headline_scores,
    health_text,
    lineage_lines,
    offer_text,
)

SCORES = {"current": {"rmse": 3.63}, "challenger": {"rmse": 3.646}, "naive": {"rmse": None}}


def test_health_text() -> None:
    assert health_text({}) == "" and health_text(None, 0) == ""
    assert health_text({"monitoring": {"degraded": True}}) == DEGRADED_BADGE
    assert health_text({"monitoring": {"degraded": False}}, 1) == "1 new bar"
    assert health_text({"monitoring": {"degraded": True}}, 1200) == \
        "degraded — retrain suggested · 1,200 new bars"


def test_a_retrained_bundle_shows_its_newest_scores() -> None:
    first = {"n": 365, "rmse": 3.2, "theils_u": 1.01, "mape": 2.0}
    assert headline_scores(first) == (first, "the walk-forward before it was saved")
    assert headline_scores(None) == ({}, "the walk-forward before it was saved")
    retrained = {**first, "retrain": {"n": 60, "mae": 2.9, "rmse": 3.646, "theils_u": 0.99}}
    scores, scored_by = headline_scores(retrained)
    assert scores == retrained["retrain"]  # not 3.2: that was the first version's
    assert scored_by == "the challenger's score on the bars new at its retrain (60 forecasts)"
    unscored = {**first, "retrain": {"n": 0, "rmse": None}}  # no new bar could be scored
    assert headline_scores(unscored)[0] is unscored


def test_lineage_lines() -> None:
    assert lineage_lines({}) == [] and lineage_lines({"lineage": {}}) == []
    manifest = {"lineage": {
        "versions": [{"id": "a-1", "training_window": {"start": "2019-01-01T00:00:00+00:00",
                                                       "end": "2020-05-14T00:00:00+00:00"},
                      "metrics": {"rmse": 3.2}}],
        "retrains": [{"at": "2026-11-29T23:44:00+00:00", "decision": "challenger",
                      "reason": "not significantly worse (DM p = 0.068)", "new_bars": 60,
                      "new_range": ["2020-05-15T00:00:00+00:00", "2020-07-13T00:00:00+00:00"],
                      "scores": SCORES},
                     {"at": "2026-12-01T00:00:00+00:00", "decision": "current",
                      "reason": "significantly worse", "new_bars": 5, "new_range": None,
                      "scores": {}}]}}
    lines = lineage_lines(manifest)
    assert lines[0] == "Lineage: 1 previous version (still loadable)"
    assert lines[1] == "  v1: a-1 trained on 2019-01-01 → 2020-05-14, RMSE 3.2"
    assert lines[2] == ("Retrain 2026-11-29: kept the challenger: not significantly worse "
                        "(DM p = 0.068) · scored on 60 new bars (2020-05-15 → 2020-07-13) · "
                        "RMSE current 3.63, challenger 3.646, naive n/a")
    assert lines[3].startswith("Retrain 2026-12-01: kept the current model: significantly worse")


def test_offer_text() -> None:
    assert offer_text([]) == ""
    rows = [{"id": f"m{i}", "label": f"model {i}", "reasons": ["degraded", "new_bars"],
             "new_bars": 10 * i} for i in range(1, 7)]
    rows[0] = {"id": "m1", "label": "", "reasons": ["degraded"], "new_bars": 0}
    text = offer_text(rows)
    assert text.startswith("6 saved models are worth retraining: m1 (degraded), "
                           "model 2 (degraded, 20 new bars)")
    assert text.endswith("model 4 (degraded, 40 new bars) and 2 more.")
