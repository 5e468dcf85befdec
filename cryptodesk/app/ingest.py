"""Getting candles into the desk: CSV import, exchange download, listing and loading the store.

One function per workflow, shared by ``cryptodesk data ...`` and the GUI's data panel, so both
guess a symbol the same way, merge into the store the same way and report on the series the
same way (after a merge with earlier bars, the quality report covers the whole stored series,
not just the file).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptodesk.errors import DataError
from cryptodesk.jobs import TaskContext

if TYPE_CHECKING:  # pandas and the data layer load in the first job, not at start-up
    import pandas as pd

    from cryptodesk.data.quality import QualityReport
    from cryptodesk.data.schema import CandleMeta, SeriesKey
    from cryptodesk.data.store import CandleStore, SeriesInfo, WriteResult


class LazyStore:
    """A :class:`~cryptodesk.data.store.CandleStore` created on first use.

    The store module imports pyarrow's Parquet reader (with ssl, ~0.15 s); a window does not
    need it to appear, so the first job pays for it instead.
    """

    def __init__(self, root: Path | None = None) -> None:
        self._root = root
        self._store: CandleStore | None = None
        self._lock = threading.Lock()

    def get(self) -> CandleStore:
        with self._lock:
            if self._store is None:
                from cryptodesk.data.store import CandleStore

                self._store = CandleStore(self._root)
            return self._store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


@dataclass(frozen=True)
class SeriesData:
    """A stored series ready to show: candles, metadata and quality report."""

    frame: pd.DataFrame
    meta: CandleMeta
    report: QualityReport
    note: str = ""

    @property
    def key(self) -> SeriesKey:
        return self.meta.key


@dataclass(frozen=True)
class StoreListing:
    """The store's series (and whether the demo series was written just now)."""

    series: list[SeriesInfo]
    demo_written: bool = False


def list_store(store: CandleStore, ctx: TaskContext, ensure_demo: bool = False) -> StoreListing:
    """List stored series; with ``ensure_demo`` first write the demo series if missing."""
    written = False
    if ensure_demo:
        from cryptodesk.data.demo import ensure_demo as _ensure

        ctx.progress(None, "preparing the demo series")
        written = _ensure(store)
    ctx.check_cancelled()
    ctx.progress(None, "listing stored series")
    return StoreListing(store.list(), written)


def series_data(frame: pd.DataFrame, report: QualityReport | None = None,
                note: str = "") -> SeriesData:
    """A candle frame with its metadata and quality report (computed when not given)."""
    from cryptodesk.data.quality import check_quality
    from cryptodesk.data.schema import meta_of

    meta = meta_of(frame)
    if report is None:
        report = check_quality(frame, meta.timeframe)
    return SeriesData(frame, meta, report, note)


def load_series(store: CandleStore, key: SeriesKey, ctx: TaskContext) -> SeriesData:
    """Load one stored series with its quality report."""
    ctx.progress(None, f"loading {key}")
    frame = store.load(key)
    ctx.check_cancelled()
    ctx.progress(None, f"checking {key}")
    return series_data(frame)


def symbol_from_filename(path: Path) -> str:
    """A symbol guessed from a file name: ``BTC-USDT-1h.csv`` -> ``BTC-USDT``."""
    from cryptodesk.data.timeframes import normalize_timeframe

    stem = Path(path).stem.strip()
    parts = [p for p in stem.replace("_", "-").split("-") if p]
    while len(parts) > 1:
        try:
            normalize_timeframe(parts[-1].lower())
        except DataError:
            break
        parts.pop()
    return "-".join(parts).upper() or "IMPORTED"


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did: the file's own quality report, the write, the stored series after
    the merge (with a report on the whole series when earlier bars were there), and whether
    the symbol was guessed from the file name."""

    path: Path
    file_report: QualityReport
    write: WriteResult
    series: SeriesData
    symbol_guessed: bool
    seconds: float

    @property
    def merged(self) -> bool:
        """True when the stored series holds more than the file (earlier bars kept)."""
        return self.series.report is not self.file_report


def import_csv(store: CandleStore, path: Path, ctx: TaskContext, *, symbol: str | None = None,
               source: str = "csv", timeframe: str | None = None) -> ImportOutcome:
    """Read a CSV, merge it into the store (atomically: on error nothing changes) and load the
    stored series back. Without ``symbol`` it is guessed from the file name. Raises
    :class:`~cryptodesk.errors.CsvImportError` for a bad file."""
    import time

    from cryptodesk.data.csv_import import read_candles_csv
    from cryptodesk.data.schema import meta_of

    started = time.perf_counter()
    path = Path(path)
    guessed = not symbol
    ctx.progress(None, f"reading {path.name}")
    frame, report = read_candles_csv(path, symbol=symbol or symbol_from_filename(path),
                                     source=source, timeframe=timeframe)
    ctx.check_cancelled()
    ctx.progress(None, f"writing {len(frame):,} bars")
    result = store.write(frame)
    stored = store.load(meta_of(frame).key)
    note = f"imported {path.name}: {result.added:,} new bars, {result.replaced:,} replaced"
    merged = len(stored) != len(frame)
    series = series_data(stored, None if merged else report, note)
    return ImportOutcome(path, report, result, series, guessed, time.perf_counter() - started)


def download(store: CandleStore, request: dict[str, Any], ctx: TaskContext) -> SeriesData:
    """Download candles from an exchange into the store and load the series."""
    from cryptodesk.data.exchange import fetch_candles

    result = fetch_candles(store, ctx=ctx, **request)
    loaded = load_series(store, result.key, ctx)
    note = f"downloaded {result.received:,} bars ({result.added:,} new) from {result.key.source}"
    return SeriesData(loaded.frame, loaded.meta, loaded.report, note)
