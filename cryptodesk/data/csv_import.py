"""CSV import for the layouts people actually have.

Recognised without configuration: Yahoo (``Date,Open,High,Low,Close,Adj Close,Volume``),
exchange klines (``date,open,high,low,close,volume``), exchange exports with epoch seconds,
milliseconds or microseconds, CryptoDataDownload files (a URL line above the header), columns in
any order and case, extra columns ignored, ``,`` ``;`` tab or ``|`` delimiters, decimal commas
with ``;``, time stamps with or without a time zone (without one, UTC is assumed and noted).
Time stamps are read by :mod:`cryptodesk.data.timeparse`, shared with the text and series
importers: ``20240101`` is a date, and rows dated before 1970 or after now (plus a margin) are
dropped and reported.

Parsing uses pyarrow's CSV reader on the calling thread (a million rows in about half a
second). Not its thread pool: its workers called back into Python (for rows with a wrong
field count) and could still be doing so when the interpreter shut down after a refusal,
which aborted the process (exit 134) after the error had been printed. Only when a value does
not parse does a slower per-column path find and drop the bad rows, so that their line numbers
can be reported. Bytes that are not UTF-8 are replaced (and reported) before parsing, so a
stray Latin-1 byte costs at most the row whose time or close it hits.

Fatal problems (not a CSV, no time column, no close column, no usable rows) raise one
:class:`~cryptodesk.errors.CsvImportError` naming the file, the row and the problem. Fixable
ones (duplicates, gaps, unparseable or out-of-range rows, bad bars) are handled by the policy in
:mod:`cryptodesk.data.quality` and listed in the returned report.
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from cryptodesk.data.quality import QualityReport, check_quality
from cryptodesk.data.schema import COLUMNS, make_candles
from cryptodesk.data.timeframes import MAX_TIMEFRAME, normalize_timeframe
from cryptodesk.data.timeparse import ParsedTimes, line_list, parse_times
from cryptodesk.errors import CsvImportError, DataError

SNIFF_BYTES = 64 * 1024
HEADER_SEARCH_LINES = 20
DELIMITERS = (",", ";", "\t", "|")
NULLS = ["", "null", "NULL", "NaN", "nan", "NA", "N/A", "n/a", "-", "None"]
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BAD_BYTES = re.compile("[\udc80-\udcff]+")

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


@dataclass(frozen=True)
class _Table:
    """The mapped columns, and the file lines the reader skipped."""

    table: pa.Table
    skipped: np.ndarray  # sorted file lines that are not table rows (wrong field count)
    malformed: np.ndarray  # the non-blank ones among them


class _LineMap:
    """File line of each table row: rows follow the header one a line, minus skipped lines."""

    def __init__(self, first_line: int, skipped: np.ndarray) -> None:
        self.first = first_line
        # Row p lies after every skipped line j whose threshold (rows before it) is <= p.
        self.thresholds = skipped - first_line - np.arange(len(skipped))

    def lines(self, positions: np.ndarray) -> np.ndarray:
        positions = np.asarray(positions, dtype=np.int64)
        return self.first + positions + np.searchsorted(self.thresholds, positions, side="right")


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
    layout = _find_layout(_decode_head(raw, name), name)
    raw, bad_byte_lines = _valid_utf8(raw)
    read = _read_table(raw, layout, name)
    table = read.table
    times = parse_times(table.column("time"), subject="time stamps")
    notes = list(times.notes)
    if bad_byte_lines:
        notes.append(
            f"replaced bytes that are not UTF-8 with U+FFFD on {len(bad_byte_lines):,} line(s) "
            f"({line_list(bad_byte_lines)}); a time or close they hit drops its row"
        )
    values = {
        col: _as_float(table.column(col), layout.decimal_comma)
        for col in COLUMNS if col in layout.mapping
    }
    close = values["close"]
    lines = _LineMap(layout.header_row + 2, read.skipped)
    keep, dropped = _select_rows(table, times, close, read, lines, notes, name)
    _complete_columns(values, notes)
    # One 2-D block, built once: pandas would otherwise copy the columns again to stack them.
    block = np.column_stack([values[c] for c in COLUMNS])
    index = times.index
    if not keep.all():
        block, index = block[keep], index[keep]
    frame = pd.DataFrame(block, index=index, columns=list(COLUMNS), copy=False)
    duplicates = int(frame.index.duplicated(keep="last").sum())
    if duplicates or not frame.index.is_monotonic_increasing:
        frame = frame.sort_index(kind="stable")
        frame = frame[~frame.index.duplicated(keep="last")]
    candles = _to_candles(frame, name, source=source, symbol=symbol, timeframe=timeframe)
    tf = candles.attrs["timeframe"]
    report = check_quality(candles, tf, duplicates=duplicates, dropped_rows=dropped, notes=notes)
    return candles, report


def _complete_columns(values: dict[str, np.ndarray], notes: list[str]) -> None:
    """Open, high and low default to close, volume to NaN, each noted."""
    close = values["close"]
    missing_cols = [c for c in ("open", "high", "low") if c not in values]
    if missing_cols:
        notes.append(f"no {'/'.join(missing_cols)} column(s): set to close")
        for col in missing_cols:
            values[col] = close
    if "volume" not in values:
        notes.append("no volume column: volume set to NaN")
        values["volume"] = np.full(len(close), np.nan)


def _to_candles(frame: pd.DataFrame, name: str, *, source: str, symbol: str, timeframe: str | None) -> pd.DataFrame:
    """Canonical candles; a timeframe that cannot be inferred or is out of range is refused."""
    try:
        candles = make_candles(frame, source=source, symbol=symbol, timeframe=timeframe)
    except DataError as exc:
        raise CsvImportError(name, str(exc)) from None
    tf = candles.attrs["timeframe"]
    try:
        normalize_timeframe(tf)
    except DataError:  # only an inferred spacing can be out of range here
        raise CsvImportError(
            name, f"the rows are {tf} apart, longer than the longest timeframe ({MAX_TIMEFRAME}); "
            "check the time column"
        ) from None
    return candles


def _select_rows(
    table: pa.Table, times: ParsedTimes, close: np.ndarray, read: _Table, lines: _LineMap,
    notes: list[str], name: str,
) -> tuple[np.ndarray, int]:
    """Rows to keep, and how many were dropped; drops are noted with their file lines.

    Blank rows (every column empty) hold nothing and are skipped silently; a row with a
    time or close that does not parse, or a time outside the supported range, is dropped.
    """
    blank = _blank_rows(table)
    bad = ~blank & (times.unparseable | ~np.isfinite(close))
    outside = ~blank & ~bad & times.out_of_range
    keep = ~(blank | bad | outside)
    drops = [
        ("with the wrong number of fields", read.malformed),
        ("whose time or close cannot be parsed", lines.lines(np.flatnonzero(bad))),
        (f"dated outside the supported range {times.bounds.describe()}",
         lines.lines(np.flatnonzero(outside))),
    ]
    found = [(label, at) for label, at in drops if len(at)]
    if not keep.any():
        raise _nothing_usable(found, name)
    for label, at in found:
        notes.append(
            f"dropped {len(at):,} row(s) {label}, first at file line {int(at[0])} "
            f"(line(s) {line_list(at)})"
        )
    return keep, sum(len(at) for _, at in found)


def _nothing_usable(found: list[tuple[str, np.ndarray]], name: str) -> CsvImportError:
    if not found:
        return CsvImportError(name, "no data rows below the header")
    first = min(int(at[0]) for _, at in found)
    parts = "; ".join(f"{len(at):,} {label}" for label, at in found)
    return CsvImportError(name, f"no parseable rows: {parts}", row=first)


def _blank_rows(table: pa.Table) -> np.ndarray:
    if table.num_columns == 0 or table.num_rows == 0:
        return np.zeros(table.num_rows, dtype=bool)
    blank = pc.is_null(table.column(0))
    for col in table.columns[1:]:
        blank = pc.and_(blank, pc.is_null(col))
    return np.asarray(blank.to_numpy(zero_copy_only=False), dtype=bool)


# --------------------------------------------------------------------------- layout sniffing
def _decode_head(raw: bytes, name: str) -> str:
    head = raw[:SNIFF_BYTES]
    if not head.strip() and not raw.strip():  # scan the whole file only if its head is blank
        raise CsvImportError(name, "the file is empty")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # before the NUL test: UTF-16 is full of NULs
        raise CsvImportError(name, "not UTF-8 (UTF-16 text); save the file as UTF-8 CSV")
    if b"\x00" in head:
        raise CsvImportError(name, "not a CSV file (binary content)")
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
    # Split as pyarrow does (not str.splitlines, which also breaks at form feeds and the
    # like), so that the header's line index is the one the reader skips to.
    lines = _LINE_BREAK.split(head)[:HEADER_SEARCH_LINES]
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
def _valid_utf8(raw: bytes) -> tuple[bytes, list[int]]:
    """``raw`` as valid UTF-8, and the file lines where invalid bytes were replaced.

    pyarrow would otherwise hand such a time column over as binary, and pass rows with both a
    bad byte and a wrong field count to the invalid-row handler only after failing to decode
    them, printing "Exception ignored" and refusing the whole file.
    """
    if _is_utf8(raw):
        return raw, []
    text = raw.decode("utf-8", "surrogateescape")
    lines: list[int] = []
    line, last = 1, 0
    for match in _BAD_BYTES.finditer(text):
        line += text.count("\n", last, match.start())
        last = match.start()
        if not lines or lines[-1] != line:
            lines.append(line)
    return _BAD_BYTES.sub("\ufffd", text).encode("utf-8"), lines


def _is_utf8(raw: bytes) -> bool:
    """Arrow's validator: about three times faster than ``bytes.decode`` and copies nothing."""
    offsets = pa.py_buffer(np.array([0, len(raw)], dtype=np.int64).tobytes())
    whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(raw)])
    try:
        whole.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _read_table(raw: bytes, layout: _Layout, name: str) -> _Table:
    """Read the mapped columns as a table with columns time, open, ... (present ones only).

    Rows with a wrong field count are skipped and their file lines kept for the report.
    Single-threaded and from an Arrow buffer, so no Arrow worker thread ever runs Python code.
    """
    skipped: list[int] = []
    malformed: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        try:  # an exception here would only be printed ("Exception ignored") by pyarrow
            number = row.number if row.number is not None else 0
            skipped.append(number)
            if row.text.strip():
                malformed.append(number)
        except Exception:  # pragma: no cover - attribute access on a row cannot fail
            pass
        return "skip"

    order = sorted(layout.mapping.items(), key=lambda kv: ["time", *COLUMNS].index(kv[0]))
    gen_names = [f"c{i}" for i in range(len(layout.names))]
    include = [gen_names[idx] for _, idx in order]
    time_name = gen_names[layout.mapping["time"]]
    numeric = [c for c in include if c != time_name]

    def read(typed: bool) -> pa.Table:
        skipped.clear()
        malformed.clear()
        if typed and not layout.decimal_comma:
            types = {c: pa.float64() for c in numeric}
        else:  # a value did not parse: everything as text, parsed per column below
            types = {c: pa.string() for c in include}
        return pacsv.read_csv(
            pa.BufferReader(raw),
            read_options=pacsv.ReadOptions(
                skip_rows=layout.header_row + 1, column_names=gen_names, encoding="utf8",
                block_size=1 << 22, use_threads=False,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=layout.delimiter, invalid_row_handler=on_invalid,
                newlines_in_values=False, ignore_empty_lines=False,
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
            table = read(typed=False)
    except pa.ArrowException as exc:
        message = one_line(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        if message.startswith("Could not skip initial"):  # the header is the file's last line
            raise CsvImportError(name, "no data rows below the header") from None
        row_match = re.search(r"[Rr]ow #?(\d+)", message)
        row = int(row_match.group(1)) if row_match else None
        raise CsvImportError(name, f"cannot parse the CSV: {message}", row=row) from None
    table = table.rename_columns([col for col, _ in order])
    return _Table(table, np.sort(np.array(skipped, dtype=np.int64)), np.sort(np.array(malformed, dtype=np.int64)))


def one_line(text: str, limit: int = 200) -> str:
    """Text from the file, safe inside a one-line error message."""
    flat = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text[:limit])
    return flat + ("..." if len(text) > limit else "")


def _as_float(column: pa.ChunkedArray, decimal_comma: bool) -> np.ndarray:
    """A value column as float64; anything that is not a finite number becomes NaN."""
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        out = column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    else:
        series = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)
        text = series.astype("string").str.strip()
        if decimal_comma:
            text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        out = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(out).all():
        out = np.where(np.isfinite(out), out, np.nan)
    return out
