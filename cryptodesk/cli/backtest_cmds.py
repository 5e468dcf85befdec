"""``cryptodesk backtest``: walk-forward evaluation from the command line.

Examples::

    cryptodesk backtest --symbol BTC-USD --preset wf1 --models drift,arima,lightgbm
    cryptodesk backtest --symbol BTC/USDT --timeframe 1h --models lightgbm --test-size 720 \\
        --refit-every 168 --horizon 3 --json run.json --export forecasts.csv
    cryptodesk backtest --csv ../shared/data/daily/ETH-USD.csv --symbol ETH-USD --preset wf1
    cryptodesk backtest --symbol BTC-USD --preset wf1 --models lightgbm --save-spec run.json
    cryptodesk backtest --list-models

The flags become a run spec (:mod:`cryptodesk.app.runspec`), executed by the same code as the
GUI's runs and ``cryptodesk run``. Prints a leaderboard (naive always included, sorted by RMSE,
with Diebold–Mariano p-values against naive); ``--json`` writes the full report (schema in
docs/evaluation.md), ``--export`` every forecast as CSV, ``--save-spec`` the run spec.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cryptodesk.cli.run_output import add_output_arguments, print_outcome, run_with_console
from cryptodesk.errors import DataError, ModelError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``backtest`` command."""
    from cryptodesk.app.defaults import DEFAULT_MODELS

    p = sub.add_parser(
        "backtest",
        help="walk-forward backtest of models against the naive forecast",
        description="Walk-forward backtest: every model is refitted on data up to each origin "
                    "only and scored next to the naive forecast (last close).",
    )
    add_data_arguments(p)
    run = p.add_argument_group("protocol")
    run.add_argument("--target", choices=("price", "volatility"), default="price",
                     help="what to forecast and score: closes (default) or the realised "
                          "variance of each bar (QLIKE, MZ R², DM against naive volatility)")
    run.add_argument("--rv-measure", default="auto",
                     choices=("auto", "squared", "parkinson", "garman_klass", "intraday"),
                     help="volatility target: how a bar's realised variance is measured "
                          "(auto: intraday bars summed into days, else Parkinson's range)")
    run.add_argument("--models", default=None,
                     help=f"comma-separated model names (default: {','.join(DEFAULT_MODELS)}; "
                          "volatility: naive,ewma,garch,har,lightgbm)")
    run.add_argument("--preset", help="named protocol, e.g. wf1 (flags below override it)")
    run.add_argument("--test-size", type=int, help="test window: the last N bars")
    run.add_argument("--test-start", help="test window: bars from this date on (instead of a size)")
    run.add_argument("--horizon", type=int, help="forecast steps ahead (default 1)")
    run.add_argument("--stride", type=int, help="bars between forecast origins (default 1)")
    run.add_argument("--refit-every", type=int,
                     help="refit every K origins; 0 = fit once (default 0)")
    run.add_argument("--window", choices=("expanding", "rolling"), help="training window")
    run.add_argument("--train-size", type=int, help="rolling window length in bars")
    run.add_argument("--seed", type=int,
                     help="seed for stochastic models (default: the settings' seed, as in the app)")
    run.add_argument("--set", action="append", default=[], metavar="MODEL.KEY=VALUE",
                     help="model setting, e.g. lightgbm.n_estimators=300 (value parsed as JSON "
                          "when it can be); repeatable")
    add_cross_arguments(run)
    add_output_arguments(p)
    p.add_argument("--save-spec", type=Path, metavar="RUN.json",
                   help="write the run spec (replay it with 'cryptodesk run RUN.json')")
    p.add_argument("--list-models", action="store_true",
                   help="list the models and their settings, then exit")
    add_trading_arguments(p)
    p.set_defaults(func=cmd_backtest)


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``data`` option group: a stored series or a CSV file (read by ``_load_candles``)."""
    src = parser.add_argument_group("data")
    src.add_argument("--symbol", help="stored symbol (e.g. BTC-USD); with --csv, its label")
    src.add_argument("--timeframe", help="pick the timeframe when several are stored")
    src.add_argument("--source", help="pick the source when several are stored")
    src.add_argument("--csv", type=Path, help="read candles from this CSV instead of the store")


def add_cross_arguments(group: Any) -> None:
    """``--with`` / ``--with-lags``: other stored series' lagged returns as features."""
    group.add_argument("--with", dest="with_symbols", action="append", default=[],
                       metavar="SYMBOL",
                       help="another stored series (same timeframe) whose lagged log returns "
                            "feed every learning model, joined causally; repeatable")
    group.add_argument("--with-lags", type=int, default=3, metavar="N",
                       help="lagged returns per --with series (default 3)")


def add_trading_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``trading`` option group (all optional; nothing trades without --strategy)."""
    g = parser.add_argument_group(
        "trading", "turn the out-of-sample forecasts into positions (decided at the close of "
                   "bar t, filled at the open of t+1) and compare with buy-and-hold")
    g.add_argument("--strategy", metavar="RULE",
                   help="sign | prob[:0.55|:auto] | hurdle[:BPS|:auto] (auto = threshold tuned "
                        "on earlier folds only)")
    g.add_argument("--long-short", action="store_true",
                   help="go short on a down signal (default: long/flat)")
    g.add_argument("--sizing", default="fixed:1", metavar="fixed:F|voltarget:V",
                   help="fixed fraction of equity, or annual volatility target from the model's "
                        "interval (realised volatility without one); default fixed:1")
    g.add_argument("--max-leverage", type=float, default=1.0,
                   help="cap on |position| with voltarget (default 1)")
    g.add_argument("--fee-bps", type=float, default=10.0, help="fee per fill, bps (default 10)")
    g.add_argument("--slippage-bps", type=float, default=5.0,
                   help="slippage per fill, bps (default 5)")
    g.add_argument("--funding-bps", type=float, default=0.0,
                   help="funding cost of a short, bps per bar held (default 0)")
    g.add_argument("--regimes", choices=("vol", "markov", "none"), default="vol",
                   help="split metrics by regime: volatility terciles (default), 2-state "
                        "Markov switching, or none")
    g.add_argument("--monitor-window", type=int, default=50, metavar="N",
                   help="rolling window of forecasts for monitoring (default 50)")
    g.add_argument("--monitor-k", type=int, default=20, metavar="K",
                   help="flag a model whose rolling Theil's U stays above 1 for K forecasts "
                        "(default 20)")


def cmd_backtest(args: argparse.Namespace) -> int:
    """Run the backtest described by ``args``; returns the exit code."""
    if args.list_models:
        return _list_models()
    from cryptodesk.cli.run_output import write_outputs

    candles = _load_candles(args)
    spec = spec_from_args(args, candles)
    if args.save_spec:
        spec.write(args.save_spec)
        print(f"run spec: {args.save_spec} (replay: cryptodesk run {args.save_spec})")
    outcome = run_with_console(spec, quiet=args.quiet, candles=candles)
    print_outcome(outcome)
    write_outputs(outcome, args)
    return 0


def spec_from_args(args: argparse.Namespace, candles: Any) -> Any:
    """The run spec the flags describe (full model configs, the seed, the protocol)."""
    from cryptodesk.app.cross_asset import plan_cross
    from cryptodesk.app.defaults import default_seed
    from cryptodesk.app.runspec import build_run_spec

    models = models_from_args(args)
    timeframe = str(candles.attrs.get("timeframe", "1d"))
    if args.target == "volatility" and args.rv_measure in ("auto", "intraday"):
        from cryptodesk.features.volatility import resolve_method

        if resolve_method(timeframe, args.rv_measure) == "intraday":
            timeframe = "1d"  # intraday bars are summed into daily realised variance
    protocol = build_protocol(args, timeframe)
    strategy = strategy_from_args(args) if args.strategy else None
    regimes = {"vol": "volatility", "markov": "markov", "none": None}[args.regimes]
    seed = default_seed() if args.seed is None else args.seed
    specs, cross = plan_cross(candles, models, args.with_symbols, lags=args.with_lags)
    return build_run_spec(
        candles, specs, protocol, seed=seed,
        preset=args.preset, strategy=strategy, regimes=regimes,
        csv=str(args.csv.resolve()) if args.csv is not None else None,
        monitor_window=args.monitor_window, monitor_k=args.monitor_k, cross=cross,
        target=args.target, rv_method=args.rv_measure,
    )


def models_from_args(args: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    """``--models`` (``ensemble:a+b`` spelled out) with the ``--set`` settings of each."""
    from cryptodesk.app.defaults import DEFAULT_MODELS, DEFAULT_VOLATILITY_MODELS
    from cryptodesk.app.ensemble import parse_model_token

    chosen = args.models if args.models is not None else ",".join(
        DEFAULT_VOLATILITY_MODELS if args.target == "volatility" else DEFAULT_MODELS)
    tokens = [parse_model_token(t) for t in chosen.split(",") if t.strip()]
    if not tokens:
        raise ModelError("--models is empty")
    settings = _parse_settings(args.set, [n for n, _ in tokens])
    return [(n, {**extra, **settings.get(n, {})}) for n, extra in tokens]


def build_protocol(args: argparse.Namespace, timeframe: str) -> Any:
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


def strategy_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~cryptodesk.evaluation.strategy.StrategySpec` the trading flags describe."""
    from cryptodesk.evaluation.strategy import StrategySpec, parse_sizing, parse_strategy

    fields: dict[str, Any] = {**parse_strategy(args.strategy), **parse_sizing(args.sizing)}
    return StrategySpec(
        **fields, long_short=bool(args.long_short), max_leverage=args.max_leverage,
        fee_bps=args.fee_bps, slippage_bps=args.slippage_bps, funding_bps=args.funding_bps,
    )


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
    from cryptodesk.errors import CryptoDeskError
    from cryptodesk.models.registry import default_registry

    registry = default_registry()
    for entry in registry.entries():
        caps = entry.capabilities
        extras = [k for k in ("quantiles", "p_up", "direct", "stochastic") if getattr(caps, k)]
        library = f" ({entry.library})" if entry.library else ""
        print(f"{entry.name}{library}  [{', '.join(extras) or 'point only'}]  {entry.description}")
        try:
            params = registry.config_class(entry.name).params()
        except CryptoDeskError as exc:
            print(f"    settings unavailable: {exc}")
            continue
        for spec in params:
            rng = ""
            if spec.min is not None or spec.max is not None:
                rng = f" [{spec.min if spec.min is not None else ''}..{spec.max if spec.max is not None else ''}]"
            if spec.choices:
                rng = f" {{{', '.join(map(str, spec.choices))}}}"
            default = json.dumps(spec.default.to_dict() if spec.group else
                                 list(spec.default) if isinstance(spec.default, tuple) else spec.default)
            tune = "" if spec.search is None else f" tune {json.dumps(spec.search.to_dict())}"
            print(f"    {spec.name} = {default}{rng}{tune}  {spec.help}".rstrip())
    sys.stdout.flush()
    return 0
