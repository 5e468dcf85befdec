"""Issue 17's table: tuned models, ensembles and a pre-trained LSTM on BTC/ETH/XRP daily WF1.

For each asset, one run (the same code path as ``cryptodesk backtest`` / ``tune``) of:

- naive; LightGBM with default settings and tuned (nested walk-forward, budget below);
- the LSTM with default settings (= trained from scratch), tuned, and pre-trained on the two
  other assets then fine-tuned;
- ``ensemble:arima+lightgbm+lstm`` with each combiner (mean, inverse_error, stack).

Every row is scored against naive on the same 365 points (Theil's U, Diebold–Mariano p), and
the pairs that answer a question are also tested against each other (tuned vs default,
pre-trained vs from scratch). The tuning budget and search spaces are fixed here and in the
models' configs *before* any outer result is seen, and are printed with the results; the run is
made once and reported as it comes out.

The three daily CSVs are imported into a temporary store (the other assets' bars for
pre-training come from there, joined causally by the app layer).

    .venv/bin/python bench/wf1_tuning.py [--data ../shared/data/daily] [--assets BTC-USD,...]
        [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ASSETS = ("BTC-USD", "ETH-USD", "XRP-USD")
# Fixed before any outer result was looked at (see README "Tuning, ensembles, pre-training").
LGBM_TUNING = {"trials": 30, "tune_every": 1, "inner_folds": 3, "inner_fold_bars": 30,
               "startup_trials": 8, "pruning": True, "seed": 0}
LSTM_TUNING = {"trials": 12, "tune_every": 4, "inner_folds": 3, "inner_fold_bars": 30,
               "startup_trials": 4, "pruning": True, "seed": 0}
COMBINERS = ("mean", "inverse_error", "stack")
PAIRS = (("lightgbm+tuned", "lightgbm"), ("lstm+tuned", "lstm"), ("lstm+pretrain", "lstm"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "daily")
    parser.add_argument("--assets", default=",".join(ASSETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write every figure as JSON")
    args = parser.parse_args(argv)
    os.environ.setdefault("CRYPTODESK_HOME", tempfile.mkdtemp(prefix="cryptodesk-bench-"))
    from cryptodesk.data.csv_import import read_candles_csv
    from cryptodesk.data.store import CandleStore
    from cryptodesk.models.registry import model_class

    for name in ("lightgbm", "lstm", "arima"):
        model_class(name)
    import optuna  # noqa: F401  (imports paid before timing)

    store = CandleStore()
    frames = {}
    for asset in ASSETS:
        candles, _ = read_candles_csv(args.data / f"{asset}.csv", symbol=asset, source="yahoo",
                                      timeframe="1d")
        store.write(candles)
        frames[asset] = candles
    print(describe_budget())
    figures = {}
    started = time.perf_counter()
    for asset in [a.strip() for a in args.assets.split(",") if a.strip()]:
        load = os.getloadavg()
        figures[asset] = run_asset(frames[asset], [a for a in ASSETS if a != asset],
                                   args.seed, store)
        figures[asset]["load_before"] = load
        figures[asset]["load_after"] = os.getloadavg()
        print(format_asset(asset, figures[asset]), flush=True)
    print(f"\ntotal wall-clock: {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"protocol": "wf1", "seed": args.seed,
                                         "budget": budget(), "figures": figures}, indent=1))
    return 0


def budget() -> dict:
    """The fixed tuning budgets and the declared search spaces."""
    from cryptodesk.app.tune import search_space_of

    return {"lightgbm": {"tuning": LGBM_TUNING, "space": search_space_of("lightgbm")},
            "lstm": {"tuning": LSTM_TUNING, "space": search_space_of("lstm")}}


def describe_budget() -> str:
    lines = ["Tuning budget and search spaces (fixed before the run):"]
    for name, item in budget().items():
        lines.append(f"  {name}: {item['tuning']}")
        for setting, space in item["space"].items():
            lines.append(f"    {setting}: {space}")
    return "\n".join(lines)


def run_asset(candles, others: list[str], seed: int, store) -> dict:
    """One run of every row on one asset; metrics, pairwise DM p-values and timings."""
    from cryptodesk.app.cross_asset import cross_inputs
    from cryptodesk.app.ensemble import ensemble_spec
    from cryptodesk.app.run import execute_run
    from cryptodesk.app.runspec import ModelSpec, build_run_spec
    from cryptodesk.evaluation.presets import preset_spec
    from cryptodesk.evaluation.tuning_spec import TuningSpec

    models = [
        ModelSpec("lightgbm"),
        ModelSpec("lightgbm", {}, "lightgbm+tuned", TuningSpec.from_dict(LGBM_TUNING)),
        ModelSpec("lstm"),
        ModelSpec("lstm", {}, "lstm+tuned", TuningSpec.from_dict(LSTM_TUNING)),
        ModelSpec("lstm", {"pretrain": others}, "lstm+pretrain"),
        *[ensemble_spec(["arima", "lightgbm", "lstm"], c) for c in COMBINERS],
    ]
    cross = cross_inputs(candles, (), others, store=store)
    spec = build_run_spec(candles, models, preset_spec("wf1", "1d"), seed=seed, preset="wf1",
                          cross=cross)
    outcome = execute_run(spec, store=store, candles=candles)
    report = outcome.report
    out: dict = {"models": {}, "pairs": {}}
    for name in report.ranking():
        m, res = report.metrics[name], report.results[name]
        out["models"][name] = {
            "theils_u": _clean(m["theils_u"]), "dm_p": _clean(m["dm_p_value"]),
            "rmse": _clean(m["rmse"]), "mae": _clean(m["mae"]),
            "seconds": res.total_seconds, "cpu_seconds": res.cpu_seconds,
            "fits": res.fits,
        }
    for a, b in PAIRS:
        out["pairs"][f"{a} vs {b}"] = pair_dm(report.results[a].forecasts,
                                              report.results[b].forecasts)
    return out


def pair_dm(first, second) -> float | None:
    """Two-sided DM p-value of two models' squared errors on the same points."""
    from cryptodesk.evaluation.significance import dm_test

    joined = first.merge(second, on=["origin", "horizon"], suffixes=("_a", "_b"))
    e1 = joined["forecast_a"] - joined["actual_a"]
    e2 = joined["forecast_b"] - joined["actual_b"]
    return _clean(dm_test(e1.to_numpy(), e2.to_numpy()).p_value)


def format_asset(asset: str, fig: dict) -> str:
    lines = [f"\n{asset} (load average before {fig['load_before'][0]:.1f}, after "
             f"{fig['load_after'][0]:.1f})",
             f"  {'model':<36}{'TheilU':>9}{'DM p':>8}{'seconds':>10}{'CPU s':>9}"]
    for name, m in fig["models"].items():
        lines.append(f"  {name:<36}{_f(m['theils_u'], 4):>9}{_f(m['dm_p'], 3):>8}"
                     f"{m['seconds']:>10.1f}{m['cpu_seconds']:>9.1f}")
    for pair, p in fig["pairs"].items():
        lines.append(f"  DM p {pair}: {_f(p, 3)}")
    return "\n".join(lines)


def _f(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _clean(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


if __name__ == "__main__":
    raise SystemExit(main())
