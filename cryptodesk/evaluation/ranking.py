"""The leaderboard's order: significance first, then the loss.

Why: a model whose Diebold–Mariano test against naive gives p = 0.90 is not better than naive,
whatever its RMSE says by the fourth digit; ranking it "#1" above naive invites trading on
noise. Models fall into three tiers, each sorted by the loss (RMSE for prices, QLIKE for
volatility):

1. ``better than naive``: DM p < :data:`SIGNIFICANCE` and a lower loss than naive;
2. ``no better than naive``: naive itself and every model the test cannot separate from it —
   one group sharing one rank, naive listed first;
3. ``worse than naive``: DM p < :data:`SIGNIFICANCE` and a higher loss.
"""

from __future__ import annotations

import math
from typing import Any

SIGNIFICANCE = 0.05
BETTER, TIED, WORSE = "better than naive", "no better than naive", "worse than naive"
TIERS = (BETTER, TIED, WORSE)


def loss_key(target: str) -> str:
    """The metric a target's leaderboard sorts by."""
    return "qlike" if target == "volatility" else "rmse"


def tier_of(name: str, metrics: dict[str, Any], baseline: str, naive_loss: float,
            key: str) -> str:
    """Which tier model ``name`` belongs to (naive: the middle one)."""
    p, loss = metrics.get("dm_p_value"), metrics.get(key)
    if name == baseline or p is None or loss is None or not math.isfinite(p) \
            or not math.isfinite(loss) or p >= SIGNIFICANCE:
        return TIED
    return BETTER if loss < naive_loss else WORSE


def ranked(metrics: dict[str, dict[str, Any]], baseline: str,
           target: str = "price") -> list[tuple[int, str, str]]:
    """``(rank, model, tier)`` in leaderboard order; the middle tier shares one rank."""
    key = loss_key(target)
    naive_loss = _finite(metrics.get(baseline, {}).get(key))
    tiers = {n: tier_of(n, m, baseline, naive_loss, key) for n, m in metrics.items()}

    def order(name: str) -> tuple[int, int, float, str]:
        return (TIERS.index(tiers[name]), 0 if name == baseline else 1,
                _finite(metrics[name].get(key)), name)

    out, rank, last_tier = [], 0, None
    for name in sorted(metrics, key=order):
        tier = tiers[name]
        if tier != TIED or last_tier != TIED:
            rank += 1
        out.append((rank, name, tier))
        last_tier = tier
    return out


def _finite(value: Any) -> float:
    return float(value) if value is not None and math.isfinite(value) else math.inf
