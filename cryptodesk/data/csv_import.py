"""CSV import for the layouts people actually have.

Recognised without configuration: Yahoo (``Date,Open,High,Low,Close,Adj Close,Volume``),
exchange klines (``date,open,high,low,close,volume``), exchange exports with epoch seconds,
milliseconds or microseconds, CryptoDataDownload files (a URL line above the header), columns in
any order and case, extra columns ignored, ``,`` ``;`` tab or ``|`` delimiters, decimal commas
with ``;``, time stamps with or without a time zone (without one, UTC is assumed and noted).

Parsing uses pyarrow's multi-threaded CSV reader (a million rows in a fraction of a second);
only when a value does not parse does a slower per-column path find and drop the bad rows, so
that their row numbers can be reported.

Fatal problems (not a CSV, no time column, no close column, no parseable rows) raise one
:class:`~cryptodesk.errors.CsvImportError` naming the file, the row and the problem. Fixable
ones (duplicates, gaps, unparseable rows, bad bars) are handled by the policy in
:mod:`cryptodesk.data.quality` and listed in the returned report.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from cryptodesk.data.quality import QualityReport, check_quality
from cryptodesk.data.schema import COLUMNS, make_candles
from cryptodesk.data.timeframes import normalize_timeframe
from cryptodesk.errors import CsvImportError, DataError

SNIFF_BYTES = 64 * 1024
HEADER_SEARCH_LINES = 20
DELIMITERS = (",", ";", "\t", "|")
NULLS = ["", "null", "NULL", "NaN", "nan", "NA", "N/A", "n/a", "-", "None"]

# Accepted header names, normalised (lower case, spaces/underscores/dashes removed), in order
# of preference.
ALIASES: dict[str, tuple[str, ...]] = {
    "time": (
        "timestamp", "opentime", "datetime", "date", "time", "unix", "unixtimestamp", "ts",
        "t", "datetimeutc", "dateutc", "timeutc", "timestamputc", "starttime", "period",
    ),
    "open": ("open", "o", "openprice", "opening", "openingprice"),
    "high": ("high", "h", "highprice", "max"),
    "low": ("low", "l", "lowprice", "min"),
    "close": ("close", "c", "closeprice", "closing", "closingprice", "last", "price"),
    "volume": ("volume", "vol", "v", "basevolume", "volumebase", "volumefrom"),
}


@dataclass(frozen=True)
class _Layout:
    header_row: int  # 0-based line index of the header
    delimiter: str
    names: list[str]  # raw header names
    mapping: dict[str, int]  # canonical column -> position in names
    decimal_comma: bool


def read_candles_csv(
    path: str | Path,
    *,
    symbol: str,
    source: str = "csv",
    timeframe: str | None = None,
) -> tuple[pd.DataFrame, QualityReport]:
    """Read a candle CSV into canonical form and report its quality.

    Raises :class:`CsvImportError` for fatal problems; never another exception type for bad
    file content.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CsvImportError(path, f"cannot read the file: {exc.strerror or exc}") from exc
    return parse_candles_csv(raw, name=str(path), symbol=symbol, source=source, timeframe=timeframe)


def parse_candles_csv(
    raw: bytes,
    *,
    name: str = "<data>",
    symbol: str,
    source: str = "csv",
    timeframe: str | None = None,
) -> tuple[pd.DataFrame, QualityReport]:
    """Like :func:`read_candles_csv` for bytes already in memory (drag and drop, tests)."""
    if timeframe is not None:
        try:
            timeframe = normalize_timeframe(timeframe)
        except DataError as exc:
            raise CsvImportError(name, str(exc)) from None
    text_head = _decode_head(raw, name)
    layout = _find_layout(text_head, name)
    notes: list[str] = []
    table, dropped, first_bad = _read_table(raw, layout, name)
    times, bad_time = _parse_times(table.column(0), notes)
    values = {}
    for col in COLUMNS:
        if col in layout.mapping:
            values[col] = _as_float(table.column(col), layout.decimal_comma)
    if "close" not in values:  # pragma: no cover - _find_layout guarantees it
        raise CsvImportError(name, "no close column")
    close = values["close"]
    keep = ~bad_time & ~np.isnan(close)
    n_bad = int((~keep).sum())
    if n_bad:
        pos = int(np.flatnonzero(~keep)[0])
        first_bad = first_bad or (layout.header_row + 2 + pos)
        dropped += n_bad
    if not keep.any():
        row = layout.header_row + 2 if table.num_rows else None
        problem = "no parseable rows (every row lacks a valid time or close)"
        if table.num_rows == 0:
            problem = "no data rows below the header"
        raise CsvImportError(name, problem, row=row)
    if dropped:
        notes.append(
            f"dropped {dropped} unparseable row(s) (bad time, close or column count); "
            f"first at file line {first_bad}"
        )
    missing_cols = [c for c in ("open", "high", "low") if c not in values]
    if missing_cols:
        notes.append(f"no {'/'.join(missing_cols)} column(s): set to close")
        for col in missing_cols:
            values[col] = close
    if "volume" not in values:
        notes.append("no volume column: volume set to NaN")
        values["volume"] = np.full(len(close), np.nan)
    # One 2-D block, built once: pandas would otherwise copy the columns again to stack them.
    block = np.column_stack([values[c] for c in COLUMNS])
    if not keep.all():
        block, times = block[keep], times[keep]
    frame = pd.DataFrame(block, index=times, columns=list(COLUMNS), copy=False)
    duplicates = int(frame.index.duplicated(keep="last").sum())
    if duplicates or not frame.index.is_monotonic_increasing:
        frame = frame.sort_index(kind="stable")
        frame = frame[~frame.index.duplicated(keep="last")]
    try:
        candles = make_candles(frame, source=source, symbol=symbol, timeframe=timeframe)
    except DataError as exc:
        raise CsvImportError(name, str(exc)) from None
    tf = candles.attrs["timeframe"]
    report = check_quality(candles, tf, duplicates=duplicates, dropped_rows=dropped, notes=notes)
    return candles, report


# --------------------------------------------------------------------------- layout sniffing
def _decode_head(raw: bytes, name: str) -> str:
    head = raw[:SNIFF_BYTES]
    if not head.strip() and not raw.strip():  # scan the whole file only if its head is blank
        raise CsvImportError(name, "the file is empty")
    if b"\x00" in head:
        raise CsvImportError(name, "not a CSV file (binary content)")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise CsvImportError(name, "not UTF-8 (UTF-16 text); save the file as UTF-8 CSV")
    return head.decode("utf-8-sig", errors="replace")


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-\.\(\)\[\]\"']+", "", name.strip().lower())


def _match_columns(names: list[str]) -> dict[str, int]:
    normed = [_norm(n) for n in names]
    mapping: dict[str, int] = {}
    used: set[int] = set()
    for col, aliases in ALIASES.items():
        for alias in aliases:
            if alias in normed and normed.index(alias) not in used:
                idx = normed.index(alias)
                # "price" or "last" only stand in for close when no real close column exists
                mapping[col] = idx
                used.add(idx)
                break
        if col == "volume" and col not in mapping:
            # "Volume BTC", "Volume USDT": the first volume-like column is the base volume
            for idx, n in enumerate(normed):
                if n.startswith("volume") and idx not in used:
                    mapping[col] = idx
                    used.add(idx)
                    break
    return mapping


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return line.split(delimiter)


def _find_layout(head: str, name: str) -> _Layout:
    lines = head.splitlines()[:HEADER_SEARCH_LINES]
    best_missing: list[str] | None = None
    best_row = 1
    for row, line in enumerate(lines):
        if not line.strip():
            continue
        counts = {d: line.count(d) for d in DELIMITERS}
        delimiter = max(counts, key=lambda d: counts[d])
        if counts[delimiter] == 0:
            continue
        names = _split(line, delimiter)
        mapping = _match_columns(names)
        missing = [c for c in ("time", "close") if c not in mapping]
        if not missing:
            decimal_comma = delimiter == ";" and _has_decimal_commas(lines[row + 1: row + 6])
            return _Layout(row, delimiter, names, mapping, decimal_comma)
        if best_missing is None or len(missing) < len(best_missing):
            best_missing, best_row = missing, row + 1
    if best_missing is None:
        raise CsvImportError(name, "not a CSV file: no delimited header line found", row=1)
    wanted = " and ".join(f"no {m} column" for m in best_missing)
    hint = {
        "time": "a time column named e.g. date, time, timestamp or open_time",
        "close": "a close column named e.g. close or price",
    }
    needs = "; expected " + " and ".join(hint[m] for m in best_missing)
    raise CsvImportError(name, f"{wanted} in the header{needs}", row=best_row)


def _has_decimal_commas(lines: list[str]) -> bool:
    return any(re.search(r"(^|;)\s*-?\d+,\d+\s*(;|$)", line) for line in lines)


# --------------------------------------------------------------------------- parsing
def _read_table(raw: bytes, layout: _Layout, name: str) -> tuple[pa.Table, int, int | None]:
    """Read the mapped columns as a table with columns time, open, ... (present ones only).

    Returns the table, the number of rows skipped for a wrong column count, and the file
    line of the first such row.
    """
    skipped: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        skipped.append(row.number if row.number is not None else -1)
        return "skip"

    order = sorted(layout.mapping.items(), key=lambda kv: ["time", *COLUMNS].index(kv[0]))
    gen_names = [f"c{i}" for i in range(len(layout.names))]
    include = [gen_names[idx] for _, idx in order]
    numeric = {gen_names[idx] for col, idx in order if col != "time"}

    def read(typed: bool) -> pa.Table:
        types = {}
        if typed and not layout.decimal_comma:
            types = {c: pa.float64() for c in numeric}
        else:
            types = {c: pa.string() for c in numeric}
        return pacsv.read_csv(
            io.BytesIO(raw),
            read_options=pacsv.ReadOptions(
                skip_rows=layout.header_row + 1, column_names=gen_names, encoding="utf8",
                block_size=1 << 22,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=layout.delimiter, invalid_row_handler=on_invalid,
                newlines_in_values=False,
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=include, column_types=types, null_values=NULLS,
                strings_can_be_null=True, quoted_strings_can_be_null=True,
            ),
        )

    try:
        try:
            table = read(typed=True)
        except pa.ArrowInvalid:
            skipped.clear()
            table = read(typed=False)  # a value did not parse as a number: per-column path
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        message = str(exc).splitlines()[0]
        row_match = re.search(r"[Rr]ow #?(\d+)", message)
        row = int(row_match.group(1)) + layout.header_row if row_match else None
        raise CsvImportError(name, f"cannot parse the CSV: {message}", row=row) from None
    table = table.rename_columns([col for col, _ in order])
    first_bad = None
    if skipped:
        known = [n for n in skipped if n > 0]
        first_bad = min(known) + layout.header_row if known else None
    return table, len(skipped), first_bad


def _as_float(column: pa.ChunkedArray, decimal_comma: bool) -> np.ndarray:
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        return column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    series = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)
    text = series.astype("string").str.strip()
    if decimal_comma:
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


_EPOCH_UNITS = ((1e17, "ns"), (1e14, "us"), (1e11, "ms"), (0, "s"))


def _parse_times(column: pa.ChunkedArray, notes: list[str]) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Parse the time column to a UTC index; returns it and a mask of unparseable rows."""
    kind = column.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        if pa.types.is_date(kind):
            column = column.cast(pa.timestamp("s"))
            kind = column.type
        values = column.to_numpy(zero_copy_only=False)
        index = pd.DatetimeIndex(values)
        if kind.tz is None:
            notes.append("time stamps have no time zone: assumed UTC")
            index = index.tz_localize("UTC")
        else:
            index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        numbers = column.to_numpy(zero_copy_only=False).astype(np.float64)
        index, bad, unit = epoch_to_utc(numbers)
        notes.append(f"time stamps are epoch {unit}")
        return _finish_index(index, bad)
    else:
        text = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object).astype("string")
        text = text.str.strip()
        parsed = _parse_time_strings(text, notes)
        index = pd.DatetimeIndex(parsed)
    bad = np.asarray(index.isna())
    return _finish_index(index, bad)


def epoch_to_utc(numbers: np.ndarray) -> tuple[pd.DatetimeIndex, np.ndarray, str]:
    """Epoch numbers to a UTC index, the unit (s, ms, us or ns) told by their magnitude.

    Returns the index, a mask of values that are not finite or out of range (set to the epoch
    in the index), and the unit. Shared by every importer that meets epoch time stamps.
    """
    finite = numbers[np.isfinite(numbers)]
    magnitude = float(np.median(np.abs(finite))) if finite.size else 0.0
    unit = next(u for bound, u in _EPOCH_UNITS if magnitude >= bound)
    scale = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}[unit]
    with np.errstate(invalid="ignore", over="ignore"):
        ns = numbers * scale
        ok = np.isfinite(ns) & (ns > -6e18) & (ns < 6e18)
    ints = np.where(ok, ns, 0).astype(np.int64)
    index = pd.DatetimeIndex(ints.view("datetime64[ns]")).tz_localize("UTC")
    return index, ~ok, unit


def _parse_time_strings(text: pd.Series, notes: list[str]) -> pd.Series:
    sample = text.dropna().head(50)
    has_tz = bool(sample.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).any())
    if not has_tz:
        notes.append("time stamps have no time zone: assumed UTC")
    for fmt in ("ISO8601", "mixed"):
        try:
            return pd.to_datetime(text, utc=True, format=fmt, errors="coerce")
        except (ValueError, TypeError, OverflowError):
            continue
    return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")


def _finish_index(index: pd.DatetimeIndex, bad: np.ndarray) -> tuple[pd.DatetimeIndex, np.ndarray]:
    index = index.as_unit("ns")
    years = np.asarray(index.year, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        implausible = ~((years >= 1970) & (years <= 2200))
    bad = bad | implausible | np.asarray(index.isna())
    return index, bad
