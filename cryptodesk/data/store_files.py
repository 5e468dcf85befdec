"""The files behind the candle store: Parquet reading, footers, temp-file sweeping, locks.

:mod:`cryptodesk.data.store` decides what to read and write; this module knows how one file is
read from a single snapshot of its bytes, what a footer says without reading the data, which
names are the store's own temp files (the only files the sweep may ever remove), and how a
series folder is locked across threads and processes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import stat
import threading
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cryptodesk.data.schema import COLUMNS, INDEX_NAME, CandleMeta
from cryptodesk.errors import StoreError

try:  # POSIX advisory locks across processes; threads are covered by _THREAD_LOCKS.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("cryptodesk.data.store")

MAIN = "main.parquet"
SEGMENT_PREFIX = "seg-"
LOCK = ".lock"
# The temp names atomic_path() gives our two kinds of files: "." + name + "." + mkstemp's
# random part + ".tmp". Nothing else in a series folder is ever removed by the sweep.
TEMP_NAME = re.compile(r"\.(?:main|seg-\d+)\.parquet\.[A-Za-z0-9_]+\.tmp")
# Without flock (Windows) a live writer cannot be told from a dead one: only temp files this old.
STALE_TEMP_AGE_S = 3600.0
META_KEY = b"cryptodesk"
# Delta-encoded times and byte-split floats compress well and fast (measured in bench/io.py:
# zstd level 1 writes a million bars in ~0.07 s at ~30 % of the CSV's size).
ENCODING = {INDEX_NAME: "DELTA_BINARY_PACKED", **{c: "BYTE_STREAM_SPLIT" for c in COLUMNS}}
_THREAD_LOCKS: dict[Path, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()

SCHEMA = pa.schema(
    [pa.field(INDEX_NAME, pa.timestamp("ns", tz="UTC"), nullable=False)]
    + [pa.field(c, pa.float64()) for c in COLUMNS]
)


def thread_lock(folder: Path) -> threading.Lock:
    with _THREAD_LOCKS_GUARD:
        return _THREAD_LOCKS.setdefault(folder.resolve(), threading.Lock())


def temp_files(folder: Path) -> list[Path]:
    """Regular files in ``folder`` named like our temp files (links and folders never count)."""
    found = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        if TEMP_NAME.fullmatch(entry.name):
            with contextlib.suppress(OSError):
                if stat.S_ISREG(entry.stat(follow_symlinks=False).st_mode):
                    found.append(Path(entry.path))
    return found


def remove_temps(folder: Path, paths: list[Path]) -> list[Path]:
    """Unlink ``paths`` (caller holds the folder's lock); log what was freed."""
    removed, freed = [], 0
    for path in paths:
        try:
            size = path.lstat().st_size
            path.unlink()
        except OSError:
            continue
        removed.append(path)
        freed += size
    if removed:
        log.info("removed %d temp file(s) (%.1f MB) left by an interrupted write in %s",
                 len(removed), freed / 1e6, folder)
    return removed


def mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return float("inf")


def file_id(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def read_parquet(
    path: Path, filters: list | None, columns: list[str] | None
) -> tuple[pa.Table, dict]:
    """Read one Parquet file from a single snapshot of its bytes; return table and metadata."""
    try:
        data = path.read_bytes()
        table = pq.read_table(pa.BufferReader(data), columns=columns, filters=filters)
        raw = (pq.read_schema(pa.BufferReader(data)).metadata or {}).get(META_KEY)
    except FileNotFoundError:
        raise
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(f"cannot read {path}: {exc}") from exc
    if raw is None:
        raise StoreError(f"{path} is not a CryptoDesk candle file (no metadata)")
    return table, json.loads(raw)


def time_max(footer: pq.FileMetaData) -> int | None:
    """Largest time value (ns since the epoch) from the row-group statistics, if recorded."""
    best = None
    for g in range(footer.num_row_groups):
        group = footer.row_group(g)
        for c in range(group.num_columns):
            column = group.column(c)
            if column.path_in_schema != INDEX_NAME:
                continue
            stats = column.statistics
            if stats is None or not stats.has_min_max:
                return None
            value = stats.max
            value = pd.Timestamp(value).value if not isinstance(value, int) else value
            best = value if best is None else max(best, value)
    return best


def segment_no(path: Path) -> int:
    try:
        return int(path.stem[len(SEGMENT_PREFIX):])
    except ValueError:
        return 0


def file_meta(path: Path) -> dict:
    schema = pq.read_schema(path)
    raw = (schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise StoreError(f"{path} is not a CryptoDesk candle file (no metadata)")
    return json.loads(raw)


def meta_from_dict(info: dict) -> CandleMeta:
    return CandleMeta(info["source"], info["symbol"], info["timeframe"], bool(info.get("synthetic")))


def merged_meta(new: CandleMeta, stored: CandleMeta | None) -> CandleMeta:
    if stored is None:
        return new
    # A series stays synthetic if any of it is: real and invented candles must never mix unseen.
    return CandleMeta(new.source, new.symbol, new.timeframe, new.synthetic or stored.synthetic)


def tables_to_frame(tables: list[pa.Table]) -> pd.DataFrame:
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    times = table.column(INDEX_NAME).to_numpy()
    index = pd.DatetimeIndex(times, name=INDEX_NAME).tz_localize("UTC").as_unit("ns")
    frame = pd.DataFrame(
        {c: table.column(c).to_numpy() for c in COLUMNS}, index=index, copy=False
    )
    if len(tables) > 1:
        frame = dedupe_last(frame)
    return frame


def dedupe_last(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort by time, keeping the last row of each duplicated timestamp (stable)."""
    attrs = dict(frame.attrs)
    if not frame.index.is_monotonic_increasing:
        frame = frame.sort_index(kind="stable")
    if frame.index.has_duplicates:
        frame = frame[~frame.index.duplicated(keep="last")]
    frame.attrs.update(attrs)
    return frame


def sweep_if_free(folder: Path) -> list[Path]:
    """Remove the dead writers' temp files in ``folder`` if its lock is free right now (a
    folder a live writer holds, in this process or another, is left alone)."""
    lock_file = folder / LOCK
    if not lock_file.is_file():
        return []  # not a series folder this store's writers have used
    lock = thread_lock(folder)
    if not lock.acquire(blocking=False):
        return []  # a writer in this process is at work there
    try:
        if fcntl is None:
            cutoff = time.time() - STALE_TEMP_AGE_S
            old = [p for p in temp_files(folder) if mtime(p) < cutoff]
            return remove_temps(folder, old)
        with open(lock_file, "rb") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return []  # a live writer in another process holds it
            try:
                return remove_temps(folder, temp_files(folder))
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        lock.release()
