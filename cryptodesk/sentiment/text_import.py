"""Import the user's own texts (exported posts, headlines, forum threads) from CSV or JSON Lines.

What is recognised without configuration:

- CSV with ``,`` ``;`` tab or ``|`` delimiters and quoted fields (texts with commas, quotes and
  line breaks), or JSON Lines (one object per line; a single JSON array of objects also works);
- the time column (``timestamp``, ``created_at``, ``date`` ...), the text column (``text``,
  ``body``, ``content``, ``title`` ...), an optional source column (``source``, ``platform``,
  ``subreddit`` ...) and an optional weight column (``weight``). Any of them can be chosen
  explicitly; ``text_col="title,body"`` joins several columns with a space;
- ISO-8601 times with or without a zone (without one, UTC is assumed and noted) and epoch
  seconds, milliseconds, microseconds or nanoseconds.

Policies, all listed in the returned :class:`TextImportReport`:

- the file must be UTF-8 (a UTF-8 BOM is fine). Anything else is refused with the line of the
  first bad byte and a hint, rather than guessed: a wrongly decoded text scores wrongly and
  silently;
- rows without a parseable time or with an empty text are dropped and counted;
- duplicates (same time, source and text, as produced by overlapping exports) are removed,
  keeping the first;
- missing weights are 1; negative or non-numeric weights drop the row.

The result is a frame with columns ``time`` (UTC), ``text``, ``source`` and ``weight``, sorted
by time: the input of :mod:`cryptodesk.sentiment.datasets`.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cryptodesk.data.csv_import import epoch_to_utc
from cryptodesk.sentiment.errors import TextImportError

TEXT_COLUMNS = ("time", "text", "source", "weight")
ALIASES: dict[str, tuple[str, ...]] = {
    "time": (
        "timestamp", "time", "datetime", "date", "createdat", "created", "createdutc",
        "publishedat", "published", "pubdate", "postedat", "posted", "ts", "unix", "epoch",
        "timestamputc", "dateutc", "datetimeutc",
    ),
    "text": (
        "text", "body", "content", "message", "msg", "fulltext", "tweet", "post", "selftext",
        "comment", "headline", "title", "description", "summary",
    ),
    "source": ("source", "platform", "site", "channel", "subreddit", "feed", "origin", "outlet"),
    "weight": ("weight", "w", "importance"),
}
DELIMITERS = (",", ";", "\t", "|")


@dataclass
class TextImportReport:
    """What the import found and did, for the CLI and the GUI's import dialog."""

    path: str
    format: str
    columns: dict[str, str | None]
    rows_read: int = 0
    rows_kept: int = 0
    duplicates: int = 0
    dropped_bad_time: int = 0
    dropped_empty_text: int = 0
    dropped_bad_weight: int = 0
    dropped_malformed: int = 0
    first_bad_line: int | None = None
    first: str | None = None
    last: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)

    def lines(self) -> list[str]:
        """Human-readable report, one finding per line."""
        cols = ", ".join(f"{role}={name}" for role, name in self.columns.items() if name)
        out = [
            f"{self.format}: {self.rows_read:,} rows read, {self.rows_kept:,} kept "
            f"({self.first or '-'} .. {self.last or '-'})",
            f"columns: {cols}",
            f"duplicates removed: {self.duplicates:,}",
        ]
        drops = [
            ("no parseable time", self.dropped_bad_time),
            ("empty text", self.dropped_empty_text),
            ("negative or non-numeric weight", self.dropped_bad_weight),
            ("malformed row", self.dropped_malformed),
        ]
        for label, count in drops:
            if count:
                out.append(f"dropped ({label}): {count:,}")
        if self.first_bad_line is not None:
            out.append(f"first dropped row at file line {self.first_bad_line}")
        return out + self.notes


def read_texts(
    path: str | Path,
    *,
    fmt: str | None = None,
    time_col: str | None = None,
    text_col: str | None = None,
    source_col: str | None = None,
    weight_col: str | None = None,
    default_source: str = "",
) -> tuple[pd.DataFrame, TextImportReport]:
    """Read a CSV or JSON Lines file of texts (see the module docstring for the policies).

    ``fmt`` is ``"csv"`` or ``"jsonl"``; by default it follows the extension (``.jsonl``,
    ``.ndjson``, ``.json`` -> JSON Lines) and otherwise the first character of the file.
    ``default_source`` names the source of rows without a source column or value.
    Raises :class:`TextImportError` for fatal problems.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TextImportError(path, f"cannot read the file: {exc.strerror or exc}") from None
    if fmt is None and path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        fmt = "jsonl"
    return parse_texts(
        raw, name=str(path), fmt=fmt, time_col=time_col, text_col=text_col,
        source_col=source_col, weight_col=weight_col, default_source=default_source,
    )


def parse_texts(
    raw: bytes,
    *,
    name: str = "<data>",
    fmt: str | None = None,
    time_col: str | None = None,
    text_col: str | None = None,
    source_col: str | None = None,
    weight_col: str | None = None,
    default_source: str = "",
) -> tuple[pd.DataFrame, TextImportReport]:
    """Like :func:`read_texts` for bytes already in memory (drag and drop, tests)."""
    text = decode_utf8(raw, name)
    if fmt is None:
        fmt = "jsonl" if text.lstrip()[:1] in ("{", "[") else "csv"
    fmt = fmt.strip().lower()
    if fmt in ("json", "ndjson"):
        fmt = "jsonl"
    if fmt == "csv":
        header, rows, lines, malformed, first_bad = _read_csv(text, name)
    elif fmt == "jsonl":
        header, rows, lines, malformed, first_bad = _read_jsonl(text, name)
    else:
        raise TextImportError(name, f"unknown format {fmt!r}; use csv or jsonl")
    mapping = _choose_columns(header, name, time_col, text_col, source_col, weight_col)
    report = TextImportReport(
        path=name, format="CSV" if fmt == "csv" else "JSON Lines",
        columns={k: ("+".join(v) if isinstance(v, list) else v) for k, v in mapping.items()},
        rows_read=len(rows) + malformed, dropped_malformed=malformed, first_bad_line=first_bad,
    )
    frame = _build_frame(
        header, rows, lines, mapping, default_source, report, name, check_surrogates=fmt == "jsonl"
    )
    return frame, report


# --------------------------------------------------------------------------- decoding
def decode_utf8(raw: bytes, name: str) -> str:
    """Decode strictly as UTF-8 (BOM allowed); explain other encodings instead of guessing."""
    if not raw.strip():
        raise TextImportError(name, "the file is empty")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise TextImportError(name, "not UTF-8 (UTF-16 text); save the file as UTF-8")
    if b"\x00" in raw[:65536]:
        raise TextImportError(name, "not a text file (binary content, or UTF-16 without a BOM)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        byte = raw[exc.start:exc.start + 1].hex()
        hint = "save the file as UTF-8"
        try:
            raw.decode("cp1252")
            hint = "it looks like Windows-1252/Latin-1; " + hint
        except UnicodeDecodeError:
            pass
        raise TextImportError(
            name, f"not UTF-8 (byte 0x{byte} at offset {exc.start}); {hint}", row=line
        ) from None


# --------------------------------------------------------------------------- readers
def _read_csv(text: str, name: str) -> tuple[list[str], list[list[str]], list[int], int, int | None]:
    first_line = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = max(DELIMITERS, key=first_line.count)
    if first_line.count(delimiter) == 0:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
        while not any(h.strip() for h in header):
            header = next(reader)
    except StopIteration:
        raise TextImportError(name, "no header line") from None
    except csv.Error as exc:
        raise TextImportError(name, f"not a readable CSV header: {exc}", row=1) from None
    header = [h.strip() for h in header]
    width = len(header)
    rows: list[list[str]] = []
    lines: list[int] = []
    malformed = 0
    first_bad: int | None = None
    start = reader.line_num
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                start = reader.line_num
                continue
            if len(row) != width:
                malformed += 1
                first_bad = first_bad or start + 1
            else:
                rows.append(row)
                lines.append(start + 1)
            start = reader.line_num
    except csv.Error as exc:
        raise TextImportError(name, f"CSV syntax error: {exc}", row=reader.line_num) from None
    return header, rows, lines, malformed, first_bad


def _read_jsonl(text: str, name: str) -> tuple[list[str], list[list[object]], list[int], int, int | None]:
    records: list[dict] = []
    lines: list[int] = []
    malformed = 0
    first_bad: int | None = None
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TextImportError(name, f"not valid JSON: {exc.msg}", row=exc.lineno) from None
        for i, item in enumerate(data if isinstance(data, list) else []):
            if isinstance(item, dict):
                records.append(item)
                lines.append(i + 1)
            else:
                malformed += 1
                first_bad = first_bad or i + 1
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                item = None
            if isinstance(item, dict):
                records.append(item)
                lines.append(number)
            else:
                malformed += 1
                first_bad = first_bad or number
    if not records:
        raise TextImportError(name, "no JSON objects found (expected one object per line)", row=first_bad)
    header = list(dict.fromkeys(k for r in records for k in r))
    rows = [[r.get(k) for k in header] for r in records]
    return header, rows, lines, malformed, first_bad


# --------------------------------------------------------------------------- columns
def _norm(name: str) -> str:
    return re.sub(r"[\s_\-\.\(\)\[\]\"']+", "", str(name).strip().lower())


def _choose_columns(
    header: list[str], name: str, time_col: str | None, text_col: str | None,
    source_col: str | None, weight_col: str | None,
) -> dict[str, str | list[str] | None]:
    normed = {_norm(h): h for h in reversed(header)}  # first occurrence wins

    def pick(role: str, explicit: str | None, required: bool) -> str | None:
        if explicit:
            key = _norm(explicit)
            if key not in normed:
                raise TextImportError(
                    name, f"no column {explicit!r} (columns: {', '.join(map(str, header))})"
                )
            return normed[key]
        for alias in ALIASES[role]:
            if alias in normed:
                return normed[alias]
        if required:
            flag = "--time-col" if role == "time" else "--text-col"
            raise TextImportError(
                name, f"no {role} column found (columns: {', '.join(map(str, header))}); "
                f"name it with {flag}"
            )
        return None

    time_name = pick("time", time_col, True)
    texts: list[str] | str | None
    if text_col and "," in text_col:
        texts = [pick("text", part.strip(), True) or "" for part in text_col.split(",") if part.strip()]
    else:
        texts = pick("text", text_col, True)
    return {
        "time": time_name,
        "text": texts,
        "source": pick("source", source_col, False),
        "weight": pick("weight", weight_col, False),
    }


# --------------------------------------------------------------------------- frame
def _build_frame(
    header: list[str], rows: list[list], lines: list[int], mapping: dict, default_source: str,
    report: TextImportReport, name: str, *, check_surrogates: bool = False,
) -> pd.DataFrame:
    position = {h: i for i, h in enumerate(header)}

    def column(col: str) -> list[object]:
        i = position[col]
        return [r[i] for r in rows]

    text_cols = mapping["text"] if isinstance(mapping["text"], list) else [mapping["text"]]
    parts = [column(c) for c in text_cols]
    if len(parts) == 1:
        texts = [v.strip() if isinstance(v, str) else _as_text(v) for v in parts[0]]
    else:
        texts = [
            " ".join(s for s in (_as_text(v) for v in values) if s)
            for values in zip(*parts, strict=True)
        ]
    if check_surrogates:  # JSON "\ud800" escapes give lone surrogates, which cannot be stored
        texts = [_storable(t) for t in texts]
    times, bad_time, notes = parse_times(column(mapping["time"]))
    report.notes += notes
    if mapping["source"]:
        sources = [_as_text(v) or default_source for v in column(mapping["source"])]
    else:
        sources = [default_source] * len(rows)
    if mapping["weight"]:
        raw_w = pd.Series(column(mapping["weight"]), dtype=object)
        missing_w = raw_w.map(lambda v: v is None or str(v).strip() == "").to_numpy(dtype=bool)
        weights = pd.to_numeric(raw_w.where(~missing_w, "1"), errors="coerce").to_numpy(np.float64)
        bad_weight = ~np.isfinite(weights) | (weights < 0)
    else:
        weights = np.ones(len(rows))
        bad_weight = np.zeros(len(rows), dtype=bool)
    empty = np.array([not t.strip() for t in texts], dtype=bool)
    report.dropped_bad_time = int(bad_time.sum())
    report.dropped_empty_text = int((empty & ~bad_time).sum())
    report.dropped_bad_weight = int((bad_weight & ~empty & ~bad_time).sum())
    keep = ~(bad_time | empty | bad_weight)
    if not keep.all():
        first = lines[int(np.flatnonzero(~keep)[0])]
        report.first_bad_line = min(first, report.first_bad_line or first)
    if not keep.any():
        raise TextImportError(
            name, "no usable rows (each lacks a parseable time or a non-empty text)",
            row=report.first_bad_line,
        )
    frame = pd.DataFrame({
        "time": times[keep],
        "text": pd.array([t for t, k in zip(texts, keep, strict=True) if k], dtype="string"),
        "source": pd.array([s for s, k in zip(sources, keep, strict=True) if k], dtype="string"),
        "weight": weights[keep],
    })
    before = len(frame)
    frame = frame.drop_duplicates(subset=["time", "source", "text"], keep="first")
    report.duplicates = before - len(frame)
    frame = frame.sort_values("time", kind="stable").reset_index(drop=True)
    report.rows_kept = len(frame)
    report.first = _iso(frame["time"].iloc[0])
    report.last = _iso(frame["time"].iloc[-1])
    return frame


def _storable(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and np.isnan(value):
        return ""
    return str(value).strip()


def _iso(ts: pd.Timestamp) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def parse_times(values: list[object]) -> tuple[pd.DatetimeIndex, np.ndarray, list[str]]:
    """Parse mixed time values to a UTC index; returns it, a mask of bad rows, and notes.

    Numbers (or numeric strings) are epoch times whose unit is inferred from their magnitude;
    other strings are ISO-8601 (or anything pandas reads), naive ones taken as UTC.
    """
    notes: list[str] = []
    n = len(values)
    as_text = pd.Series([None if v is None else str(v).strip() for v in values], dtype=object)
    # Decide "numbers or strings" on a sample first: converting a million ISO strings to
    # numbers only to find they are not is the slowest step of an import.
    sample = pd.to_numeric(as_text.dropna().head(200), errors="coerce")
    if n and sample.notna().mean() >= 0.5:
        numeric = pd.to_numeric(as_text, errors="coerce")
    else:
        numeric = pd.Series(np.full(n, np.nan))
    numeric_share = float(numeric.notna().mean()) if n else 0.0
    numbers = numeric.to_numpy(dtype=np.float64)
    finite_all = numbers[np.isfinite(numbers)]
    compact_dates = bool(
        finite_all.size and np.all(finite_all == np.floor(finite_all))
        and np.all((finite_all >= 19_700_101) & (finite_all <= 22_001_231))
    )
    if n and numeric_share >= 0.9 and compact_dates:  # 20240131: a date, not epoch seconds
        parsed = pd.to_datetime(as_text, format="%Y%m%d", utc=True, errors="coerce")
        index = pd.DatetimeIndex(parsed)
        bad = np.asarray(index.isna())
        notes.append("times are dates written as YYYYMMDD (UTC midnight)")
    elif n and numeric_share >= 0.9:
        index, bad, unit = epoch_to_utc(numbers)
        notes.append(f"times are epoch {unit}")
    else:
        sample = as_text.dropna().head(50)
        has_tz = bool(sample.str.contains(r"(?:Z|[+-]\d\d:?\d\d|UTC|GMT)$", regex=True).any())
        if not has_tz:
            notes.append("times have no time zone: assumed UTC")
        parsed = None
        for fmt in ("ISO8601", "mixed"):
            try:
                parsed = pd.to_datetime(as_text, utc=True, format=fmt, errors="coerce")
                break
            except (ValueError, TypeError, OverflowError):
                continue
        if parsed is None:
            parsed = pd.Series(pd.NaT, index=as_text.index, dtype="datetime64[ns, UTC]")
        index = pd.DatetimeIndex(parsed).as_unit("ns")
        bad = np.asarray(index.isna())
    index = index.as_unit("ns")
    years = np.asarray(index.year, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = bad | ~((years >= 1970) & (years <= 2200))
    return index, bad, notes
