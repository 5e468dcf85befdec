"""Import / load speed of the candle data layer on a 1,000,000-row one-minute CSV.

Prints: seconds to import the CSV (parse, validate, quality report, atomic store write),
seconds to load it back from the store, and the store's size on disk; for scale, the time
pyarrow's CSV reader alone takes to parse the same file. Median of several runs.

    python bench/io.py [--rows 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def make_csv(path: Path, rows: int) -> None:
    """An exchange-kline style CSV (``date,open,high,low,close,volume``) of ``rows`` minutes.

    Minutes, not hours: a million hourly bars would span 114 years, and the importer refuses
    bars dated before 1970 or after today."""
    rng = np.random.default_rng(0)
    close = 30_000 * np.exp(np.cumsum(rng.normal(0, 0.006, rows)))
    open_ = np.concatenate([[30_000.0], close[:-1]])
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.002, rows)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.002, rows)))
    volume = np.abs(rng.normal(1000, 300, rows))
    index = pd.date_range("2022-01-01", periods=rows, freq="min")
    frame = pd.DataFrame(
        {"date": index.strftime("%Y-%m-%d %H:%M:%S"), "open": open_.round(2), "high": high.round(2),
         "low": low.round(2), "close": close.round(2), "volume": volume.round(5)}
    )
    frame.to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CRYPTODESK_HOME"] = tmp
        import pyarrow.csv as pacsv

        from cryptodesk.data.csv_import import read_candles_csv
        from cryptodesk.data.store import CandleStore

        csv_path = Path(tmp) / "minutes.csv"
        make_csv(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6

        raw = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            pacsv.read_csv(csv_path)
            raw.append(time.perf_counter() - t)

        imports, loads = [], []
        store_bytes = 0
        for i in range(args.repeat):
            store = CandleStore(Path(tmp) / f"store{i}")
            t = time.perf_counter()
            candles, report = read_candles_csv(csv_path, symbol="BENCH/USD")
            store.write(candles)
            imports.append(time.perf_counter() - t)
            key = store.list()[0].key
            t = time.perf_counter()
            loaded = store.load(key)
            loads.append(time.perf_counter() - t)
            assert len(loaded) == args.rows == report.rows
            store_bytes = sum(f.stat().st_size for f in store.series_dir(key).glob("*.parquet"))

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {sys.version.split()[0]}")
    print(f"CSV: {args.rows:,} one-minute rows, {size_mb:.1f} MB; median of {args.repeat} runs")
    print(f"pyarrow CSV parse alone (for scale): {statistics.median(raw):.3f} s")
    print(f"import (parse, validate, quality report, store write): {statistics.median(imports):.3f} s"
          "   target <= 1 s")
    print(f"load back from the store: {statistics.median(loads):.3f} s   target <= 0.2 s")
    print(f"store size: {store_bytes / 1e6:.1f} MB ({store_bytes / size_mb / 1e6:.0%} of the CSV)")


if __name__ == "__main__":
    main()
