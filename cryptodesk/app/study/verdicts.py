"""Verdicts on a study's comparisons: the numbers, and "supported", "not supported" or
"contradicted".

For each comparison (model A against each baseline B) on each series and metric (MAE, RMSE;
for volatility forecasts also QLIKE, Patton's ``a/f - log(a/f) - 1`` of the variances):

- the **% change** of A's error over B's (seed-averaged metric; negative: A is better), with a
  paired moving-block **bootstrap** confidence interval (:mod:`cryptodesk.evaluation.bootstrap`);
- the **Diebold–Mariano** p-value on the seed-averaged loss differential (absolute error for
  MAE, squared error for RMSE, the QLIKE loss itself; HLN correction), and its **Holm**-adjusted value across every
  test of the study (all comparisons × baselines × series × metrics form one family);
- the **mean ± std over seeds** of the per-seed % change (a deterministic model pairs with
  every seed of the other);
- pooled over series: the mean of the per-series % changes, with the CI of that mean.

Each test then *supports*, *contradicts* or leaves the claim open:

- ``expect = "better"`` with ``min_change = c`` (%): supports when the estimate is at least
  c % lower, the CI lies below 0 and the Holm-adjusted p < alpha; contradicts when (c = 0) the
  CI lies above 0 with Holm p < alpha (A significantly worse), or (c > 0) the CI lies above
  -c (an improvement of the claimed size is ruled out);
- ``expect = "not_worse"`` with ``margin = m`` (%): supports when the CI lies below +m;
  contradicts when it lies above +m with Holm p < alpha.

A pair is **supported** when every series × metric test supports, **contradicted** when any
test (or a pooled estimate) contradicts, **not supported** otherwise; a comparison with several
baselines is supported when every pair is, contradicted when any pair is. The rules are fixed
here, before any study runs, and are the same for every claim.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.app.study.results import StudyResults
from cryptodesk.app.study.spec import Comparison
from cryptodesk.evaluation.bootstrap import pct_change, percentile_ci, seed_metric
from cryptodesk.evaluation.significance import dm_test_differential, holm_adjust

SUPPORTED, NOT_SUPPORTED, CONTRADICTED = "supported", "not supported", "contradicted"
SUPPORTS, CONTRADICTS, OPEN = "supports", "contradicts", "open"
POOLED = "all series"


@dataclass
class _Test:
    """One comparison pair on one series and metric, before the Holm adjustment."""

    comparison: str
    model: str
    baseline: str
    series: str
    metric: str
    estimate: float
    low: float
    high: float
    seed_mean: float
    seed_std: float | None
    seeds: int
    n: int
    dm_p: float | None
    replicates: np.ndarray


class VerdictBook:
    """Computes tests as their cells finish (each once) and the verdicts over what is there."""

    def __init__(self, results: StudyResults) -> None:
        self.results = results
        self._tests: dict[tuple[str, str, str, str], _Test] = {}

    def update(self) -> dict[str, Any]:
        """Compute the tests whose cells have all finished; return the verdict document."""
        spec = self.results.spec
        series_labels = list(dict.fromkeys(c.series_label for c in self.results.cells))
        for comparison in spec.comparisons:
            for baseline in comparison.baselines:
                for i, series in enumerate(series_labels):
                    keys = [(comparison.name, baseline, series, m) for m in comparison.metrics]
                    if all(k in self._tests for k in keys):
                        continue
                    if not self._ready(comparison, baseline, series):
                        continue
                    for key in keys:
                        self._tests[key] = self._test(comparison, baseline, series, key[3],
                                                      seed=i)
        return self.document()

    def complete(self) -> bool:
        """True when every planned test has been computed."""
        spec = self.results.spec
        planned = sum(len(c.baselines) * len(c.metrics) for c in spec.comparisons)
        series = len({c.series_label for c in self.results.cells})
        return len(self._tests) == planned * series

    def _ready(self, comparison: Comparison, baseline: str, series: str) -> bool:
        needed = [*self.results.cells_of(series, comparison.model, comparison.target),
                  *self.results.cells_of(series, baseline, comparison.target)]
        return bool(needed) and self.results.done(needed)

    def _test(self, comparison: Comparison, baseline: str, series: str, metric: str,
              seed: int) -> _Test:
        target = comparison.target
        qlike = metric == "qlike"
        a = self.results.errors(series, comparison.model, target, qlike=qlike)
        b = self.results.errors(series, baseline, target, qlike=qlike)
        joined = a.add_prefix("a").join(b.add_prefix("b"), how="inner").dropna()
        ea = joined.iloc[:, : a.shape[1]].to_numpy().T
        eb = joined.iloc[:, a.shape[1]:].to_numpy().T
        kind = "loss" if qlike else metric  # QLIKE rows are already per-point losses
        change = pct_change(ea, eb, kind, replicates=self.results.spec.statistics.bootstrap,
                            level=self.results.spec.statistics.level, seed=seed)
        per_seed = _per_seed_change(a.columns, ea, b.columns, eb, kind)
        loss = {"mae": np.abs, "rmse": np.square}.get(metric, lambda x: x)
        diff = loss(ea).mean(axis=0) - loss(eb).mean(axis=0)
        origins = joined.index.get_level_values("origin")
        per_origin = pd.Series(diff).groupby(np.asarray(origins), sort=True).mean().to_numpy()
        horizon = int(joined.index.get_level_values("horizon").max())
        dm = dm_test_differential(per_origin, horizon)
        return _Test(
            comparison.name, comparison.model, baseline, series, metric, change.estimate,
            change.low, change.high, float(np.mean(per_seed)),
            float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else None, len(per_seed),
            int(ea.shape[1]), dm.p_value if math.isfinite(dm.p_value) else None,
            change.replicates,
        )

    # ---------------------------------------------------------------- decisions
    def document(self) -> dict[str, Any]:
        """Tests (with Holm p and decision), pooled estimates, pair and comparison verdicts."""
        spec = self.results.spec
        tests = self._planned_order()
        holm = holm_adjust([t.dm_p for t in tests])
        rows = []
        by_comparison = {c.name: c for c in spec.comparisons}
        for test, p_holm in zip(tests, holm, strict=True):
            c = by_comparison[test.comparison]
            rows.append({**_test_row(test), "dm_p_holm": p_holm,
                         "decision": decide(c, test.estimate, test.low, test.high, p_holm,
                                            spec.statistics.alpha)})
        pooled = self._pooled(spec)
        pairs, comparisons = [], []
        for c in spec.comparisons:
            verdicts = []
            for baseline in c.baselines:
                mine = [r for r in rows if r["comparison"] == c.name and r["baseline"] == baseline]
                pool = [r for r in pooled if r["comparison"] == c.name and r["baseline"] == baseline]
                planned = len(c.metrics) * len({x.series_label for x in self.results.cells})
                pair = pair_verdict(c, baseline, mine, pool, settled=len(mine) == planned)
                pairs.append(pair)
                verdicts.append(pair)
            comparisons.append(comparison_verdict(c, verdicts))
        return {"tests": rows, "pooled": pooled, "pairs": pairs, "comparisons": comparisons,
                "alpha": spec.statistics.alpha, "level": spec.statistics.level,
                "final": self.complete()}

    def _planned_order(self) -> list[_Test]:
        """The computed tests in the spec's order (comparison, baseline, series, metric), not
        in the order their cells happened to finish: the document, its Holm correction and
        the pooled means come out the same however many workers ran the cells."""
        series_labels = list(dict.fromkeys(c.series_label for c in self.results.cells))
        keys = [(c.name, baseline, series, metric)
                for c in self.results.spec.comparisons for baseline in c.baselines
                for series in series_labels for metric in c.metrics]
        return [self._tests[k] for k in keys if k in self._tests]

    def _pooled(self, spec: Any) -> list[dict[str, Any]]:
        series = len({c.series_label for c in self.results.cells})
        out = []
        for c in spec.comparisons:
            for baseline in c.baselines:
                for metric in c.metrics:
                    tests = [t for t in self._planned_order() if t.comparison == c.name
                             and t.baseline == baseline and t.metric == metric]
                    if len(tests) != series or series < 2:
                        continue
                    reps = np.mean([t.replicates for t in tests], axis=0)
                    low, high = percentile_ci(reps, spec.statistics.level)
                    estimate = float(np.mean([t.estimate for t in tests]))
                    out.append({"comparison": c.name, "model": c.model, "baseline": baseline,
                                "series": POOLED, "metric": metric, "estimate": estimate,
                                "low": low, "high": high,
                                "decision": decide(c, estimate, low, high, None,
                                                   spec.statistics.alpha, pooled=True)})
        return out


def decide(c: Comparison, estimate: float, low: float, high: float, p_holm: float | None,
           alpha: float, pooled: bool = False) -> str:
    """One test's decision (rules in the module docstring). A pooled estimate has no DM test
    and is decided on its confidence interval alone; a test whose DM p-value is undefined
    (identical losses) is never significant."""
    significant = pooled or (p_holm is not None and p_holm < alpha)
    if c.expect == "not_worse":
        if high < c.margin:
            return SUPPORTS
        if low > c.margin and significant:
            return CONTRADICTS
        return OPEN
    if estimate <= -c.min_change and high < 0 and significant:
        return SUPPORTS
    if (low > -c.min_change) if c.min_change > 0 else (low > 0 and significant):
        return CONTRADICTS
    return OPEN


def pair_verdict(c: Comparison, baseline: str, tests: list[dict[str, Any]],
                 pooled: list[dict[str, Any]], settled: bool) -> dict[str, Any]:
    """The verdict of model vs one baseline, with the numbers that decide it."""
    against = [r for r in tests + pooled if r["decision"] == CONTRADICTS]
    if against:
        verdict, deciding = CONTRADICTED, against
    elif settled and tests and all(r["decision"] == SUPPORTS for r in tests):
        verdict, deciding = SUPPORTED, tests
    else:
        verdict = NOT_SUPPORTED
        deciding = [r for r in tests if r["decision"] != SUPPORTS] or tests
    because = "; ".join(describe(r) for r in deciding[:4]) + (
        f"; and {len(deciding) - 4} more" if len(deciding) > 4 else "")
    if not settled:
        because = (because + "; " if because else "") + "not every cell it needs has finished"
    return {"comparison": c.name, "model": c.model, "baseline": baseline, "verdict": verdict,
            "settled": settled, "because": because}


def comparison_verdict(c: Comparison, pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """A comparison's verdict over its baselines."""
    verdicts = [p["verdict"] for p in pairs]
    if CONTRADICTED in verdicts:
        verdict = CONTRADICTED
    elif verdicts and all(v == SUPPORTED for v in verdicts):
        verdict = SUPPORTED
    else:
        verdict = NOT_SUPPORTED
    counts = ", ".join(f"{sum(v == k for v in verdicts)} {k}"
                       for k in (SUPPORTED, NOT_SUPPORTED, CONTRADICTED) if k in verdicts)
    return {"comparison": c.name, "model": c.model, "baselines": list(c.baselines),
            "expect": c.expect, "min_change": c.min_change, "margin": c.margin,
            "verdict": verdict, "settled": all(p["settled"] for p in pairs),
            "because": f"vs {len(pairs)} baseline(s): {counts}"}


def describe(row: dict[str, Any]) -> str:
    """``BTC-USD 1d MAE +1.2 % [+0.3, +2.0], Holm p 0.012``."""
    text = (f"{row['series']} {row['metric'].upper()} {row['estimate']:+.2f} % "
            f"[{row['low']:+.2f}, {row['high']:+.2f}]")
    if row.get("dm_p_holm") is not None:
        text += f", Holm p {row['dm_p_holm']:.3g}"
    return text


def _test_row(t: _Test) -> dict[str, Any]:
    return {"comparison": t.comparison, "model": t.model, "baseline": t.baseline,
            "series": t.series, "metric": t.metric, "estimate": t.estimate, "low": t.low,
            "high": t.high, "seed_mean": t.seed_mean, "seed_std": t.seed_std, "seeds": t.seeds,
            "n": t.n, "dm_p": t.dm_p}


def _per_seed_change(cols_a: Any, ea: np.ndarray, cols_b: Any, eb: np.ndarray,
                     metric: str) -> list[float]:
    """% change per seed: seeds paired by number; a deterministic model (one column) pairs
    with every seed of the other."""
    a = {_seed(c): ea[i] for i, c in enumerate(cols_a)}
    b = {_seed(c): eb[i] for i, c in enumerate(cols_b)}
    if len(a) == 1 and len(b) >= 1:
        a = {s: next(iter(a.values())) for s in b} if -1 in a else a
    if len(b) == 1 and -1 in b:
        b = {s: next(iter(b.values())) for s in a}
    seeds = sorted(set(a) & set(b))
    return [100.0 * (float(seed_metric(a[s][None, :], metric))
                     / float(seed_metric(b[s][None, :], metric)) - 1.0) for s in seeds]


def _seed(column: Any) -> int:
    return int(column)
