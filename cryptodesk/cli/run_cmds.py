"""``cryptodesk run SPEC.json``: replay a run spec headless.

A spec written by the GUI (beside each export, or "Copy as command") or by ``cryptodesk
backtest --save-spec`` names the data (with its fingerprint), every model's full config and
seed, the protocol and the strategy. Replaying it runs the same code the GUI's worker ran and
gives bit-identical forecasts on the CPU; data whose bars changed since are refused.

Examples::

    cryptodesk run run.json
    cryptodesk run run.json --json report.json --export forecasts.csv --metrics metrics.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cryptodesk.cli.run_output import (
    add_output_arguments,
    print_outcome,
    run_with_console,
    write_outputs,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``run`` command."""
    p = sub.add_parser("run", help="replay a run spec (JSON) headless",
                       description="Run the walk-forward a run spec describes, exactly as the "
                                   "app did.")
    p.add_argument("spec", type=Path, help="run spec JSON (from the app or backtest --save-spec)")
    add_output_arguments(p)
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    """Read, validate and execute the spec; print and write like ``backtest``."""
    from cryptodesk.app.runspec import RunSpec

    spec = RunSpec.read(args.spec)
    outcome = run_with_console(spec, quiet=args.quiet)
    print_outcome(outcome)
    write_outputs(outcome, args)
    return 0
