"""The ETA is learned from the run so far, or left out while too little is seen."""

from __future__ import annotations

from cryptodesk.app.session import ETA_MIN_FRACTION, ETA_MIN_SECONDS, RunProgress


def test_eta_left_out_until_enough_is_seen_then_extrapolated() -> None:
    p = RunProgress(running=True, fraction=0.5, started=100.0)
    assert p.eta(now=100.0 + ETA_MIN_SECONDS / 2) is None  # too early to tell
    p.fraction = ETA_MIN_FRACTION / 2
    assert p.eta(now=200.0) is None  # too little of the run done
    p.fraction = 0.25
    assert p.eta(now=140.0) == 120.0  # 40 s for a quarter: 120 s for the rest
    p.running = False
    assert p.eta(now=140.0) is None
