"""``cryptodesk data fetch|exchanges|markets``: exchange downloads through ccxt.

The commands are thin: they read the per-exchange settings, build a console task context and
call the core functions in :mod:`cryptodesk.data.exchange`. Ctrl+C during ``fetch`` cancels the
job cleanly (the page in flight finishes, everything fetched stays stored); a second Ctrl+C
aborts at once.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

from cryptodesk.errors import ExchangeError
from cryptodesk.jobs import Cancelled, TaskContext


def register(data_sub: argparse._SubParsersAction) -> None:
    """Add the exchange commands under ``data``."""
    p = data_sub.add_parser(
        "fetch",
        help="download candles from an exchange (incremental: continues after the last stored one)",
        description=(
            "Download closed candles from any ccxt exchange with fetchOHLCV into the local store, "
            "page by page. Without --since it continues after the newest stored candle, so "
            "running it again resumes an interrupted download or brings a series up to date."
        ),
    )
    p.add_argument("--exchange", required=True, help="ccxt exchange id, e.g. binance")
    p.add_argument("--symbol", required=True, help="market, e.g. BTC/USDT (BTCUSDT, btc-usdt work)")
    p.add_argument("--timeframe", required=True, help="bar length, e.g. 1m, 1h, 1d")
    p.add_argument("--since", help="first candle time (UTC), e.g. 2024-01-01; default: resume")
    p.add_argument("--until", help="stop before this time (UTC, exclusive); default: now")
    _client_args(p)
    p.add_argument("--retries", type=int, help="retries per request for transient errors "
                   "(default: the exchange's setting, 5)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_fetch)

    p = data_sub.add_parser("exchanges", help="list exchanges that serve candles, with timeframes")
    p.add_argument("filter", nargs="?", help="show only ids containing this text")
    p.set_defaults(func=cmd_exchanges)

    p = data_sub.add_parser("markets", help="list an exchange's markets")
    p.add_argument("--exchange", required=True, help="ccxt exchange id, e.g. binance")
    p.add_argument("--quote", help="only markets quoted in this currency, e.g. USDT")
    _client_args(p)
    p.set_defaults(func=cmd_markets)


def _client_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--api-url", metavar="BASE",
        help="send every REST request for https://HOST/PATH to BASE/HOST/PATH instead "
             "(mirror or proxy; default: the exchange's api_url setting)",
    )
    p.add_argument("--timeout", type=int, metavar="MS",
                   help="per-request timeout in ms (default: the exchange's setting, 30000)")


def _exchange_settings(exchange_id: str) -> Any:
    from cryptodesk.paths import app_paths
    from cryptodesk.settings import load_settings

    settings, warnings = load_settings(app_paths().settings_file)
    for warning in warnings:
        print(f"cryptodesk: warning: {warning}", file=sys.stderr)
    return settings.exchange(exchange_id.strip().lower())


def cmd_fetch(args: argparse.Namespace) -> int:
    """Download candles; prints a one-line summary. Exit 1 on errors, 130 when cancelled."""
    from cryptodesk.cli.progress import console_context
    from cryptodesk.data.exchange import RetryPolicy, fetch_candles
    from cryptodesk.data.store import CandleStore

    options = _exchange_settings(args.exchange)
    retries = options.max_retries if args.retries is None else args.retries
    if retries < 0:
        raise ExchangeError("--retries must be 0 or more")
    ctx, drawer = console_context(quiet=args.quiet)
    store = CandleStore()
    try:
        with _cancel_on_sigint(ctx):
            result = fetch_candles(
                store, args.exchange, args.symbol, args.timeframe,
                since=args.since, until=args.until, ctx=ctx,
                api_url=args.api_url or options.api_url,
                timeout_ms=args.timeout or options.timeout_ms,
                retry=RetryPolicy(max_retries=retries),
            )
    except Cancelled:
        if drawer is not None:
            drawer.close()
        print("cryptodesk: stopped; every page fetched before the cancel is stored "
              "(run the same command again to resume)", file=sys.stderr)
        raise
    finally:
        if drawer is not None:
            drawer.close()
    info = store.info(result.key) if store.exists(result.key) else None
    span = (f"{result.first:%Y-%m-%d %H:%M} to {result.last:%Y-%m-%d %H:%M} UTC"
            if result.first is not None else "no new closed candles")
    print(f"{result.key}: {result.received:,} candles fetched ({span}), {result.added:,} new; "
          f"{result.requests} requests, {result.retries} retries, {result.elapsed_s:.1f}s")
    if info is not None:
        print(f"stored: {info.rows:,} candles, {info.first:%Y-%m-%d %H:%M} to "
              f"{info.last:%Y-%m-%d %H:%M} UTC")
    return 0


def cmd_exchanges(args: argparse.Namespace) -> int:
    """Print the exchanges that serve candles and their timeframes (no network)."""
    from cryptodesk.data.exchange import list_exchanges

    wanted = (args.filter or "").strip().lower()
    rows = [e for e in list_exchanges() if wanted in e.id]
    if not rows:
        raise ExchangeError(f"no exchange id contains {args.filter!r}")
    width = max(len(e.id) for e in rows)
    for e in rows:
        print(f"{e.id:<{width}}  {' '.join(e.timeframes) or '(timeframes not listed)'}")
    print(f"{len(rows)} exchanges with candles", file=sys.stderr)
    return 0


def cmd_markets(args: argparse.Namespace) -> int:
    """Print an exchange's markets (one request to load them)."""
    from cryptodesk.data.exchange import RetryPolicy, list_markets

    options = _exchange_settings(args.exchange)
    markets = list_markets(
        args.exchange, args.quote, api_url=args.api_url or options.api_url,
        timeout_ms=args.timeout or options.timeout_ms,
        retry=RetryPolicy(max_retries=options.max_retries),
    )
    if not markets:
        where = f" quoted in {args.quote.upper()}" if args.quote else ""
        raise ExchangeError(f"{args.exchange} lists no markets{where}")
    width = max(len(m.symbol) for m in markets)
    for m in markets:
        state = "" if m.active is not False else "  (inactive)"
        print(f"{m.symbol:<{width}}  {m.id:<14} {m.type}{state}")
    print(f"{len(markets)} markets", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _cancel_on_sigint(ctx: TaskContext) -> Iterator[None]:
    """While active, the first Ctrl+C cancels ``ctx`` (clean stop after the request in flight);
    a second one raises KeyboardInterrupt. Only the main thread can own signal handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if ctx.cancelled():
            raise KeyboardInterrupt
        ctx.cancel()
        print("\ncryptodesk: stopping after the current request (Ctrl+C again to abort)",
              file=sys.stderr)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
