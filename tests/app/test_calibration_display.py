"""The Qt-free calibration display: a report's calibration section becomes arrays and a verdict
per horizon step (75-85 % calibrated, above too wide, below too narrow)."""

from __future__ import annotations

import numpy as np

from cryptodesk.app.calibration_display import calibration_display, coverage_verdict


def test_section_becomes_display_with_verdicts() -> None:
    section = {"coverage_by_horizon": {"2": 74.0, "1": 86.7, "10": 80.0},
               "pit_histogram": {"edges": [i / 10 for i in range(11)],
                                 "counts": [10] * 10, "n": 100},
               "brier": 0.2481,
               "reliability": [{"p_lo": 0.4, "p_hi": 0.5, "mean_p": 0.45, "observed": 0.5,
                                "n": 40},
                               {"p_lo": 0.5, "p_hi": 0.6, "mean_p": 0.55, "observed": None,
                                "n": 0}]}
    d = calibration_display("drift", section)
    assert d is not None
    assert d.steps.tolist() == [1, 2, 10]  # numeric order, not text order
    assert d.coverage.tolist() == [86.7, 74.0, 80.0]
    assert d.verdicts() == ["too wide", "too narrow", "calibrated"]
    assert d.pit_flat == 10.0 and d.pit_counts.sum() == 100
    assert np.isnan(d.rel_observed[1]) and d.rel_n.tolist() == [40, 0]
    text = d.summary()
    assert text.startswith("drift: 80 % band covers 86.7 % at h = 1 (too wide)")
    assert "74.0 % at h = 2 (too narrow)" in text and "Brier 0.248" in text
    assert "PIT over 100 forecasts" in text


def test_missing_section_and_edges() -> None:
    assert calibration_display("ewma", None) is None
    assert calibration_display("ewma", {}) is None
    assert coverage_verdict(75.0) == "calibrated" and coverage_verdict(85.0) == "calibrated"
    assert coverage_verdict(85.1) == "too wide" and coverage_verdict(74.9) == "too narrow"
    assert coverage_verdict(float("nan")) == "n/a"
    d = calibration_display("naive", {"coverage_by_horizon": {}, "brier": None})
    assert d is not None and "no band" in d.summary() and "Brier n/a" in d.summary()
    long = calibration_display("x", {"coverage_by_horizon": {str(h): 80.0 for h in range(1, 8)}})
    assert long.summary().count("at h =") == 3  # first, middle, last
