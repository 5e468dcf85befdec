"""``cryptodesk backtest``: walk-forward evaluation from the command line.

Examples::

    cryptodesk backtest --symbol BTC-USD --preset wf1 --models drift,arima,lightgbm
    cryptodesk backtest --symbol BTC/USDT --timeframe 1h --models lightgbm --test-size 720 \\
        --refit-every 168 --horizon 3 --json run.json --export forecasts.csv
    cryptodesk backtest --csv ../shared/data/daily/ETH-USD.csv --symbol ETH-USD --preset wf1
    cryptodesk backtest --list-models

Prints a leaderboard (naive always included, sorted by RMSE, with Diebold–Mariano p-values
against naive); ``--json`` writes the full report (schema in docs/evaluation.md), ``--export``
every forecast as CSV.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cryptodesk.cli.trading_cli import (
    add_trading_arguments,
    monitoring_section,
    trading_section,
    write_equity_csv,
)
from cryptodesk.errors import DataError, ModelError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``backtest`` command."""
    p = sub.add_parser(
        "backtest",
        help="walk-forward backtest of models against the naive forecast",
        description="Walk-forward backtest: every model is refitted on data up to each origin "
                    "only and scored next to the naive forecast (last close).",
    )
    src = p.add_argument_group("data")
    src.add_argument("--symbol", help="stored symbol (e.g. BTC-USD); with --csv, its label")
    src.add_argument("--timeframe", help="pick the timeframe when several are stored")
    src.add_argument("--source", help="pick the source when several are stored")
    src.add_argument("--csv", type=Path, help="read candles from this CSV instead of the store")
    run = p.add_argument_group("protocol")
    run.add_argument("--models", default="naive,drift,arima,lightgbm",
                     help="comma-separated model names (default: naive,drift,arima,lightgbm)")
    run.add_argument("--preset", help="named protocol, e.g. wf1 (flags below override it)")
    run.add_argument("--test-size", type=int, help="test window: the last N bars")
    run.add_argument("--test-start", help="test window: bars from this date on (instead of a size)")
    run.add_argument("--horizon", type=int, help="forecast steps ahead (default 1)")
    run.add_argument("--stride", type=int, help="bars between forecast origins (default 1)")
    run.add_argument("--refit-every", type=int,
                     help="refit every K origins; 0 = fit once (default 0)")
    run.add_argument("--window", choices=("expanding", "rolling"), help="training window")
    run.add_argument("--train-size", type=int, help="rolling window length in bars")
    run.add_argument("--seed", type=int, default=0, help="seed for stochastic models (default 0)")
    run.add_argument("--set", action="append", default=[], metavar="MODEL.KEY=VALUE",
                     help="model setting, e.g. lightgbm.n_estimators=300 (value parsed as JSON "
                          "when it can be); repeatable")
    out = p.add_argument_group("output")
    out.add_argument("--json", type=Path, metavar="OUT.json", help="write the full report")
    out.add_argument("--export", type=Path, metavar="FORECASTS.csv", help="write every forecast")
    out.add_argument("--metrics", type=Path, metavar="METRICS.csv",
                     help="write the leaderboard (one row per model) as CSV")
    out.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--list-models", action="store_true",
                   help="list the models and their settings, then exit")
    add_trading_arguments(p)
    p.set_defaults(func=cmd_backtest)


def cmd_backtest(args: argparse.Namespace) -> int:
    """Run the backtest described by ``args``; returns the exit code."""
    if args.list_models:
        return _list_models()
    from cryptodesk.cli.progress import console_context
    from cryptodesk.evaluation.backtest import ModelRun, run_backtest
    from cryptodesk.evaluation.leaderboard import describe_run, format_leaderboard

    candles = _load_candles(args)
    spec = build_spec(args, str(candles.attrs.get("timeframe", "1d")))
    names = [n.strip().lower() for n in args.models.split(",") if n.strip()]
    if not names:
        raise ModelError("--models is empty")
    settings = _parse_settings(args.set, names)
    runs = [ModelRun(n, settings.get(n, {})) for n in names]
    ctx, drawer = console_context(quiet=args.quiet)
    try:
        report = run_backtest(candles, runs, spec, ctx, seed=args.seed, preset=args.preset)
    finally:
        if drawer is not None:
            drawer.close()
    print(describe_run(report))
    print(format_leaderboard(report))
    print("DM p: Diebold–Mariano test vs naive (squared error, HLN correction); "
          "TheilU < 1 beats the last close.")
    monitor_text, monitor_json = monitoring_section(report, args.monitor_window, args.monitor_k)
    print(f"monitoring (last {args.monitor_window} forecasts):")
    print("\n".join(f"  {line}" for line in monitor_text.splitlines()))
    section = trading_section(report, candles, args)  # None without --strategy
    if section is not None:
        print(section[0])
        if args.equity:
            write_equity_csv(section[2], args.equity)
            print(f"equity: {args.equity}")
    if args.json:
        extra = {"monitoring": monitor_json}
        if section is not None:
            extra["trading"] = section[1]
        write_report_json(report, args.json, extra)
        print(f"report: {args.json}")
    if args.export:
        write_forecasts_csv(report, args.export)
        print(f"forecasts: {args.export}")
    if args.metrics:
        from cryptodesk.io.exports import write_metrics_csv

        write_metrics_csv(report.metrics, args.metrics, order=report.ranking())
        print(f"metrics: {args.metrics}")
    return 0


def build_spec(args: argparse.Namespace, timeframe: str) -> Any:
    """The walk-forward spec from a preset and/or explicit flags (flags win)."""
    from cryptodesk.evaluation.presets import preset_spec
    from cryptodesk.evaluation.walkforward import WalkForwardSpec

    base: dict[str, Any] = {"refit_every": 0, "test_size": None}
    if args.preset:
        base = preset_spec(args.preset, timeframe).to_dict()
    overrides = {
        "test_size": args.test_size, "test_start": args.test_start, "horizon": args.horizon,
        "stride": args.stride, "refit_every": args.refit_every, "window": args.window,
        "train_size": args.train_size,
    }
    if args.test_start is not None and args.test_size is None:
        base["test_size"] = None
    base.update({k: v for k, v in overrides.items() if v is not None})
    if base.get("test_size") is None and base.get("test_start") is None:
        raise DataError("say which bars to test on: --test-size N, --test-start DATE or --preset wf1")
    return WalkForwardSpec.from_dict(base)


def write_report_json(report: Any, path: Path, extra: dict[str, Any] | None = None) -> None:
    """Write the report JSON atomically (strict JSON: no NaN), plus extra sections
    (``monitoring``, ``trading``)."""
    from cryptodesk.atomic import write_text_atomic

    data = report.to_json()
    data.update(extra or {})
    text = json.dumps(data, indent=2, allow_nan=False)
    write_text_atomic(path, text + "\n")


def write_forecasts_csv(report: Any, path: Path) -> None:
    """Write every forecast with the shared forecasts-CSV writer (layout in
    :mod:`cryptodesk.io.exports`; ``origin`` as the optional trailing column)."""
    from cryptodesk.io.exports import write_forecasts_csv as write

    write(report.forecasts_table(), path)


def _load_candles(args: argparse.Namespace) -> Any:
    if args.csv is not None:
        from cryptodesk.data.csv_import import read_candles_csv

        symbol = args.symbol or args.csv.stem
        candles, _report = read_candles_csv(
            args.csv, symbol=symbol, source=args.source or "csv", timeframe=args.timeframe
        )
        return candles
    if not args.symbol:
        raise DataError("give --symbol (a stored series) or --csv FILE")
    from cryptodesk.data.store import CandleStore

    store = CandleStore()
    return store.load(store.find(args.symbol, args.timeframe, args.source))


def _parse_settings(items: list[str], names: list[str]) -> dict[str, dict[str, Any]]:
    """``model.key=value`` strings -> {model: {key: value}} (values parsed as JSON if possible)."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        target, sep, raw = item.partition("=")
        model, dot, key = target.partition(".")
        if not sep or not dot or not key:
            raise ModelError(f"--set {item!r}: expected MODEL.KEY=VALUE")
        model = model.strip().lower()
        if model not in names and model != "naive":
            raise ModelError(f"--set {item!r}: model {model!r} is not in --models")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = out.setdefault(model, {})
        parts = key.strip().split(".")
        for part in parts[:-1]:  # nested groups: lightgbm.features.return_lags=30
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _list_models() -> int:
    from cryptodesk.models.registry import available_models, model_class

    for name in available_models():
        try:
            cls = model_class(name)
        except ModelError as exc:
            print(f"{name}: unavailable ({exc})")
            continue
        caps = cls.capabilities
        extras = [k for k in ("quantiles", "p_up", "direct", "stochastic") if getattr(caps, k)]
        print(f"{name}  [{', '.join(extras) or 'point only'}]")
        for spec in cls.config_cls.params():
            rng = ""
            if spec.min is not None or spec.max is not None:
                rng = f" [{spec.min if spec.min is not None else ''}..{spec.max if spec.max is not None else ''}]"
            if spec.choices:
                rng = f" {{{', '.join(map(str, spec.choices))}}}"
            default = json.dumps(spec.default.to_dict() if spec.group else
                                 list(spec.default) if isinstance(spec.default, tuple) else spec.default)
            print(f"    {spec.name} = {default}{rng}  {spec.help}".rstrip())
    sys.stdout.flush()
    return 0
