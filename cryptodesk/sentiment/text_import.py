"""Import the user's own texts (exported posts, headlines, forum threads) from CSV or JSON Lines.

What is recognised without configuration:

- CSV with ``,`` ``;`` tab or ``|`` delimiters and quoted fields (texts with commas, quotes and
  line breaks), or JSON Lines (one object per line; a single JSON array of objects also works);
- the time column (``timestamp``, ``created_at``, ``date`` ...), the text column (``text``,
  ``body``, ``content``, ``title`` ...), an optional source column (``source``, ``platform``,
  ``subreddit`` ...) and an optional weight column (``weight``). Any of them can be chosen
  explicitly; ``text_col="title,body"`` joins several columns with a space;
- ISO-8601 times with or without a zone (without one, UTC is assumed and noted), epoch
  seconds, milliseconds, microseconds or nanoseconds, and ``YYYYMMDD`` dates, read by
  :mod:`cryptodesk.data.timeparse` exactly as the candle importer reads them.

Policies, all listed in the returned :class:`TextImportReport`:

- the file must be UTF-8 (a UTF-8 BOM is fine). Anything else is refused with the line of the
  first bad byte and a hint, rather than guessed: a wrongly decoded text scores wrongly and
  silently;
- rows without a parseable time or with an empty text are dropped and counted;
- texts dated before 1970, or in the future (after now plus a two-day margin for time zones
  and clocks), are dropped and reported with their lines: no text can have been published
  after it was exported, so such a stamp is wrong, and a wrong stamp would place the text's
  sentiment at a moment it was not known;
- a CSV text may be as long as a JSON Lines one (any length up to the file size); files
  larger than 512 MiB are refused (split them: imports merge into a dataset);
- odd JSON values never stop an import: objects and arrays count as missing (a row whose
  time or text is one is dropped), integers of more than 100 digits stay text as written,
  and a line nested too deeply to parse is a malformed row;

The rows themselves are read by :mod:`cryptodesk.sentiment.text_rows` (shared with the
sentiment series importer), which holds those two limits.
- duplicates (same time, source and text, as produced by overlapping exports) are removed,
  keeping the first;
- missing weights are 1; negative or non-numeric weights drop the row.

The result is a frame with columns ``time`` (UTC), ``text``, ``source`` and ``weight``, sorted
by time: the input of :mod:`cryptodesk.sentiment.datasets`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cryptodesk.data.csv_import import one_line
from cryptodesk.data.timeparse import ParsedTimes, line_list, parse_times
from cryptodesk.sentiment.errors import TextImportError
from cryptodesk.sentiment.text_rows import (
    check_size,
    decode_utf8,
    read_csv_rows,
    read_jsonl_rows,
)

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
    dropped_too_early: int = 0
    dropped_future: int = 0
    first_bad_line: int | None = None
    dropped_lines: dict[str, list[int]] = field(default_factory=dict)
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
            ("no parseable time", "bad_time", self.dropped_bad_time),
            ("dated before 1970", "too_early", self.dropped_too_early),
            ("dated in the future", "future", self.dropped_future),
            ("empty text", "empty_text", self.dropped_empty_text),
            ("negative or non-numeric weight", "bad_weight", self.dropped_bad_weight),
            ("malformed row", "malformed", self.dropped_malformed),
        ]
        for label, key, count in drops:
            if count:
                lines = self.dropped_lines.get(key)
                where = f" (line(s) {line_list(lines, total=count)})" if lines else ""
                out.append(f"dropped ({label}): {count:,}{where}")
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
        check_size(path.stat().st_size, path)
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
    check_size(len(raw), name)
    text = decode_utf8(raw, name)
    if fmt is None:
        fmt = "jsonl" if text.lstrip()[:1] in ("{", "[") else "csv"
    fmt = fmt.strip().lower()
    if fmt in ("json", "ndjson"):
        fmt = "jsonl"
    if fmt == "csv":
        header, rows, lines, malformed = read_csv_rows(text, name)
    elif fmt == "jsonl":
        header, rows, lines, malformed = read_jsonl_rows(text, name)
    else:
        raise TextImportError(name, f"unknown format {one_line(repr(fmt))}; use csv or jsonl")
    mapping = _choose_columns(header, name, time_col, text_col, source_col, weight_col)
    report = TextImportReport(
        path=name, format="CSV" if fmt == "csv" else "JSON Lines",
        columns={k: ("+".join(v) if isinstance(v, list) else v) for k, v in mapping.items()},
        rows_read=len(rows) + len(malformed), dropped_malformed=len(malformed),
        first_bad_line=malformed[0] if malformed else None,
        dropped_lines={"malformed": malformed[:10]} if malformed else {},
    )
    frame = _build_frame(
        header, rows, lines, mapping, default_source, report, name, check_surrogates=fmt == "jsonl"
    )
    return frame, report


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
                    name, f"no column {one_line(repr(explicit))} (columns: {_listed(header)})"
                )
            return normed[key]
        for alias in ALIASES[role]:
            if alias in normed:
                return normed[alias]
        if required:
            flag = "--time-col" if role == "time" else "--text-col"
            raise TextImportError(
                name, f"no {role} column found (columns: {_listed(header)}); name it with {flag}"
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


def _listed(header: list[str]) -> str:
    """Column names for a one-line message (names from a file may hold line breaks)."""
    return one_line(", ".join(map(str, header)), limit=300)


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
    texts = _texts([column(c) for c in text_cols])
    if check_surrogates:  # JSON "\ud800" escapes give lone surrogates, which cannot be stored
        texts = [_storable(t) for t in texts]
    times = parse_times(column(mapping["time"]), subject="times")
    report.notes += times.notes
    if mapping["source"]:
        sources = [_as_text(v) or default_source for v in column(mapping["source"])]
    else:
        sources = [default_source] * len(rows)
    if mapping["weight"]:
        weights = np.array([_weight(v) for v in column(mapping["weight"])], dtype=np.float64)
    else:
        weights = np.ones(len(rows))
    empty = np.array([not t for t in texts], dtype=bool)
    bad_weight = ~np.isfinite(weights) | (weights < 0)
    keep = _drop_rows(report, np.asarray(lines, dtype=np.int64), times, empty, bad_weight, name)
    frame = pd.DataFrame({
        "time": times.index[keep],
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


_DROP_LABELS = {
    "bad_time": "no parseable time",
    "too_early": "dated before 1970",
    "future": "dated in the future",
    "empty_text": "empty text",
    "bad_weight": "negative or non-numeric weight",
}


def _drop_rows(
    report: TextImportReport, lines: np.ndarray, times: ParsedTimes, empty: np.ndarray,
    bad_weight: np.ndarray, name: str,
) -> np.ndarray:
    """Mask of rows to keep; counts each dropped row once, under its first reason, with lines."""
    reasons = {
        "bad_time": times.unparseable, "too_early": times.too_early, "future": times.too_late,
        "empty_text": empty, "bad_weight": np.asarray(bad_weight, dtype=bool),
    }
    taken = np.zeros(len(lines), dtype=bool)
    for key, mask in reasons.items():
        mine = mask & ~taken
        taken |= mine
        setattr(report, f"dropped_{key}", int(mine.sum()))
        if mine.any():
            report.dropped_lines[key] = lines[mine][:10].tolist()
    if report.dropped_future:
        report.notes.append(
            f"texts dated after {times.bounds.latest:%Y-%m-%d %H:%M} UTC (now plus a two-day "
            "margin) are dropped: a text cannot have been published after it was exported"
        )
    if taken.any():
        first = int(lines[np.flatnonzero(taken)[0]])
        report.first_bad_line = min(first, report.first_bad_line or first)
    if taken.all():
        counts = ", ".join(
            f"{int(getattr(report, f'dropped_{key}')):,} {_DROP_LABELS[key]}"
            for key in reasons if getattr(report, f"dropped_{key}")
        )
        raise TextImportError(
            name, f"no usable rows (each lacks a parseable time in range or a non-empty text): "
            f"{counts or 'no rows'}", row=report.first_bad_line,
        )
    return ~taken


def _texts(parts: list[list[object]]) -> list[str]:
    if len(parts) == 1:
        return [_as_text(v) for v in parts[0]]
    return [" ".join(s for s in (_as_text(v) for v in values) if s) for values in zip(*parts, strict=True)]


def _weight(value: object) -> float:
    """A row's weight: 1 when missing, NaN (the row is dropped) when not a number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 1.0
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return float("nan")
    try:
        return float(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        return float("nan")


def _storable(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _as_text(value: object) -> str:
    """A cell as stripped text; missing values, NaN, objects and arrays give ""."""
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and np.isnan(value):
        return ""
    return str(value).strip()


def _iso(ts: pd.Timestamp) -> str:
    return ts.isoformat().replace("+00:00", "Z")
