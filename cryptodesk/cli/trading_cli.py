"""The trading part of ``cryptodesk backtest``: flags, the trading table, JSON and equity CSV.

Kept apart from :mod:`.backtest_cmds` so the backtest command gains it with a few lines::

    add_trading_arguments(p)                               # in register()
    section = trading_section(report, candles, args)       # in cmd_backtest(), after the table
    if section is not None:
        text, trading_json, equity = section
        print(text)

then ``data["trading"] = trading_json`` in the report JSON and
``write_equity_csv(equity, args.equity)`` when ``--equity`` is given.

Example::

    cryptodesk backtest --csv BTC-USD.csv --preset wf1 --models drift,arima,lightgbm \\
        --strategy prob:0.55 --fee-bps 10 --slippage-bps 5 --sizing voltarget:0.4 \\
        --json run.json --equity equity.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported only when trading runs: `cryptodesk --help` stays fast
    import pandas as pd


def add_trading_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``trading`` option group (all optional; nothing trades without --strategy)."""
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
    g.add_argument("--equity", type=Path, metavar="EQUITY.csv",
                   help="write per-bar position, return, equity, drawdown and regime per model")


def strategy_spec_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~cryptodesk.evaluation.strategy.StrategySpec` the flags describe."""
    from cryptodesk.evaluation.strategy import StrategySpec, parse_sizing, parse_strategy

    fields: dict[str, Any] = {**parse_strategy(args.strategy), **parse_sizing(args.sizing)}
    return StrategySpec(
        **fields, long_short=bool(args.long_short), max_leverage=args.max_leverage,
        fee_bps=args.fee_bps, slippage_bps=args.slippage_bps, funding_bps=args.funding_bps,
    )


def trading_section(
    report: Any, candles: pd.DataFrame, args: argparse.Namespace,
) -> tuple[str, dict[str, Any], pd.DataFrame] | None:
    """(text table, JSON dict, long equity frame) for the report, or None without --strategy."""
    if not getattr(args, "strategy", None):
        return None
    from cryptodesk.evaluation.monitoring import MonitorSpec
    from cryptodesk.evaluation.trading_report import format_trading, trading_from_report

    spec = strategy_spec_from_args(args)
    regimes = {"vol": "volatility", "markov": "markov", "none": None}[args.regimes]
    monitor = MonitorSpec(window=args.monitor_window, k=args.monitor_k)
    tr = trading_from_report(report, candles, spec, regimes=regimes, monitor=monitor)
    return format_trading(tr), tr.to_json(), tr.equity_frame()


def monitoring_section(report: Any, window: int = 50, k: int = 20) -> tuple[str, dict[str, Any]]:
    """Degradation flags for every model (text lines and JSON), with or without trading."""
    from cryptodesk.evaluation.monitoring import MonitorSpec, monitor_report

    statuses = monitor_report(report, MonitorSpec(window=window, k=k))
    lines = [f"{name}: {s.status}" + (f" ({'; '.join(s.reasons)})" if s.reasons else "")
             for name, s in statuses.items()]
    return "\n".join(lines), {name: s.to_dict() for name, s in statuses.items()}


def write_equity_csv(equity: pd.DataFrame, path: Path) -> None:
    """Write the long equity frame atomically with ISO UTC timestamps."""
    import pandas as pd

    from cryptodesk.io.csv_export import write_frame_csv

    table = equity.copy()
    table["timestamp"] = pd.DatetimeIndex(table["timestamp"]).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_frame_csv(table, path)
