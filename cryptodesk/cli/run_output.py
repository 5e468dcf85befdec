"""What ``cryptodesk backtest`` and ``cryptodesk run`` print and write for a finished run.

Both commands end with a :class:`~cryptodesk.app.run.RunOutcome`; this module prints its
leaderboard, monitoring and trading tables and writes the files the flags ask for (JSON report,
forecasts CSV, metrics CSV, equity CSV, run spec), with the same writers the GUI's export uses.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``output`` option group shared by ``backtest`` and ``run``."""
    out = parser.add_argument_group("output")
    out.add_argument("--json", type=Path, metavar="OUT.json", help="write the full report")
    out.add_argument("--export", type=Path, metavar="FORECASTS.csv", help="write every forecast")
    out.add_argument("--metrics", type=Path, metavar="METRICS.csv",
                     help="write the leaderboard (one row per model) as CSV")
    out.add_argument("--equity", type=Path, metavar="EQUITY.csv",
                     help="with a strategy: write per-bar position, return, equity, drawdown "
                          "and regime per model")
    out.add_argument("--quiet", action="store_true", help="no progress bar")


def print_outcome(outcome: Any) -> None:
    """Leaderboard, monitoring and (with a strategy) the trading table."""
    from cryptodesk.evaluation.leaderboard import describe_run, format_leaderboard

    report = outcome.report
    print(describe_run(report))
    print(format_leaderboard(report))
    if report.target == "volatility":
        print("QLIKE and MSE on the realised variance of each bar; MZ R2: Mincer–Zarnowitz; "
              "DM p: Diebold–Mariano test on QLIKE vs naive volatility (HLN correction).")
    else:
        print("DM p: Diebold–Mariano test vs naive (squared error, HLN correction); "
              "TheilU < 1 beats the last close.")
    if outcome.monitoring:
        print(f"monitoring (last {outcome.spec.monitor_window} forecasts):")
    for name, status in outcome.monitoring.items():
        reasons = f" ({'; '.join(status.reasons)})" if status.reasons else ""
        print(f"  {name}: {status.status}{reasons}")
    if outcome.trading is not None:
        from cryptodesk.evaluation.trading_report import format_trading

        print(format_trading(outcome.trading))
    for note in outcome.notes:
        print(note)


def write_outputs(outcome: Any, args: argparse.Namespace) -> None:
    """Write the files named by ``--json``, ``--export``, ``--metrics`` and ``--equity``."""
    from cryptodesk.atomic import write_text_atomic
    from cryptodesk.io.exports import write_forecasts_csv, write_metrics_csv
    from cryptodesk.safejson import dumps

    if args.json:
        write_text_atomic(args.json, dumps(outcome.report_json()) + "\n")
        print(f"report: {args.json}")
    if args.export:
        write_forecasts_csv(outcome.report.forecasts_table(), args.export)
        print(f"forecasts: {args.export}")
    if args.metrics:
        write_metrics_csv(outcome.report.metrics, args.metrics, order=outcome.report.ranking())
        print(f"metrics: {args.metrics}")
    if args.equity:
        if outcome.trading is None:
            print("equity: no strategy in this run (add --strategy); nothing written")
        else:
            write_equity_csv(outcome.trading.equity_frame(), args.equity)
            print(f"equity: {args.equity}")


def write_equity_csv(equity: Any, path: Path) -> None:
    """Write the long equity frame atomically with ISO UTC timestamps."""
    import pandas as pd

    from cryptodesk.io.csv_export import write_frame_csv

    table = equity.copy()
    table["timestamp"] = pd.DatetimeIndex(table["timestamp"]).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_frame_csv(table, path)


def run_with_console(spec: Any, quiet: bool = False, candles: Any = None) -> Any:
    """Execute a run spec in this process with the console progress bar."""
    from cryptodesk.app.run import execute_run
    from cryptodesk.cli.progress import console_context

    ctx, drawer = console_context(quiet=quiet)
    try:
        return execute_run(spec, ctx, candles=candles)
    finally:
        if drawer is not None:
            drawer.close()
