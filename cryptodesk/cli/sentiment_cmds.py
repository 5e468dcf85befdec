"""``cryptodesk sentiment ...`` and ``cryptodesk series ...``: texts and other external series.

- ``sentiment import FILE --dataset NAME``: read CSV/JSON Lines texts, store them, score them
  with the default offline scorer (``--no-score`` to skip, ``--scorer`` to choose);
- ``sentiment score NAME`` (re)scores a stored dataset; ``sentiment score --text "..."``
  scores ad-hoc texts;
- ``sentiment show NAME``: summary and latest texts; with ``--timeframe`` the per-bar features
  (with ``--symbol``, on that stored candle series, including the divergence);
- ``sentiment list|delete|scorers``;
- ``series import FILE --name NAME``, ``series list|show|delete``: numeric series joined as-of.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from cryptodesk.errors import DataError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``sentiment`` and ``series`` command groups."""
    _register_sentiment(sub)
    _register_series(sub)


# =========================================================================== sentiment
def _register_sentiment(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("sentiment", help="text sentiment: import, score, show, list, delete")
    s = group.add_subparsers(dest="sentiment_command", metavar="ACTION", required=True)

    p = s.add_parser("import", help="import texts (CSV or JSON Lines) into a dataset")
    p.add_argument("path", type=Path, help="CSV or JSON Lines file (UTF-8)")
    p.add_argument("--dataset", required=True, help="dataset name (letters, digits, - and _)")
    p.add_argument("--format", choices=("csv", "jsonl"), help="file format (default: detected)")
    p.add_argument("--time-col", help="time column (default: detected)")
    p.add_argument("--text-col", help="text column(s), e.g. body or title,body (default: detected)")
    p.add_argument("--source-col", help="source column (default: detected, optional)")
    p.add_argument("--weight-col", help="weight column (default: detected, optional)")
    p.add_argument("--source", default="", help="source name for rows without one")
    p.add_argument("--replace", action="store_true", help="replace the dataset instead of merging")
    p.add_argument("--no-score", action="store_true", help="store the texts without scoring them")
    _scorer_args(p)
    p.add_argument("--json", action="store_true", help="print the import report as JSON")
    p.set_defaults(func=cmd_import)

    p = s.add_parser("score", help="score a stored dataset, or texts given with --text")
    p.add_argument("dataset", nargs="?", help="stored dataset to (re)score")
    p.add_argument("--text", action="append", help="score this text (repeatable) and print it")
    p.add_argument("--all", action="store_true", help="rescore every text, not only unscored ones")
    _scorer_args(p)
    p.set_defaults(func=cmd_score)

    p = s.add_parser("show", help="dataset summary; per-bar features with --timeframe")
    p.add_argument("dataset")
    p.add_argument("--timeframe", help="bar length for per-bar features (e.g. 1h, 1d)")
    p.add_argument("--symbol", help="stored candle series to align with (adds divergence)")
    p.add_argument("--source", dest="candle_source", help="candle source when several are stored")
    p.add_argument("--half-life", help="recency half-life (e.g. 6h; 0 = no decay; default 1 bar)")
    p.add_argument("--window", help="window length (default 4 half-lives)")
    p.add_argument("--tail", type=int, default=10, help="rows to print (default 10)")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_show)

    p = s.add_parser("list", help="list stored text datasets")
    p.set_defaults(func=cmd_list)

    p = s.add_parser("delete", help="delete a stored text dataset")
    p.add_argument("dataset")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_delete)

    p = s.add_parser("scorers", help="which scorers can run here")
    p.add_argument("--model", type=Path, help="local transformer model folder to check")
    p.set_defaults(func=cmd_scorers)


def _scorer_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scorer", default="lexicon", help="lexicon (default), vader or transformer")
    p.add_argument("--model", type=Path, help="local model folder for --scorer transformer")


def _scorer(args: argparse.Namespace):
    from cryptodesk.sentiment.scorers import get_scorer

    return get_scorer(args.scorer, model_path=args.model)


def _datasets():
    from cryptodesk.sentiment.datasets import TextDatasets

    return TextDatasets()


def cmd_import(args: argparse.Namespace) -> int:
    """Import, merge, score; the stored dataset is unchanged if reading the file fails."""
    from cryptodesk.sentiment.datasets import normalize_name, score_dataset
    from cryptodesk.sentiment.text_import import read_texts

    name = normalize_name(args.dataset)
    started = time.perf_counter()
    scorer = None if args.no_score else _scorer(args)  # fail early on an unusable scorer
    frame, report = read_texts(
        args.path, fmt=args.format, time_col=args.time_col, text_col=args.text_col,
        source_col=args.source_col, weight_col=args.weight_col, default_source=args.source,
    )
    store = _datasets()
    result = store.merge(name, frame, replace=args.replace, source_file=str(args.path))
    scored, identity = (0, None)
    if scorer is not None:
        scored, identity = score_dataset(store, name, scorer)
    seconds = time.perf_counter() - started
    if args.json:
        from dataclasses import asdict

        print(json.dumps({"dataset": name, "merge": asdict(result), "scored": scored,
                          "scorer": identity, "report": report.to_dict()}, indent=2))
        return 0
    print(f"Imported {report.rows_kept:,} texts into '{name}': {result.added:,} new, "
          f"{result.already_stored:,} already stored, {result.rows_after:,} in the dataset "
          f"({seconds:.2f} s)")
    for line in report.lines():
        print(f"  {line}")
    if scorer is not None:
        print(f"  scored {scored:,} texts with the '{scorer.name}' scorer")
        for note in getattr(scorer, "notes", []):
            print(f"  note: {note}")
    else:
        print(f"  not scored: run 'cryptodesk sentiment score {name}'")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """Score a dataset (stored) or ad-hoc texts (printed)."""
    if not args.text and not args.dataset:
        raise DataError("give a dataset name or --text")
    scorer = _scorer(args)
    if args.text:
        for text, value in zip(args.text, scorer.score(args.text), strict=True):
            print(f"{value:+.3f}  {text}")
    if args.dataset:
        from cryptodesk.sentiment.datasets import score_dataset

        started = time.perf_counter()
        scored, _ = score_dataset(_datasets(), args.dataset, scorer, only_missing=not args.all)
        seconds = time.perf_counter() - started
        rate = f", {scored / seconds:,.0f} texts/s" if scored and seconds > 0 else ""
        print(f"Scored {scored:,} texts of '{args.dataset}' with '{scorer.name}' "
              f"({seconds:.2f} s{rate})")
        for note in getattr(scorer, "notes", []):
            print(f"note: {note}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Summary, score distribution, latest texts; per-bar features with --timeframe."""
    import numpy as np

    store = _datasets()
    frame, meta = store.read(args.dataset)
    scores = frame["score"].to_numpy(dtype=np.float64, na_value=np.nan)
    scored = scores[np.isfinite(scores)]
    summary = {
        "dataset": meta.get("name"), "texts": len(frame), "first": meta.get("first"),
        "last": meta.get("last"), "scored": int(scored.size),
        "scorer": meta.get("scorer"),
        "sources": frame["source"].value_counts().head(10).to_dict(),
        "mean_score": float(scored.mean()) if scored.size else None,
        "positive_share": float((scored > 0.05).mean()) if scored.size else None,
        "negative_share": float((scored < -0.05).mean()) if scored.size else None,
    }
    bars = None
    if args.timeframe or args.symbol:
        bars = _per_bar(args, frame)
    if args.json:
        out = dict(summary)
        if bars is not None:
            tail = bars.tail(args.tail)
            out["bars"] = json.loads(tail.to_json(orient="index", date_format="iso"))
        print(json.dumps(out, indent=2, default=str))
        return 0
    print(f"{summary['dataset']}: {summary['texts']:,} texts, {summary['first']} .. {summary['last']}")
    scorer = meta.get("scorer") or {}
    print(f"  scored: {summary['scored']:,} (scorer: {scorer.get('scorer', 'none')})")
    if scored.size:
        print(f"  mean score {summary['mean_score']:+.3f}; positive {summary['positive_share']:.0%}, "
              f"negative {summary['negative_share']:.0%}")
    sources = ", ".join(f"{k or '(none)'} {v:,}" for k, v in summary["sources"].items())
    print(f"  sources: {sources}")
    if bars is None:
        print("  latest texts:")
        for _, row in frame.tail(args.tail).iterrows():
            text = str(row["text"]).replace("\n", " ")
            text = text if len(text) <= 70 else text[:67] + "..."
            score = "   n/a" if np.isnan(row["score"]) else f"{row['score']:+.3f}"
            print(f"    {_fmt(row['time'])}  {score}  {text}")
        return 0
    print(f"  per bar ({bars.attrs.get('label', '')}):")
    print(f"    {'bar open (UTC)':<20}" + "".join(f"{c:>14}" for c in bars.columns))
    for ts, row in bars.tail(args.tail).iterrows():
        cells = [f"{v:>14,.0f}" if col == "count" else f"{v:>14.4f}" for col, v in row.items()]
        print(f"    {_fmt(ts):<20}" + "".join(cells))
    return 0


def _per_bar(args: argparse.Namespace, frame):
    import numpy as np
    import pandas as pd

    from cryptodesk.sentiment.aggregate import (
        AggregationConfig,
        aggregate_texts,
        sentiment_features,
    )

    config = AggregationConfig(half_life=args.half_life, window=args.window)
    if args.symbol:
        from cryptodesk.data.store import CandleStore

        store = CandleStore()
        candles = store.load(store.find(args.symbol, args.timeframe, args.candle_source))
        joined = sentiment_features(candles, args.dataset, config=config, prefix="s")
        bars = joined[["close", "s_score", "s_count", "s_neg_share", "s_divergence"]]
        bars.columns = ["close", "score", "count", "neg_share", "divergence"]
        bars.attrs["label"] = f"{candles.attrs['symbol']} {candles.attrs['timeframe']}"
        return bars
    from cryptodesk.data.timeframes import timeframe_delta

    if not len(frame):
        raise DataError("the dataset is empty")
    step = timeframe_delta(args.timeframe)
    first = frame["time"].iloc[0].floor(step)
    last = frame["time"].iloc[-1].floor(step)
    opens = pd.date_range(first, last, freq=step, tz="UTC")
    bars = aggregate_texts(
        frame["time"], frame["score"].to_numpy(dtype=np.float64, na_value=np.nan), opens,
        args.timeframe, config, weights=frame["weight"].to_numpy(dtype=np.float64),
        sources=frame["source"].to_numpy(dtype=object),
    )[["score", "count", "neg_share"]]
    bars.attrs["label"] = f"{args.timeframe} bars"
    return bars


def cmd_list(args: argparse.Namespace) -> int:
    infos = _datasets().list()
    if not infos:
        print("No sentiment datasets. Try 'cryptodesk sentiment import FILE --dataset NAME'.")
        return 0
    print(f"{'dataset':<20}{'texts':>10}  {'first':<20}{'last':<20}{'scorer':<10}{'size':>9}")
    for i in infos:
        scorer = (i.scorer or {}).get("scorer", "-") if i.scored else "unscored"
        print(f"{i.name:<20}{i.rows:>10,}  {_fmt(i.first):<20}{_fmt(i.last):<20}{scorer:<10}"
              f"{i.size_bytes / 1024:>7.0f}kB")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    store = _datasets()
    if not store.exists(args.dataset):
        raise DataError(f"no sentiment dataset {args.dataset!r}")
    from cryptodesk.cli.confirm import confirmed

    if not confirmed(f"Delete sentiment dataset '{args.dataset}'?",
                     f"sentiment dataset '{args.dataset}'", args.yes, DataError):
        print("Kept.")
        return 0
    store.delete(args.dataset)
    print(f"Deleted '{args.dataset}'.")
    return 0


def cmd_scorers(args: argparse.Namespace) -> int:
    from cryptodesk.sentiment.scorers import available_scorers

    for info in available_scorers(args.model):
        state = "available" if info.available else f"unavailable: {info.reason}"
        print(f"{info.name:<12} {info.description} [{state}]")
    return 0


# =========================================================================== series
def _register_series(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("series", help="other numeric series (on-chain, funding): import, list")
    s = group.add_subparsers(dest="series_command", metavar="ACTION", required=True)

    p = s.add_parser("import", help="import a numeric CSV series and print its quality report")
    p.add_argument("path", type=Path)
    p.add_argument("--name", required=True, help="series name (becomes the column name)")
    p.add_argument("--time-col", help="time column (default: detected)")
    p.add_argument("--columns", help="comma-separated value columns (default: all numeric)")
    p.add_argument("--delay", help="publication delay added to the stamps, e.g. 1d for values "
                                   "stamped at the start of the day they describe")
    p.add_argument("--json", action="store_true", help="print the quality report as JSON")
    p.set_defaults(func=cmd_series_import)

    p = s.add_parser("list", help="list imported series")
    p.set_defaults(func=cmd_series_list)

    p = s.add_parser("show", help="print the last values and the quality report of a series")
    p.add_argument("name")
    p.add_argument("--tail", type=int, default=10)
    p.set_defaults(func=cmd_series_show)

    p = s.add_parser("delete", help="delete an imported series")
    p.add_argument("name")
    p.add_argument("--yes", action="store_true")
    p.set_defaults(func=cmd_series_delete)


def _series_store():
    from cryptodesk.sentiment.series_import import SeriesStore

    return SeriesStore()


def cmd_series_import(args: argparse.Namespace) -> int:
    from cryptodesk.sentiment.series_import import read_series_csv

    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    frame, report = read_series_csv(
        args.path, name=args.name, time_col=args.time_col, columns=columns, delay=args.delay
    )
    _series_store().write(args.name, frame, report, source_file=str(args.path))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    print(f"Imported series '{report.name}': {len(frame):,} rows, columns {', '.join(frame.columns)}")
    for line in report.lines():
        print(f"  {line}")
    return 0


def cmd_series_list(args: argparse.Namespace) -> int:
    infos = _series_store().list()
    if not infos:
        print("No imported series. Try 'cryptodesk series import FILE --name NAME'.")
        return 0
    print(f"{'series':<20}{'rows':>10}  {'first':<22}{'last':<22}columns")
    for i in infos:
        print(f"{i.name:<20}{i.rows:>10,}  {i.first or '-':<22}{i.last or '-':<22}{', '.join(i.columns)}")
    return 0


def cmd_series_show(args: argparse.Namespace) -> int:
    frame, meta = _series_store().read(args.name)
    print(frame.tail(args.tail).to_string())
    quality = meta.get("quality") or {}
    if quality:
        from cryptodesk.sentiment.series_import import SeriesQualityReport

        for line in SeriesQualityReport(**quality).lines():
            print(f"  {line}")
    return 0


def cmd_series_delete(args: argparse.Namespace) -> int:
    store = _series_store()
    if not store.path(args.name).is_file():
        raise DataError(f"no imported series {args.name!r}")
    from cryptodesk.cli.confirm import confirmed

    if not confirmed(f"Delete series '{args.name}'?", f"series '{args.name}'", args.yes,
                     DataError):
        print("Kept.")
        return 0
    store.delete(args.name)
    print(f"Deleted '{args.name}'.")
    return 0


def _fmt(ts) -> str:
    if ts is None:
        return "-"
    import pandas as pd

    return pd.Timestamp(ts).strftime("%Y-%m-%d %H:%M")
