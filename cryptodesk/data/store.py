"""The local candle store: one folder of Parquet files per (source, symbol, timeframe).

Layout under the store root (``<user data>/candles`` by default)::

    <source>/<symbol, percent-encoded>/<timeframe>/
        main.parquet          all candles up to the last compaction
        seg-000001.parquet    appended pages (downloads write one per page, cheaply)
        .lock

Why segments: an exchange download writes every page as it arrives, so a crash loses at most
the page in flight. Rewriting the whole series for each page would make a long download
quadratic; a page that only extends the series is written as its own small segment instead, and
segments are folded into ``main.parquet`` once there are many of them, or whenever a write
overlaps stored candles (then the whole series is merged, newest values winning).

Every file is written atomically (temp file + rename), so a crash or a failed import leaves the
previous data intact and readers never see a half-written file. ``main.parquet`` records the
highest segment number it has absorbed, so segments left behind by a crash during compaction
are ignored rather than applied twice.

A writer killed mid-write leaves its temp file (``.main.parquet.<random>.tmp``,
``.seg-000007.parquet.<random>.tmp``, often megabytes). Writers create temp files only while
holding the series lock, so a temp file found while *we* hold that lock belongs to a dead writer:
opening a store removes them from every series folder whose lock is free (a folder whose lock a
live writer holds is skipped), and a writer removes them from its folder on its first write.
Only names of exactly those two patterns, only regular files, only in series folders (those that
have the ``.lock`` file) are ever removed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cryptodesk.atomic import atomic_path
from cryptodesk.data.schema import (
    COLUMNS,
    INDEX_NAME,
    CandleMeta,
    SeriesKey,
    empty_candles,
    meta_of,
    set_meta,
)
from cryptodesk.data.store_files import (
    ENCODING,
    LOCK,
    MAIN,
    META_KEY,
    SCHEMA,
    SEGMENT_PREFIX,
    TEMP_NAME,
    dedupe_last,
    fcntl,
    file_id,
    file_meta,
    merged_meta,
    meta_from_dict,
    read_parquet,
    remove_temps,
    segment_no,
    sweep_if_free,
    tables_to_frame,
    temp_files,
    thread_lock,
    time_max,
)
from cryptodesk.data.store_lookup import find_series
from cryptodesk.errors import StoreError

log = logging.getLogger(__name__)

MAX_SEGMENTS = 64


@dataclass(frozen=True)
class SeriesInfo:
    """What ``data list`` shows about one stored series."""

    meta: CandleMeta
    rows: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    size_bytes: int
    path: Path

    @property
    def key(self) -> SeriesKey:
        return self.meta.key


@dataclass(frozen=True)
class WriteResult:
    """Outcome of a write: rows before and after, and how many timestamps were new."""

    rows_before: int
    rows_after: int
    added: int
    replaced: int


class CandleStore:
    """Read and write candle series under one root folder."""

    def __init__(self, root: Path | None = None) -> None:
        if root is None:
            from cryptodesk.paths import app_paths

            root = app_paths().candles
        self.root = Path(root)
        self._footers: dict[
            Path, tuple[tuple[int, int, int], tuple[int, int | None, CandleMeta, int]]
        ] = {}
        self._swept: set[Path] = set()  # series folders already swept under our own write lock
        self.remove_stale_temps()

    # ----------------------------------------------------------------- locations
    def series_dir(self, key: SeriesKey) -> Path:
        """Folder of one series (need not exist)."""
        symbol = urllib.parse.quote(key.symbol, safe="")
        return self.root / key.source / symbol / key.timeframe

    # ----------------------------------------------------------------- queries
    def exists(self, key: SeriesKey) -> bool:
        """True if the series has at least one stored file."""
        folder = self.series_dir(key)
        return (folder / MAIN).exists() or any(folder.glob(f"{SEGMENT_PREFIX}*.parquet"))

    def list(self) -> list[SeriesInfo]:
        """Every stored series, sorted by symbol, timeframe, source."""
        infos = []
        if not self.root.exists():
            return []
        for folder in sorted(p.parent for p in self.root.glob("*/*/*/*.parquet")):
            if folder in {i.path for i in infos}:
                continue
            try:
                infos.append(self._info(folder))
            except (OSError, pa.ArrowException, StoreError):
                continue  # an unreadable folder must not hide the others
        return sorted(infos, key=lambda i: (i.meta.symbol, i.meta.timeframe, i.meta.source))

    def info(self, key: SeriesKey) -> SeriesInfo:
        """Summary of one series; raises :class:`StoreError` if it is not stored."""
        if not self.exists(key):
            raise StoreError(f"no stored series {key}")
        return self._info(self.series_dir(key))

    def find(
        self, symbol: str, timeframe: str | None = None, source: str | None = None
    ) -> SeriesKey:
        """Resolve what a user typed to one stored series (:func:`~cryptodesk.data.store_lookup.
        find_series`: ``BTC-USDT``, ``btc/usdt`` and ``BTCUSDT`` all match ``BTC/USDT``)."""
        return find_series(self.list(), symbol, timeframe, source)

    # ----------------------------------------------------------------- reading
    def load(
        self,
        key: SeriesKey,
        start: pd.Timestamp | str | None = None,
        end: pd.Timestamp | str | None = None,
    ) -> pd.DataFrame:
        """Load a series (optionally ``start <= time <= end``) in canonical form."""
        folder = self.series_dir(key)
        if not self.exists(key):
            raise StoreError(f"no stored series {key}")
        filters = []
        if start is not None:
            filters.append((INDEX_NAME, ">=", _utc(start)))
        if end is not None:
            filters.append((INDEX_NAME, "<=", _utc(end)))
        tables, meta = self._read_tables(folder, filters or None)
        frame = tables_to_frame(tables)
        return set_meta(frame, meta)

    def last_timestamp(self, key: SeriesKey) -> pd.Timestamp | None:
        """Time of the newest stored candle, or None (cheap: reads the time column only)."""
        if not self.exists(key):
            return None
        tables, _ = self._read_tables(self.series_dir(key), None, columns=[INDEX_NAME])
        last = None
        for table in tables:
            if table.num_rows:
                value = pa.compute.max(table.column(INDEX_NAME)).as_py()
                ts = pd.Timestamp(value)
                last = ts if last is None or ts > last else last
        return None if last is None else _utc(last)

    def timestamps(
        self,
        key: SeriesKey,
        start: pd.Timestamp | str | None = None,
        end: pd.Timestamp | str | None = None,
    ) -> pd.DatetimeIndex:
        """Sorted unique times of the stored candles with ``start <= time < end`` (end
        exclusive, unlike :meth:`load`), reading the time column only. Empty if none."""
        if not self.exists(key):
            return pd.DatetimeIndex([], tz="UTC", name=INDEX_NAME).as_unit("ns")
        filters = []
        if start is not None:
            filters.append((INDEX_NAME, ">=", _utc(start)))
        if end is not None:
            filters.append((INDEX_NAME, "<", _utc(end)))
        tables, _ = self._read_tables(self.series_dir(key), filters or None, columns=[INDEX_NAME])
        chunks = [c for t in tables for c in t.column(INDEX_NAME).chunks]
        if not chunks:
            return pd.DatetimeIndex([], tz="UTC", name=INDEX_NAME).as_unit("ns")
        times = np.unique(pa.chunked_array(chunks).to_numpy())  # sorted, de-duplicated
        return pd.DatetimeIndex(times, name=INDEX_NAME).tz_localize("UTC").as_unit("ns")

    # ----------------------------------------------------------------- writing
    def write(self, candles: pd.DataFrame) -> WriteResult:
        """Merge ``candles`` into their series (key from the frame's metadata).

        Duplicate timestamps within ``candles`` keep the last row; timestamps already stored
        take the new values (newest wins). Atomic: on any error the store is unchanged.
        """
        meta = meta_of(candles)
        new = dedupe_last(candles)
        folder = self.series_dir(meta.key)
        with self._locked(folder):
            if new.empty:
                info = self._info(folder) if self.exists(meta.key) else None
                rows = info.rows if info else 0
                return WriteResult(rows, rows, 0, 0)
            fast = self._append_segment(folder, new, meta)
            if fast is not None:
                return fast
            tables, stored_meta = (
                self._read_tables(folder, None) if self.exists(meta.key) else ([], None)
            )
            meta = merged_meta(meta, stored_meta)
            stored = tables_to_frame(tables) if tables else empty_candles(meta)
            rows_before = len(stored)
            segments = self._segments(folder)
            absorbed = self._absorbed(folder)
            live_segments = [s for s in segments if segment_no(s) > absorbed]
            appends = rows_before == 0 or new.index[0] > stored.index[-1]
            if appends and rows_before and len(live_segments) < MAX_SEGMENTS:
                seq = max([absorbed, *(segment_no(s) for s in segments)]) + 1
                self._write_file(folder / f"{SEGMENT_PREFIX}{seq:06d}.parquet", new, meta, None)
                return WriteResult(rows_before, rows_before + len(new), len(new), 0)
            merged = new if rows_before == 0 else dedupe_last(pd.concat([stored, new]))
            replaced = int(stored.index.isin(new.index).sum()) if rows_before else 0
            top = max([absorbed, *(segment_no(s) for s in segments)])
            self._write_file(folder / MAIN, merged, meta, top)
            for seg in segments:  # absorbed now; a crash before this is harmless
                with contextlib.suppress(OSError):
                    seg.unlink()
            return WriteResult(rows_before, len(merged), len(merged) - rows_before, replaced)

    def delete(self, key: SeriesKey) -> bool:
        """Remove a series; True if something was deleted."""
        folder = self.series_dir(key)
        if not folder.exists():
            return False
        with self._locked(folder):
            remove_temps(folder, temp_files(folder))  # or the folder could not go
            removed = False
            for file in list(folder.glob("*.parquet")):
                file.unlink()
                removed = True
        with contextlib.suppress(OSError):
            (folder / ".lock").unlink()
            folder.rmdir()
            folder.parent.rmdir()
            folder.parent.parent.rmdir()
        return removed

    # ----------------------------------------------------------------- internals
    def _info(self, folder: Path) -> SeriesInfo:
        tables, meta = self._read_tables(folder, None, columns=[INDEX_NAME])
        times = [t.column(INDEX_NAME) for t in tables if t.num_rows]
        if times:
            chunked = pa.chunked_array([c for col in times for c in col.chunks])
            uniq = pa.compute.unique(chunked)
            rows = len(uniq)
            first = _utc(pd.Timestamp(pa.compute.min(chunked).as_py()))
            last = _utc(pd.Timestamp(pa.compute.max(chunked).as_py()))
        else:
            rows, first, last = 0, None, None
        size = sum(f.stat().st_size for f in folder.glob("*.parquet"))
        return SeriesInfo(meta, rows, first, last, size, folder)

    def _append_segment(
        self, folder: Path, new: pd.DataFrame, meta: CandleMeta
    ) -> WriteResult | None:
        """The cheap path for a page that only extends the series (downloads, live updates).

        Decides from the Parquet footers alone (row counts and the time column's max from the
        row-group statistics), so a download of N pages does not re-read the series N times.
        Returns None when the write needs the full merge. Caller holds the series lock.
        """
        main = folder / MAIN
        main_summary = self._footer_summary(main) if main.exists() else None
        if main.exists() and main_summary is None:
            return None  # let the full path read (and report) the file
        absorbed = main_summary[3] if main_summary else 0
        segments = self._segments(folder)
        live = [s for s in segments if segment_no(s) > absorbed]
        files = ([main] if main_summary else []) + live
        if not files or len(live) >= MAX_SEGMENTS:
            return None
        rows = 0
        last: int | None = None
        stored_meta: CandleMeta | None = None
        for file in files:
            summary = main_summary if file == main else self._footer_summary(file)
            if summary is None:
                return None
            file_rows, file_last, file_meta, _ = summary
            rows += file_rows
            if file_last is not None:
                last = file_last if last is None else max(last, file_last)
            stored_meta = stored_meta or file_meta
        if last is None or new.index[0].value <= last:
            return None
        meta = merged_meta(meta, stored_meta)
        seq = max([absorbed, *(segment_no(s) for s in segments)]) + 1
        self._write_file(folder / f"{SEGMENT_PREFIX}{seq:06d}.parquet", new, meta, None)
        return WriteResult(rows, rows + len(new), len(new), 0)

    def _footer_summary(self, file: Path) -> tuple[int, int | None, CandleMeta, int] | None:
        """Rows, newest time (ns), metadata and absorbed-segment number of one file from its
        footer, cached by the file's identity (inode, mtime, size): files are only ever
        replaced, never edited."""
        ident = file_id(file)
        if ident is None:
            return None
        cached = self._footers.get(file)
        if cached is not None and cached[0] == ident:
            return cached[1]
        try:
            footer = pq.read_metadata(file)
        except (OSError, pa.ArrowException):
            return None
        file_last = time_max(footer)
        raw = (footer.metadata or {}).get(META_KEY)
        if raw is None or (file_last is None and footer.num_rows):
            return None
        info = json.loads(raw)
        summary = (footer.num_rows, file_last, meta_from_dict(info), int(info.get("absorbed", 0)))
        if len(self._footers) > 4096:
            self._footers.clear()
        self._footers[file] = (ident, summary)
        return summary

    def _segments(self, folder: Path) -> list[Path]:
        return sorted(folder.glob(f"{SEGMENT_PREFIX}*.parquet"), key=segment_no)

    def _absorbed(self, folder: Path) -> int:
        main = folder / MAIN
        if not main.exists():
            return 0
        return int(file_meta(main).get("absorbed", 0))

    def _read_tables(
        self, folder: Path, filters: list | None, columns: list[str] | None = None
    ) -> tuple[list[pa.Table], CandleMeta]:
        """Read main + live segments as one consistent snapshot.

        Each file is read in one go from one open handle (a path-based Parquet read may open
        the file twice, and a rename in between would mix two versions). If ``main.parquet``
        was replaced while we read, or a segment vanished (a concurrent compaction), read again.
        """
        for _attempt in range(20):
            try:
                return self._read_snapshot(folder, filters, columns)
            except _Retry:
                continue
        raise StoreError(f"{folder} keeps changing while being read; try again")

    def _read_snapshot(
        self, folder: Path, filters: list | None, columns: list[str] | None
    ) -> tuple[list[pa.Table], CandleMeta]:
        main = folder / MAIN
        main_id = file_id(main)
        tables: list[pa.Table] = []
        meta: CandleMeta | None = None
        absorbed = 0
        if main_id is not None:
            try:
                table, info = read_parquet(main, filters, columns)
            except FileNotFoundError:
                raise _Retry from None
            tables.append(table)
            meta = meta_from_dict(info)
            absorbed = int(info.get("absorbed", 0))
        for seg in self._segments(folder):
            if segment_no(seg) <= absorbed:
                continue
            try:
                table, info = read_parquet(seg, filters, columns)
            except FileNotFoundError:
                raise _Retry from None
            tables.append(table)
            meta = meta or meta_from_dict(info)
        if file_id(main) != main_id:
            raise _Retry
        if meta is None:
            raise StoreError(f"no stored series in {folder}")
        return tables, meta

    def _write_file(
        self, target: Path, frame: pd.DataFrame, meta: CandleMeta, absorbed: int | None
    ) -> None:
        info = {
            "source": meta.source, "symbol": meta.symbol, "timeframe": meta.timeframe,
            "synthetic": meta.synthetic, "format": 1,
        }
        if absorbed is not None:
            info["absorbed"] = absorbed
        arrays = [pa.array(frame.index.as_unit("ns"), type=SCHEMA.field(INDEX_NAME).type)]
        arrays += [pa.array(frame[c].to_numpy(np.float64), type=pa.float64()) for c in COLUMNS]
        schema = SCHEMA.with_metadata({META_KEY: json.dumps(info).encode()})
        table = pa.Table.from_arrays(arrays, schema=schema)
        with atomic_path(target) as tmp:
            pq.write_table(
                table, tmp, compression="zstd", compression_level=1,
                use_dictionary=False, row_group_size=1 << 20, column_encoding=ENCODING,
            )

    @contextlib.contextmanager
    def _locked(self, folder: Path) -> Iterator[None]:
        folder.mkdir(parents=True, exist_ok=True)
        lock = thread_lock(folder)
        with lock:
            if fcntl is None:
                yield
                return
            with open(folder / LOCK, "a+b") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                try:
                    if folder not in self._swept:  # ours now: any temp file here is a dead one
                        self._swept.add(folder)
                        remove_temps(folder, temp_files(folder))
                    yield
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    # ----------------------------------------------------------------- crash leftovers
    def remove_stale_temps(self) -> list[Path]:
        """Remove the temp files dead writers left in this store's series folders.

        Runs when the store is opened. A folder whose lock is held right now (a live writer, in
        this process or another) is skipped: the next open after that writer finishes or dies
        sweeps it. Never raises: a folder that cannot be listed or locked is left as it is.
        Returns what was removed.
        """
        removed: list[Path] = []
        try:
            candidates = sorted(self.root.glob("*/*/*/.*.tmp"))
        except OSError:
            return removed
        by_folder: dict[Path, list[Path]] = {}
        for path in candidates:
            if TEMP_NAME.fullmatch(path.name):
                by_folder.setdefault(path.parent, []).append(path)
        for folder in by_folder:
            with contextlib.suppress(OSError):
                removed += sweep_if_free(folder)
        return removed


class _Retry(Exception):  # internal control flow of _read_tables
    """The series changed while it was being read."""


def _utc(value: pd.Timestamp | str) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")

