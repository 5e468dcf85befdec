"""The ``cryptodesk`` command line: headless access to everything the GUI does.

Each command group lives in its own module with a ``register(subparsers)`` function, so the
groups stay small and independent: :mod:`.data_cmds` (store, import, demo),
:mod:`.exchange_cmds` (``data fetch|exchanges|markets``), :mod:`.backtest_cmds`,
:mod:`.run_cmds` (``run SPEC.json``), :mod:`.study_cmds` (``study run|show|builtin``),
:mod:`.tune_cmds` (``tune``), :mod:`.explain_cmds` (``explain``),
:mod:`.models_cmds` (``train``, ``forecast``, ``models ...``), :mod:`.sentiment_cmds`
(``sentiment ...``, ``series ...``), :mod:`.doctor_cmds`.

Exit codes: 0 success, 1 a data/model/exchange error (one line on stderr, traceback only with
``--debug``), 2 a usage error, 130 cancelled with Ctrl+C.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from cryptodesk import __version__
from cryptodesk.errors import CryptoDeskError
from cryptodesk.jobs import Cancelled

log = logging.getLogger("cryptodesk.cli")
WORKER_FLAG = "--cryptodesk-worker"  # see cryptodesk.app.jobs.pool.worker_command


class _Parser(argparse.ArgumentParser):
    """argparse with the one-line ``cryptodesk: error: ...`` kept, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used by tests and the docs)."""
    from cryptodesk.cli import (
        backtest_cmds,
        data_cmds,
        doctor_cmds,
        explain_cmds,
        models_cmds,
        run_cmds,
        sentiment_cmds,
        study_cmds,
        tune_cmds,
    )

    parser = _Parser(
        prog="cryptodesk",
        description="Forecast cryptocurrency prices honestly. With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"cryptodesk {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="verbose log on the console, tracebacks on errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    data_cmds.register(sub)
    backtest_cmds.register(sub)
    tune_cmds.register(sub)
    run_cmds.register(sub)
    models_cmds.register(sub)
    doctor_cmds.register(sub)
    sentiment_cmds.register(sub)
    study_cmds.register(sub)
    explain_cmds.register(sub)
    gui = sub.add_parser("gui", help="open the desktop app")
    gui.set_defaults(func=_run_gui)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cryptodesk`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == [WORKER_FLAG]:  # a frozen bundle starting one of its worker processes
        from cryptodesk.app.jobs.worker import main as worker_main

        return worker_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    from cryptodesk.logs import setup_logging
    from cryptodesk.paths import app_paths

    setup_logging(app_paths().log_file, debug=args.debug)
    func = getattr(args, "func", None)
    if func is None:
        func = _run_gui
    try:
        return int(func(args) or 0)
    except Cancelled:
        print("cryptodesk: cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("\ncryptodesk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `cryptodesk data exchanges | head`: the reader went away
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except CryptoDeskError as exc:
        log.error("%s", exc, exc_info=args.debug)
        if args.debug:
            import traceback

            traceback.print_exc()
        print(f"cryptodesk: error: {exc}", file=sys.stderr)
        return 1


def _run_gui(args: argparse.Namespace) -> int:
    """Open the desktop app; until it is installed/available, explain what works headless."""
    import importlib

    from cryptodesk import platform_check

    platform_check.start()  # ldd on Qt's X11 plugin runs while Qt is imported
    try:
        app = importlib.import_module("cryptodesk.gui.app")
    except ImportError:
        return _headless_welcome()
    return int(app.run(debug=getattr(args, "debug", False)))


def _headless_welcome() -> int:
    """What ``cryptodesk`` does before the desktop app exists: make sure the demo is there."""
    from cryptodesk.data.demo import ensure_demo
    from cryptodesk.data.store import CandleStore
    from cryptodesk.paths import app_paths

    store = CandleStore()
    written = ensure_demo(store)
    print(f"CryptoDesk {__version__}")
    print(f"Data folder: {app_paths().data}")
    if written:
        print("Wrote the synthetic demo series into the local store.")
    for info in store.list():
        tag = " (SYNTHETIC)" if info.meta.synthetic else ""
        print(f"  {info.meta.symbol:<14} {info.meta.timeframe:>4} {info.meta.source:<10} "
              f"{info.rows:>9,} bars{tag}")
    print("The desktop window is not part of this build yet; try:")
    print("  cryptodesk data show DEMO/USD --timeframe 1d --tail 5")
    print("  cryptodesk data import FILE.csv --symbol BTC-USD")
    print("  cryptodesk --help")
    return 0
