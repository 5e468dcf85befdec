"""What a calibration display shows of one model of a finished run, without Qt.

The JSON report carries, for each model of a price run, a ``calibration`` section
(:mod:`cryptodesk.evaluation.calibration`, handed out by ``RunResult.calibration()``): coverage
of the 80 % interval per horizon step, a PIT histogram, the Brier score of P(up) and its
reliability rows. :func:`calibration_display` turns one section into arrays a chart draws and a
one-line verdict a user reads ("80 % band: covers 86.7 % at h = 1 (too wide) …"), so the GUI
only draws, and the rules (what counts as calibrated) are tested here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

NOMINAL = 80.0  # the band is the 10-90 % interval
# The acceptance range for an 80 % interval out of sample.
CALIBRATED = (75.0, 85.0)


@dataclass(frozen=True)
class CalibrationDisplay:
    """One model's calibration, ready to draw.

    ``steps``/``coverage``: horizon steps and the % of actuals inside the band at each;
    ``pit_edges``/``pit_counts``: the PIT histogram (flat = calibrated); ``brier`` and the
    reliability rows (``rel_mean_p`` forecast, ``rel_observed`` share of rises, ``rel_n``
    points per bin) for P(up)."""

    model: str
    steps: np.ndarray
    coverage: np.ndarray
    pit_edges: np.ndarray
    pit_counts: np.ndarray
    pit_n: int
    brier: float | None
    rel_mean_p: np.ndarray
    rel_observed: np.ndarray
    rel_n: np.ndarray

    @property
    def pit_flat(self) -> float | None:
        """The count per PIT bin a calibrated band gives (None without a histogram)."""
        bins = len(self.pit_counts)
        return self.pit_n / bins if bins else None

    def verdicts(self) -> list[str]:
        """Per step: "calibrated", "too wide" (covers more than 85 %) or "too narrow"."""
        return [coverage_verdict(c) for c in self.coverage]

    def summary(self) -> str:
        """One line: coverage per step with its verdict, the PIT count and the Brier score."""
        parts = []
        if self.steps.size:
            shown = [f"{c:.1f} % at h = {int(s)} ({v})"
                     for s, c, v in zip(self.steps, self.coverage, self.verdicts(), strict=True)]
            if len(shown) > 3:  # long horizons: the first, the middle and the last
                shown = [shown[0], "…", shown[len(shown) // 2], "…", shown[-1]]
            parts.append("80 % band covers " + ", ".join(shown))
        else:
            parts.append("no band")
        if self.pit_n:
            parts.append(f"PIT over {self.pit_n:,} forecasts")
        parts.append("Brier " + (f"{self.brier:.3f}" if self.brier is not None else "n/a")
                     + " (0.25 = a coin toss)")
        return f"{self.model}: " + " · ".join(parts)


def coverage_verdict(coverage: float) -> str:
    lo, hi = CALIBRATED
    if not np.isfinite(coverage):
        return "n/a"
    if coverage > hi:
        return "too wide"
    if coverage < lo:
        return "too narrow"
    return "calibrated"


def calibration_display(model: str, section: dict[str, Any] | None) -> CalibrationDisplay | None:
    """The display of one model's report ``calibration`` section (None when it has none:
    a volatility run, or a report older than the section)."""
    if not section:
        return None
    cov = section.get("coverage_by_horizon") or {}
    steps = sorted((int(k), _float(v)) for k, v in cov.items())
    pit = section.get("pit_histogram") or {}
    rel = section.get("reliability") or []
    brier = section.get("brier")
    return CalibrationDisplay(
        model=model,
        steps=np.array([s for s, _v in steps], dtype=np.int64),
        coverage=np.array([v for _s, v in steps], dtype=np.float64),
        pit_edges=np.asarray(pit.get("edges") or [], dtype=np.float64),
        pit_counts=np.asarray(pit.get("counts") or [], dtype=np.float64),
        pit_n=int(pit.get("n") or 0),
        brier=None if brier is None else float(brier),
        rel_mean_p=np.array([_float(r.get("mean_p")) for r in rel], dtype=np.float64),
        rel_observed=np.array([_float(r.get("observed")) for r in rel], dtype=np.float64),
        rel_n=np.array([int(r.get("n") or 0) for r in rel], dtype=np.int64),
    )


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)
