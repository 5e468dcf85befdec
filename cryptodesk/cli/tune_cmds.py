"""``cryptodesk tune``: nested walk-forward tuning, scored beside the defaults and naive.

Examples::

    cryptodesk tune --symbol BTC-USD --model lightgbm --trials 30 --preset wf1
    cryptodesk tune --symbol XRP-USD --model lstm --trials 12 --tune-every 4 \\
        --storage sqlite:///lstm-xrp.db --json tuned.json --trials-csv trials.csv

At each outer refit (or every K-th one) Optuna searches the model's declared search space on
inner folds cut from that refit's training window only; the best settings are then fitted on
the whole window and forecast the outer test block. The leaderboard shows the tuned model
(``<model>+tuned``), the same model with default settings, and naive, on the same points with
Diebold–Mariano p-values; then each refit's choice and, with ``--trials-csv``, every trial.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

from cryptodesk.errors import ModelError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``tune`` command."""
    from cryptodesk.cli.backtest_cmds import add_cross_arguments, add_data_arguments
    from cryptodesk.cli.run_output import add_output_arguments

    p = sub.add_parser(
        "tune", help="tune a model inside each walk-forward training window (Optuna)",
        description="Nested walk-forward tuning: trials are scored on inner folds of each "
                    "outer training window only; the outer test block never reaches a trial.")
    add_data_arguments(p)
    g = p.add_argument_group("tuning")
    g.add_argument("--model", required=True,
                   help="model(s) to tune, comma-separated (e.g. lightgbm or lightgbm,lstm)")
    g.add_argument("--trials", type=int, required=True, help="trials per tuning")
    g.add_argument("--timeout", type=float, metavar="S",
                   help="time limit per tuning in seconds (the trial count then depends on "
                        "the machine)")
    g.add_argument("--tune-every", type=int, default=1, metavar="K",
                   help="tune at the first refit and every K-th one after (0 = once); "
                        "default 1")
    g.add_argument("--inner-folds", type=int, default=3, help="inner folds (default 3)")
    g.add_argument("--inner-fold-bars", type=int, default=30,
                   help="forecasts per inner fold (default 30)")
    g.add_argument("--no-pruning", action="store_true", help="never stop a trial early")
    g.add_argument("--only", help="tune only these settings (comma-separated dotted names)")
    g.add_argument("--storage", metavar="sqlite:///FILE.db",
                   help="keep every study in this sqlite file (a re-run resumes them)")
    g.add_argument("--set", action="append", default=[], metavar="MODEL.KEY=VALUE",
                   help="base setting of a tuned model (kept unless tuned); repeatable")
    pr = p.add_argument_group("protocol")
    pr.add_argument("--preset", default="wf1", help="named protocol (default wf1)")
    pr.add_argument("--test-size", type=int, help="test window: the last N bars")
    pr.add_argument("--refit-every", type=int, help="refit every K origins")
    pr.add_argument("--horizon", type=int, help="forecast steps ahead")
    pr.add_argument("--seed", type=int, help="seed of the models and the sampler")
    add_cross_arguments(pr)
    add_output_arguments(p)
    p.add_argument("--trials-csv", type=Path, metavar="TRIALS.csv",
                   help="write every trial (model, refit, trial, state, inner Theil's U, "
                        "settings)")
    p.add_argument("--save-spec", type=Path, metavar="RUN.json",
                   help="write the run spec (replay it with 'cryptodesk run RUN.json')")
    p.set_defaults(func=cmd_tune, test_start=None, stride=None, window=None, train_size=None,
                   equity=None, strategy=None, regimes="vol", monitor_window=50, monitor_k=20)


def cmd_tune(args: argparse.Namespace) -> int:
    """Build the run (naive, each model with defaults, each tuned), run it, print it."""
    from cryptodesk.app.tune import studies, with_tuning
    from cryptodesk.cli.backtest_cmds import _load_candles, spec_from_args
    from cryptodesk.cli.run_output import print_outcome, run_with_console, write_outputs
    from cryptodesk.evaluation.tuning_spec import TuningSpec

    names = [n.strip().lower() for n in args.model.split(",") if n.strip()]
    if not names:
        raise ModelError("--model is empty")
    seed = args.seed if args.seed is not None else _seed()
    tuning = TuningSpec(
        trials=args.trials, timeout_s=args.timeout, tune_every=args.tune_every,
        inner_folds=args.inner_folds, inner_fold_bars=args.inner_fold_bars,
        pruning=not args.no_pruning, seed=seed, storage=args.storage,
        only=tuple(s.strip() for s in (args.only or "").split(",") if s.strip()),
    )
    args.models, args.seed = ",".join(names), seed
    args.target, args.rv_measure = "price", "auto"  # tuning scores closes (Theil's U)
    candles = _load_candles(args)
    spec = with_tuning(spec_from_args(args, candles), names, tuning)
    if args.save_spec:
        spec.write(args.save_spec)
        print(f"run spec: {args.save_spec} (replay: cryptodesk run {args.save_spec})")
    outcome = run_with_console(spec, quiet=args.quiet, candles=candles)
    print_outcome(outcome)
    found = studies(outcome.report_json())
    for label, rows in found.items():
        print_studies(label, rows)
    if args.trials_csv:
        write_trials_csv(found, args.trials_csv)
        print(f"trials: {args.trials_csv}")
    write_outputs(outcome, args)
    return 0


def _seed() -> int:
    from cryptodesk.app.defaults import default_seed

    return default_seed()


def print_studies(label: str, rows: list[dict[str, Any]]) -> None:
    """One line per outer refit: when it tuned, trials, inner U default -> best, settings."""
    print(f"\n{label}: settings chosen at each refit (inner Theil's U: defaults -> best)")
    for row in rows:
        counts = row.get("trials") or {}
        trials = (f"{counts.get('complete', 0)} done, {counts.get('pruned', 0)} pruned, "
                  f"{counts.get('failed', 0)} failed" if row.get("tuned") else
                  f"reused refit {row.get('tuned_at_refit')}")
        inner = f"{_u(row.get('default_inner_theils_u'))} -> {_u(row.get('inner_theils_u'))}"
        params = ", ".join(f"{k}={_short(v)}" for k, v in (row.get("best_params") or {}).items())
        print(f"  refit {row['refit']:>2} {str(row.get('origin'))[:10]}  {trials:<32} "
              f"{inner:<17} {params}")


def write_trials_csv(found: dict[str, list[dict[str, Any]]], path: Path) -> None:
    """Every trial of every tuning, one row each."""
    from cryptodesk.atomic import atomic_path

    with atomic_path(Path(path)) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["model", "refit", "origin", "trial", "state", "inner_theils_u", "params"])
        for label, rows in found.items():
            for row in rows:
                for trial in row.get("history") or []:
                    value = trial.get("value")
                    out.writerow([label, row["refit"], row.get("origin"), trial["trial"],
                                  trial["state"], "" if value is None else repr(value),
                                  json.dumps(trial.get("params"), sort_keys=True)])


def _u(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return json.dumps(value) if isinstance(value, list) else str(value)
