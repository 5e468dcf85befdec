"""Sentiment speed: texts scored per second, and the aggregation time for 1,000,000 texts.

    .venv/bin/python bench/sentiment.py [--texts 200000] [--agg-texts 1000000] [--repeats 3]

Texts are built from the example set (tests/data/sentiment_examples.csv): each bench text joins
one to five example lines picked at random, so lengths (5-40 words), slang, emoji and
non-English lines are those of real posts rather than a repeated sentence. Printed:

- the fast ``lexicon`` scorer (the default): texts/s, median of the repeats (target >= 20,000/s
  on the 2-core machine);
- exact VADER (``vader`` scorer, pure Python) on a subset, for comparison;
- aggregation of 1,000,000 scored texts over one year into per-bar features: hourly bars with
  the default config (half-life 1 bar, window 4 bars), hourly bars with half-life 6 h / window
  1 d, and 1-minute bars with a 1-day window (525,600 bars, the long-window code path);
- the whole feature path for 1,000,000 stored texts: Parquet read + aggregation + join onto
  hourly candles (``sentiment_features``).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

EXAMPLES = REPO / "tests" / "data" / "sentiment_examples.csv"


def make_texts(n: int, seed: int = 0) -> list[str]:
    import numpy as np

    with EXAMPLES.open(encoding="utf-8", newline="") as fh:
        lines = [r["text"] for r in csv.DictReader(fh)]
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(lines), (n, 5))
    parts = rng.integers(1, 6, n)
    return [" ".join(lines[j] for j in row[:k]) for row, k in zip(picks, parts, strict=True)]


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_scoring(n: int, repeats: int) -> None:
    from cryptodesk.sentiment.scorers import LexiconScorer

    texts = make_texts(n)
    words = sum(len(t.split()) for t in texts) / n
    scorer = LexiconScorer()
    scorer.score(texts[:10_000])  # warm up pyarrow's kernels
    seconds = timed(lambda: scorer.score(texts), repeats)
    print(f"lexicon scorer: {n:,} texts ({words:.1f} words on average) in {seconds:.2f} s "
          f"= {n / seconds:,.0f} texts/s (target >= 20,000/s)")
    try:
        from cryptodesk.sentiment.scorers import VaderScorer

        vader = VaderScorer()
    except Exception as exc:  # optional package
        print(f"exact VADER: skipped ({exc})")
        return
    subset = texts[: min(n, 20_000)]
    seconds = timed(lambda: vader.score(subset), 1)
    print(f"exact VADER:    {len(subset):,} texts in {seconds:.2f} s = {len(subset) / seconds:,.0f} texts/s")


def bench_aggregation(n: int, repeats: int) -> None:
    import numpy as np
    import pandas as pd

    from cryptodesk.sentiment.aggregate import AggregationConfig, aggregate_texts

    rng = np.random.default_rng(1)
    start = pd.Timestamp("2024-01-01", tz="UTC")
    year_ns = 365 * 86_400 * 10**9
    times = pd.DatetimeIndex(np.sort(rng.integers(0, year_ns, n)) + start.value, tz="UTC")
    scores = rng.uniform(-1, 1, n)
    weights = rng.uniform(0.5, 2, n)
    sources = rng.choice(np.array(["x", "reddit", "news"], dtype=object), n)
    cases = [
        ("1h bars, default (half-life 1 bar, window 4 bars)", "1h", AggregationConfig()),
        ("1h bars, half-life 6h, window 1d, source weights", "1h",
         AggregationConfig(half_life="6h", window="1d", source_weights={"news": 2.0})),
        ("1m bars, half-life 1h, window 1d (long window)", "1m",
         AggregationConfig(half_life="1h", window="1d")),
    ]
    for label, tf, config in cases:
        opens = pd.date_range(start, start + pd.Timedelta(days=365), freq=pd.Timedelta(tf.replace("m", "min")),
                              tz="UTC", inclusive="left")
        seconds = timed(lambda opens=opens, tf=tf, config=config: aggregate_texts(
            times, scores, opens, tf, config, weights=weights, sources=sources), repeats)
        print(f"aggregation of {n:,} texts, {label}: {len(opens):,} bars in {seconds:.3f} s")


def bench_feature_path(n: int) -> None:
    import numpy as np
    import pandas as pd

    from cryptodesk.data.schema import make_candles
    from cryptodesk.sentiment.aggregate import sentiment_features
    from cryptodesk.sentiment.datasets import TextDatasets

    previous = os.environ.get("CRYPTODESK_HOME")
    with tempfile.TemporaryDirectory() as home:
        os.environ["CRYPTODESK_HOME"] = home  # never touch the real user data folder
        rng = np.random.default_rng(2)
        start = pd.Timestamp("2024-01-01", tz="UTC")
        texts = make_texts(n, seed=3)
        frame = pd.DataFrame({
            "time": pd.DatetimeIndex(start.value + np.sort(rng.integers(0, 365 * 86_400 * 10**9, n)), tz="UTC"),
            "text": texts, "source": "bench", "weight": 1.0, "score": rng.uniform(-1, 1, n),
        })
        store = TextDatasets()
        store.write("bench", frame, {"scorer": {"scorer": "bench"}})
        idx = pd.date_range(start, periods=365 * 24, freq="h", tz="UTC")
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(idx))))
        candles = make_candles(pd.DataFrame({"open": close, "high": close, "low": close, "close": close,
                                             "volume": 1.0}, index=idx),
                               source="bench", symbol="BTC-USD", timeframe="1h")
        started = time.perf_counter()
        out = sentiment_features(candles, "bench")
        seconds = time.perf_counter() - started
        print(f"sentiment_features: {n:,} stored texts -> {len(out):,} hourly bars "
              f"(Parquet read + aggregate + join) in {seconds:.2f} s")
    if previous is None:
        os.environ.pop("CRYPTODESK_HOME", None)
    else:
        os.environ["CRYPTODESK_HOME"] = previous


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=200_000, help="texts to score")
    parser.add_argument("--agg-texts", type=int, default=1_000_000, help="texts to aggregate")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"CPU cores: {os.cpu_count()}; load average: {os.getloadavg()[0]:.1f}")
    bench_scoring(args.texts, args.repeats)
    bench_aggregation(args.agg_texts, args.repeats)
    bench_feature_path(args.agg_texts)


if __name__ == "__main__":
    main()
