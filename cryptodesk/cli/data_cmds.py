"""``cryptodesk data ...``: import, inspect, check, export and delete stored candles."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cryptodesk.errors import DataError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``data`` command group."""
    from cryptodesk.cli import exchange_cmds

    data = sub.add_parser("data", help="candle data: import, fetch, list, show, check, resample, export, delete, demo")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    p = data_sub.add_parser("import", help="import a CSV file into the local store")
    p.add_argument("path", type=Path, help="CSV file (Yahoo, exchange klines, epoch exports)")
    p.add_argument("--symbol", help="symbol to store it as, e.g. BTC-USD (default: guessed from "
                                    "the file name, e.g. BTC-USDT-1h.csv -> BTC-USDT)")
    p.add_argument("--timeframe", help="bar length (1m ... 1w); inferred when omitted")
    p.add_argument("--source", default="csv", help="source name in the store (default: csv)")
    p.add_argument("--json", action="store_true", help="print the quality report as JSON")
    p.set_defaults(func=cmd_import)

    p = data_sub.add_parser("list", help="list stored series")
    p.set_defaults(func=cmd_list)

    p = data_sub.add_parser("show", help="print the last candles of a series")
    _series_args(p)
    p.add_argument("--tail", type=int, default=10, help="number of candles (default 10)")
    p.set_defaults(func=cmd_show)

    p = data_sub.add_parser("check", help="quality report: gaps, duplicates, impossible bars")
    _series_args(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_check)

    p = data_sub.add_parser("export", help="write a stored series to CSV")
    _series_args(p)
    p.add_argument("--out", type=Path, required=True, help="CSV file to write")
    p.set_defaults(func=cmd_export)

    p = data_sub.add_parser("delete", help="delete a stored series")
    _series_args(p)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_delete)

    p = data_sub.add_parser("resample", help="store a coarser copy of a series (e.g. 1h -> 4h)")
    _series_args(p)
    p.add_argument("--to", required=True, help="target timeframe, e.g. 4h, 1d, 1w")
    p.add_argument("--complete-only", action="store_true", help="drop partly filled buckets")
    p.set_defaults(func=cmd_resample)

    p = data_sub.add_parser("demo", help="write the synthetic demo series into the store")
    p.set_defaults(func=cmd_demo)

    exchange_cmds.register(data_sub)


def _series_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("symbol", help="stored symbol, e.g. BTC-USD (case and separators ignored)")
    p.add_argument("--timeframe", help="pick the timeframe when several are stored")
    p.add_argument("--source", help="pick the source when several are stored")


def _store():
    from cryptodesk.data.store import CandleStore

    return CandleStore()


def _resolve(args: argparse.Namespace):
    store = _store()
    return store, store.find(args.symbol, args.timeframe, args.source)


def cmd_import(args: argparse.Namespace) -> int:
    """Import a CSV (the same workflow as the app's import); print the quality report; the
    store is unchanged if anything fails."""
    from cryptodesk.app.ingest import import_csv
    from cryptodesk.jobs import null_context

    outcome = import_csv(_store(), args.path, null_context(), symbol=args.symbol,
                         source=args.source, timeframe=args.timeframe)
    meta, result = outcome.series.meta, outcome.write
    if args.json:
        from dataclasses import asdict

        out = {"series": {"symbol": meta.symbol, "timeframe": meta.timeframe,
                          "source": meta.source, "synthetic": meta.synthetic},
               "symbol_guessed": outcome.symbol_guessed, "write": asdict(result),
               "quality": outcome.file_report.to_dict()}
        if outcome.merged:
            out["stored_series_quality"] = outcome.series.report.to_dict()
        print(json.dumps(out, indent=2))
        return 0
    if outcome.symbol_guessed:
        print(f"Symbol {meta.symbol} taken from the file name (use --symbol to choose another)")
    print(
        f"Imported {outcome.file_report.rows:,} bars into {meta.symbol} {meta.timeframe} "
        f"({meta.source}): {result.added:,} new, {result.replaced:,} updated, "
        f"{result.rows_after:,} stored ({outcome.seconds:.2f} s)"
    )
    for line in outcome.file_report.lines():
        print(f"  {line}")
    if outcome.merged:
        print("Whole stored series after the merge:")
        for line in outcome.series.report.lines():
            print(f"  {line}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """Table of stored series."""
    infos = _store().list()
    if not infos:
        print("No stored series. Try 'cryptodesk data demo' or 'cryptodesk data import FILE'.")
        return 0
    print(f"{'symbol':<16}{'tf':>4}  {'source':<10}{'bars':>10}  {'first':<20}{'last':<20}{'size':>9}")
    for i in infos:
        tag = "  SYNTHETIC" if i.meta.synthetic else ""
        print(
            f"{i.meta.symbol:<16}{i.meta.timeframe:>4}  {i.meta.source:<10}{i.rows:>10,}  "
            f"{_fmt(i.first):<20}{_fmt(i.last):<20}{i.size_bytes / 1024:>7.0f}kB{tag}"
        )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print the last N candles."""
    if args.tail <= 0:
        raise DataError("--tail must be a positive number")
    store, key = _resolve(args)
    candles = store.load(key)
    meta = store.info(key).meta
    print(meta.label)
    tail = candles.tail(args.tail)
    print(f"{'time (UTC)':<20}{'open':>14}{'high':>14}{'low':>14}{'close':>14}{'volume':>16}")
    for ts, row in tail.iterrows():
        print(
            f"{_fmt(ts):<20}{row.open:>14.6g}{row.high:>14.6g}{row.low:>14.6g}"
            f"{row.close:>14.6g}{row.volume:>16.6g}"
        )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Quality report of a stored series."""
    from cryptodesk.data.quality import check_quality

    store, key = _resolve(args)
    candles = store.load(key)
    report = check_quality(candles, key.timeframe)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    print(store.info(key).meta.label)
    for line in report.lines():
        print(f"  {line}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write a series as CSV (ISO-8601 UTC timestamps), atomically."""
    from cryptodesk.io.csv_export import write_candles_csv

    store, key = _resolve(args)
    candles = store.load(key)
    write_candles_csv(candles, args.out)
    print(f"Wrote {len(candles):,} bars of {key} to {args.out}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete a series, after confirmation on a terminal."""
    store, key = _resolve(args)
    from cryptodesk.cli.confirm import confirmed

    if not confirmed(f"Delete {key} ({store.info(key).rows:,} bars)?", str(key), args.yes,
                     DataError):
        print("Nothing deleted.")
        return 0
    store.delete(key)
    print(f"Deleted {key}")
    return 0


def cmd_resample(args: argparse.Namespace) -> int:
    """Store a coarser copy of a series."""
    from cryptodesk.data.resample import resample_candles

    store, key = _resolve(args)
    coarse = resample_candles(store.load(key), args.to, complete_only=args.complete_only)
    result = store.write(coarse)
    print(f"Stored {result.rows_after:,} {coarse.attrs['timeframe']} bars of {key.symbol} ({key.source})")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """(Re)write the synthetic demo series."""
    from cryptodesk.data.demo import DEMO_SOURCE, DEMO_SYMBOL, generate_demo

    store = _store()
    for tf in ("1d", "1h"):
        candles = generate_demo(tf)
        store.write(candles)
        print(f"Wrote {len(candles):,} SYNTHETIC {tf} bars as {DEMO_SYMBOL} ({DEMO_SOURCE})")
    return 0


def _fmt(ts) -> str:
    if ts is None:
        return "-"
    return ts.strftime("%Y-%m-%d %H:%M")
