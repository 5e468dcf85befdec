"""The statistics behind study verdicts: Holm's adjustment, the paired block bootstrap of a
% change, the decision rules, and the Ray version check's comparison."""

from __future__ import annotations

import numpy as np
import pytest

from cryptodesk.app.study.spec import Comparison
from cryptodesk.app.study.verdicts import CONTRADICTS, OPEN, SUPPORTS, decide
from cryptodesk.evaluation.bootstrap import block_indices, pct_change
from cryptodesk.evaluation.significance import holm_adjust


def test_holm_matches_the_textbook_example() -> None:
    # m = 4: sorted p 0.01, 0.02, 0.03, 0.04 -> 0.04, 0.06, 0.06 (monotone), 0.06
    assert holm_adjust([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    assert holm_adjust([0.5, None, float("nan")]) == [0.5, None, None]
    assert holm_adjust([0.6, 0.7]) == [1.0, 1.0]


def test_block_indices_are_runs_of_consecutive_rows() -> None:
    idx = block_indices(100, 50, np.random.default_rng(0), block=5)
    assert idx.shape == (50, 100) and idx.min() >= 0 and idx.max() < 100
    assert (np.diff(idx[:, :5], axis=1) == 1).all()


def test_a_ten_percent_smaller_error_is_found_with_a_tight_interval() -> None:
    rng = np.random.default_rng(1)
    b = rng.standard_normal((3, 400))
    a = 0.9 * b
    change = pct_change(a, b, "mae", replicates=500)
    assert change.estimate == pytest.approx(-10.0)
    assert change.low == pytest.approx(-10.0) and change.high == pytest.approx(-10.0)
    same = pct_change(b, b, "rmse", replicates=200)
    assert same.estimate == 0 and same.low == 0 and same.high == 0


def test_noise_gives_an_interval_around_zero_and_a_deterministic_model_pairs_with_seeds() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((5, 365)), rng.standard_normal((1, 365))
    change = pct_change(a, b, "rmse", replicates=1000, seed=7)
    assert change.low < change.estimate < change.high
    again = pct_change(a, b, "rmse", replicates=1000, seed=7)
    assert (again.low, again.high) == (change.low, change.high)  # seeded: reproducible


BETTER = Comparison("c", "a", ("b",))
BY_15 = Comparison("c", "a", ("b",), min_change=15.0)
NOT_WORSE = Comparison("c", "a", ("b",), expect="not_worse", margin=2.0)


@pytest.mark.parametrize("comparison, numbers, expected", [
    (BETTER, (-3.0, -5.0, -1.0, 0.01), SUPPORTS),
    (BETTER, (-3.0, -5.0, -1.0, 0.2), OPEN),           # CI below 0 but not significant
    (BETTER, (-3.0, -5.0, -1.0, None), OPEN),          # no DM p (identical losses)
    (BETTER, (-1.0, -3.0, 1.0, 0.01), OPEN),           # CI includes 0
    (BETTER, (2.0, 1.0, 3.0, 0.01), CONTRADICTS),      # significantly worse
    (BETTER, (2.0, 1.0, 3.0, 0.3), OPEN),
    (BY_15, (-16.0, -20.0, -12.0, 0.001), SUPPORTS),
    (BY_15, (-3.0, -5.0, -1.0, 0.001), CONTRADICTS),   # better, but 15 % is ruled out
    (BY_15, (-14.0, -25.0, -5.0, 0.001), OPEN),
    (NOT_WORSE, (0.5, -1.0, 1.5, 0.9), SUPPORTS),
    (NOT_WORSE, (5.0, 3.0, 7.0, 0.01), CONTRADICTS),
    (NOT_WORSE, (1.5, 0.0, 3.0, 0.01), OPEN),
])
def test_decision_rules(comparison: Comparison, numbers: tuple, expected: str) -> None:
    estimate, low, high, p_holm = numbers
    assert decide(comparison, estimate, low, high, p_holm, 0.05) == expected


def test_a_pooled_estimate_is_decided_on_its_interval() -> None:
    assert decide(BETTER, -3.0, -5.0, -1.0, None, 0.05, pooled=True) == SUPPORTS
    assert decide(BETTER, 2.0, 1.0, 3.0, None, 0.05, pooled=True) == CONTRADICTS


def test_version_mismatches_name_the_node_and_the_versions() -> None:
    from cryptodesk.app.study.environment import mismatches

    local = {"python": "3.11.9", "torch": "2.13.0"}
    nodes = {"10.0.0.2:1": {"python": "3.11.9", "torch": "2.12.0"}, "10.0.0.3:1": dict(local)}
    assert mismatches(local, nodes) == ["node 10.0.0.2:1: torch 2.12.0 (here 2.13.0)"]
