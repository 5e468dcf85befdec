"""``cryptodesk study``: run a study (every core, or a Ray cluster), show its results.

Examples::

    cryptodesk study run my-study.toml                       # every core of this machine
    cryptodesk study run my-study.toml --workers 1 --out runs/one
    cryptodesk study run my-study.toml --ray 10.0.0.5:6379   # an existing Ray cluster
    cryptodesk study run --builtin seed-claims               # the seed studies' three claims
    cryptodesk study run my-study.toml --dry-run             # list the cells, run nothing
    cryptodesk study show runs/one                           # summary and verdicts
    cryptodesk study builtin seed-claims --out my-study.toml # a spec to copy and edit

Running a study again into the same folder skips the cells it already holds with the same cell
spec; Ctrl+C keeps every finished cell (exit code 130). The spec format and the verdict rules:
docs/studies.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``study`` command group."""
    p = sub.add_parser("study", help="studies: many walk-forwards, seeds and verdicts",
                       description="Run a study (series x models x targets x seeds) on every "
                                   "core or a Ray cluster, and test its comparisons.")
    group = p.add_subparsers(dest="study_command", metavar="SUBCOMMAND")
    group.required = True
    run = group.add_parser("run", help="run a study spec (TOML) or a built-in study")
    run.add_argument("spec", nargs="?", type=Path, help="study spec (TOML)")
    run.add_argument("--builtin", metavar="NAME", help="a built-in study, e.g. seed-claims")
    run.add_argument("--workers", type=int, metavar="N",
                     help="cells at once on this machine (default: every core)")
    run.add_argument("--ray", metavar="ADDRESS",
                     help="run the cells on the Ray cluster at ADDRESS (host:port)")
    run.add_argument("--out", type=Path, metavar="DIR",
                     help="output folder (default: <data folder>/studies/<name>)")
    run.add_argument("--dry-run", action="store_true", help="list the cells and exit")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)
    show = group.add_parser("show", help="print a study's summary and verdicts")
    show.add_argument("folder", help="the study's output folder (or its name)")
    show.add_argument("--tests", action="store_true", help="also print every test")
    show.add_argument("--markdown", action="store_true",
                      help="print the verdicts as a Markdown table instead")
    show.set_defaults(func=cmd_show)
    builtin = group.add_parser("builtin", help="list the built-in studies or print one's spec")
    builtin.add_argument("name", nargs="?", help="print this built-in study's TOML")
    builtin.add_argument("--out", type=Path, metavar="FILE.toml",
                         help="write the spec to this file instead (to edit and run it)")
    builtin.set_defaults(func=cmd_builtin)


def cmd_run(args: argparse.Namespace) -> int:
    """Validate, plan and run the study; print the summary and the verdicts."""
    from cryptodesk.app.study.api import default_out, make_runner, open_spec
    from cryptodesk.app.study.engine import plan_study, run_study
    from cryptodesk.cli.study_output import StudyConsole, print_cells, print_outcome
    from cryptodesk.errors import ConfigError

    if (args.spec is None) == (args.builtin is None):
        raise ConfigError("give a study spec (TOML) or --builtin NAME")
    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    if args.ray and args.workers:
        raise ConfigError("--workers is for this machine; with --ray the cluster's CPUs decide")
    spec, text, notes = open_spec(args.spec, args.builtin)
    out = args.out or default_out(spec.name)
    for note in notes:
        print(f"note: {note}")
    if args.dry_run:
        plan = plan_study(spec, out)
        print_cells(plan)
        return 0
    runner = make_runner(args.workers, args.ray, spec.threads)
    console = StudyConsole(quiet=args.quiet)
    try:
        outcome = run_study(spec, out, runner, console.ctx, spec_text=text, notes=notes)
    finally:
        console.close()
    print_outcome(outcome)
    return 1 if outcome.failed else 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print a finished (or stopped) study's summary and verdicts."""
    from cryptodesk.app.study.api import find_study, load_study
    from cryptodesk.cli.study_output import print_summary, print_verdicts

    study = load_study(find_study(args.folder))
    if args.markdown:
        from cryptodesk.cli.study_output import print_markdown

        print_markdown(study.verdicts)
        return 0
    print(f"study {study.name} in {study.out}: {study.done} of {study.cells} cells done"
          + (f", {study.failed} failed" if study.failed else ""))
    for note in study.notes:
        print(f"note: {note}")
    print_summary(study.leaderboard)
    print_verdicts(study.verdicts, tests=args.tests)
    print(f"report: {study.out / 'report.html'}")
    return 0


def cmd_builtin(args: argparse.Namespace) -> int:
    """List the built-in studies, or print one's TOML."""
    from cryptodesk.app.study.builtin import builtin_names, builtin_text

    if args.name is None:
        for name in builtin_names():
            print(name)
        return 0
    text = builtin_text(args.name)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    from cryptodesk.atomic import write_text_atomic

    write_text_atomic(args.out, text)
    print(f"study spec: {args.out} (run it: cryptodesk study run {args.out})")
    return 0
