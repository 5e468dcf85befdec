"""Other numeric series (on-chain activity, funding rates, search trends) as as-of features.

``read_series_csv`` reads a CSV with a time column and one or more numeric columns, reports
its quality (:class:`SeriesQualityReport`), and :class:`SeriesStore` keeps it under
``<data>/series/<name>.parquet`` (atomic writes). :func:`join_series` adds the stored columns
to candles with :func:`cryptodesk.features.external.join_asof`: bar t gets the last value
*published* before its close.

Published is the key word. Many series are stamped with the *start* of the period they
describe (a daily on-chain count stamped 2024-01-01 00:00 is only known at the end of that
day). Joined as-is, such a value would leak a day of the future into every bar. ``delay``
shifts the stamps to the publication time at import (``delay="1d"`` for that daily count), and
the quality report warns when a series looks period-stamped and no delay was given.

Rows are read like texts (:mod:`cryptodesk.sentiment.text_import`: strict UTF-8, fields of any
length, rows with a wrong field count dropped and reported) and stamps like candles'
(:mod:`cryptodesk.data.timeparse`): rows stamped before 1970 or in the future (as written,
before any delay) are dropped and reported with their lines.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from cryptodesk.atomic import write_with
from cryptodesk.data.csv_import import one_line
from cryptodesk.data.timeframes import seconds_to_timeframe
from cryptodesk.data.timeparse import ParsedTimes, line_list, parse_times
from cryptodesk.errors import CsvImportError, DataError
from cryptodesk.paths import app_paths
from cryptodesk.sentiment.datasets import normalize_name
from cryptodesk.sentiment.errors import TextImportError
from cryptodesk.sentiment.text_import import ALIASES
from cryptodesk.sentiment.text_rows import DELIMITERS, decode_utf8, read_csv_rows

META_KEY = b"cryptodesk"
OUTLIER_Z = 8.0  # robust z-score (median/MAD) beyond which a value is reported as an outlier
MAX_LISTED = 10
MAX_DELAY = pd.Timedelta(days=366)  # publication lags are hours or days; more is a typo


@dataclass
class SeriesQualityReport:
    """What ``series import`` prints: coverage, spacing, gaps and suspicious values."""

    name: str
    rows: int
    columns: list[str]
    first: str | None
    last: str | None
    spacing: str | None = None
    gaps: int = 0
    longest_gap: str | None = None
    duplicates: int = 0
    dropped_bad_time: int = 0
    dropped_too_early: int = 0
    dropped_future: int = 0
    dropped_malformed: int = 0
    dropped_lines: dict[str, list[int]] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    non_numeric: dict[str, int] = field(default_factory=dict)
    outliers: dict[str, int] = field(default_factory=dict)
    constant: list[str] = field(default_factory=list)
    longest_flat_run: dict[str, int] = field(default_factory=dict)
    delay: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [
            f"{self.name}: {self.rows:,} rows, columns {', '.join(self.columns)}, "
            f"{self.first or '-'} .. {self.last or '-'}",
            f"typical spacing: {self.spacing or '-'}; gaps (> 1.5 x spacing): {self.gaps}"
            + (f", longest {self.longest_gap}" if self.longest_gap else ""),
            f"duplicate times: {self.duplicates} (kept the last row of each)",
        ]
        for label, key in (("no parseable time", "bad_time"), ("dated before 1970", "too_early"),
                           ("dated in the future", "future"), ("wrong number of fields", "malformed")):
            count = getattr(self, f"dropped_{key}")
            if count:
                lines = self.dropped_lines.get(key)
                where = f" (line(s) {line_list(lines, total=count)})" if lines else ""
                out.append(f"rows dropped ({label}): {count}{where}")
        for label, counts in (("missing values", self.missing), ("non-numeric values", self.non_numeric),
                              (f"outliers (robust z > {OUTLIER_Z:g})", self.outliers)):
            found = {k: v for k, v in counts.items() if v}
            out.append(f"{label}: " + (", ".join(f"{k} {v}" for k, v in found.items()) or "none"))
        if self.constant:
            out.append(f"constant columns (carry no information): {', '.join(self.constant)}")
        stale = {k: v for k, v in self.longest_flat_run.items() if v >= 10}
        if stale:
            out.append("long runs of repeated values: " + ", ".join(f"{k} {v}" for k, v in stale.items()))
        out.append(f"publication delay applied: {self.delay or 'none'}")
        return out + self.notes


def read_series_csv(
    path: str | Path,
    *,
    name: str,
    time_col: str | None = None,
    columns: list[str] | None = None,
    delay: str | None = None,
) -> tuple[pd.DataFrame, SeriesQualityReport]:
    """Read a numeric series CSV (see module docstring); raises :class:`CsvImportError`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CsvImportError(path, f"cannot read the file: {exc.strerror or exc}") from None
    return parse_series_csv(raw, name=name, source=str(path), time_col=time_col, columns=columns, delay=delay)


def parse_series_csv(
    raw: bytes,
    *,
    name: str,
    source: str = "<data>",
    time_col: str | None = None,
    columns: list[str] | None = None,
    delay: str | None = None,
) -> tuple[pd.DataFrame, SeriesQualityReport]:
    """Like :func:`read_series_csv` for bytes in memory. Returns (frame, report).

    The frame has a UTC DatetimeIndex (publication times, after ``delay``) and float64
    columns named ``<name>`` (one value column) or ``<name>_<column>``.
    """
    name = normalize_name(name)
    shift = _delay(delay, source)
    table, lines, malformed, delimiter = _read_rows(raw, source)
    header = list(table.columns)
    tcol, value_cols = _pick_columns(header, source, time_col, columns)
    times = parse_times(table[tcol].tolist(), subject="times")
    notes = list(times.notes)
    values, non_numeric, missing = _value_columns(table, value_cols, delimiter == ";", bool(columns), notes)
    if not values:
        raise CsvImportError(source, "no numeric value column found; name them with --columns")
    keep = times.ok
    if not keep.any():
        first = int(lines[0]) if len(lines) else None
        raise CsvImportError(source, _no_time_problem(times, len(lines)), row=first)
    out_names = _column_names(name, list(values))
    frame = pd.DataFrame({out_names[c]: v[keep] for c, v in values.items()},
                         index=pd.DatetimeIndex(times.index[keep], name="time"))
    frame.index = frame.index + shift
    duplicates = int(frame.index.duplicated(keep="last").sum())
    frame = frame.sort_index(kind="stable")
    frame = frame[~frame.index.duplicated(keep="last")]
    report = quality_report(frame, name=name, duplicates=duplicates,
                            dropped_bad_time=int(times.unparseable.sum()), notes=notes, delay=delay)
    _report_drops(report, times, lines, malformed)
    report.missing = {out_names[k]: v for k, v in missing.items() if k in out_names}
    report.non_numeric = {out_names[k]: v for k, v in non_numeric.items() if k in out_names}
    return frame, report


def _delay(delay: str | None, source: str) -> pd.Timedelta:
    """The publication delay; at most :data:`MAX_DELAY`, never negative."""
    if not delay:
        return pd.Timedelta(0)
    from cryptodesk.sentiment.aggregate import parse_duration

    try:
        with warnings.catch_warnings():  # pandas' deprecation of "d" is not the user's concern
            warnings.simplefilter("ignore")
            shift = parse_duration(delay, "delay")
    except DataError as exc:
        raise CsvImportError(source, str(exc)) from None
    if shift < pd.Timedelta(0):
        raise CsvImportError(source, "delay must not be negative (that would read the future)")
    if shift > MAX_DELAY:
        raise CsvImportError(source, f"delay {one_line(repr(delay))} is longer than a year (366d)")
    return shift


def _read_rows(raw: bytes, source: str) -> tuple[pd.DataFrame, np.ndarray, list[int], str]:
    """The cells as text, the file line of each row, malformed lines, and the delimiter."""
    try:
        text = decode_utf8(raw, source)
        header, rows, lines, malformed = read_csv_rows(text, source)
    except TextImportError as exc:
        raise CsvImportError(source, exc.problem, row=exc.row) from None
    first_line = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = max(DELIMITERS, key=first_line.count)
    table = pd.DataFrame(rows, columns=range(len(header)), dtype=object)
    table.columns = _unique(header)
    return table, np.asarray(lines, dtype=np.int64), malformed, delimiter


def _unique(header: list[str]) -> list[str]:
    """Header names made unique as pandas does (``a``, ``a.1``), so each names one column."""
    seen: dict[str, int] = {}
    out = []
    for h in header:
        n = seen.get(h, 0)
        seen[h] = n + 1
        out.append(h if n == 0 else f"{h}.{n}")
    return out


def _pick_columns(
    header: list[str], source: str, time_col: str | None, columns: list[str] | None
) -> tuple[str, list[str]]:
    normed = {_norm(h): h for h in reversed(header)}
    listed = one_line(", ".join(header), limit=300)
    if time_col:
        tcol = normed.get(_norm(time_col))
        if tcol is None:
            raise CsvImportError(source, f"no column {one_line(repr(time_col))} (columns: {listed})")
    else:
        tcol = next((normed[a] for a in ALIASES["time"] if a in normed), None)
        if tcol is None:
            raise CsvImportError(source, f"no time column found (columns: {listed}); name it with --time-col")
    if not columns:
        return tcol, [h for h in header if h != tcol]
    value_cols = []
    for c in columns:
        found = normed.get(_norm(c))
        if found is None:
            raise CsvImportError(source, f"no column {one_line(repr(c))} (columns: {listed})")
        value_cols.append(found)
    return tcol, value_cols


def _value_columns(
    table: pd.DataFrame, value_cols: list[str], decimal_comma: bool, explicit: bool, notes: list[str]
) -> tuple[dict[str, np.ndarray], dict[str, int], dict[str, int]]:
    values: dict[str, np.ndarray] = {}
    non_numeric: dict[str, int] = {}
    missing: dict[str, int] = {}
    for col in value_cols:
        raw_col = table[col].astype(str).str.strip()
        empty = raw_col.str.lower().isin(["", "na", "n/a", "nan", "null", "none", "-"])
        cleaned = raw_col.str.replace(r"[\s%_]", "", regex=True)
        if decimal_comma:
            cleaned = cleaned.str.replace(",", ".", regex=False)
        numbers = pd.to_numeric(cleaned.where(~empty), errors="coerce").to_numpy(dtype=np.float64)
        numbers = np.where(np.isfinite(numbers), numbers, np.nan)
        bad = np.isnan(numbers) & ~empty.to_numpy()
        if not explicit and bad.sum() > 0.5 * max(1, (~empty).sum()):
            notes.append(f"column {one_line(repr(col))} skipped: not numeric")
            continue
        non_numeric[col] = int(bad.sum())
        missing[col] = int(empty.sum())
        values[col] = numbers
    return values, non_numeric, missing


def _no_time_problem(times: ParsedTimes, rows: int) -> str:
    if rows == 0:
        return "no data rows below the header"
    if times.out_of_range.any():
        return (f"no row has a parseable time inside {times.bounds.describe()} "
                f"({int(times.out_of_range.sum())} outside it)")
    return "no row has a parseable time"


def _report_drops(report: SeriesQualityReport, times: ParsedTimes, lines: np.ndarray, malformed: list[int]) -> None:
    """Counts and first lines of the rows dropped for their stamp or their field count."""
    for key, mask in (("bad_time", times.unparseable), ("too_early", times.too_early),
                      ("future", times.too_late)):
        setattr(report, f"dropped_{key}", int(mask.sum()))
        if mask.any():
            report.dropped_lines[key] = lines[mask][:10].tolist()
    report.dropped_malformed = len(malformed)
    if malformed:
        report.dropped_lines["malformed"] = malformed[:10]


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-\.\(\)\[\]\"']+", "", str(name).strip().lower())


def _column_names(name: str, cols: list[str]) -> dict[str, str]:
    base = name.replace("-", "_")
    if len(cols) == 1:
        return {cols[0]: base}
    out = {}
    for c in cols:
        slug = re.sub(r"[^a-z0-9]+", "_", c.lower()).strip("_") or "value"
        out[c] = f"{base}_{slug}"
    return out


def quality_report(
    frame: pd.DataFrame, *, name: str, duplicates: int = 0, dropped_bad_time: int = 0,
    notes: list[str] | None = None, delay: str | None = None,
) -> SeriesQualityReport:
    """Quality of a sorted, deduplicated numeric series. Vectorised."""
    n = len(frame)
    report = SeriesQualityReport(
        name=name, rows=n, columns=list(frame.columns),
        first=_iso(frame.index[0]) if n else None, last=_iso(frame.index[-1]) if n else None,
        duplicates=duplicates, dropped_bad_time=dropped_bad_time, notes=list(notes or []),
        delay=delay,
    )
    if n >= 2:
        diffs = np.diff(frame.index.asi8) / 1e9
        spacing = float(np.median(diffs))
        if spacing > 0:
            report.spacing = seconds_to_timeframe(round(spacing)) if spacing >= 1 else f"{spacing:.3f}s"
            gaps = diffs > 1.5 * spacing
            report.gaps = int(gaps.sum())
            if report.gaps:
                report.longest_gap = str(pd.Timedelta(seconds=float(diffs.max())))
            stamps = frame.index
            midnight = bool((stamps.hour == 0).all() and (stamps.minute == 0).all())
            if spacing >= 86_400 and midnight and not delay:
                report.notes.append(
                    "looks period-stamped (daily values at 00:00): if each value describes the "
                    "day that starts at its stamp, re-import with --delay 1d, or bars will see "
                    "a day of the future"
                )
    for col in frame.columns:
        x = frame[col].to_numpy(dtype=np.float64)
        finite = x[np.isfinite(x)]
        if finite.size == 0:
            continue
        if np.all(finite == finite[0]):
            report.constant.append(col)
        med = np.median(finite)
        dev = np.abs(finite - med)
        scale = np.median(dev) * 1.4826
        if scale == 0:  # over half the values equal: fall back to the mean absolute deviation
            scale = dev.mean() * 1.2533
        report.outliers[col] = int((dev / scale > OUTLIER_Z).sum()) if scale > 0 else 0
        same = np.concatenate(([False], finite[1:] == finite[:-1]))
        report.longest_flat_run[col] = _longest_true_run(same) + 1 if same.any() else 1
    return report


def _longest_true_run(mask: np.ndarray) -> int:
    if not mask.any():
        return 0
    padded = np.concatenate(([0], mask.astype(np.int8), [0]))
    edges = np.diff(padded)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return int((ends - starts).max())


def _iso(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class ExternalSeriesInfo:
    """A stored external series (funding rates, an index...): what ``series list`` prints.
    Not :class:`cryptodesk.data.store.SeriesInfo`, which describes a stored candle series."""

    name: str
    rows: int
    columns: list[str]
    first: str | None
    last: str | None
    size_bytes: int
    meta: dict


class SeriesStore:
    """Imported numeric series under ``<data>/series`` (one Parquet file each, atomic)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else app_paths().data / "series"

    def path(self, name: str) -> Path:
        return self.root / f"{normalize_name(name)}.parquet"

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.stem for p in self.root.glob("*.parquet"))

    def write(self, name: str, frame: pd.DataFrame, report: SeriesQualityReport, source_file: str | None = None) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        meta = {
            "name": normalize_name(name), "source_file": source_file, "delay": report.delay,
            "columns": list(frame.columns), "rows": len(frame), "first": report.first,
            "last": report.last, "quality": report.to_dict(),
            "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        table = pa.Table.from_pandas(frame, preserve_index=True)
        schema_meta = dict(table.schema.metadata or {})
        schema_meta[META_KEY] = json.dumps(meta).encode("utf-8")
        table = table.replace_schema_metadata(schema_meta)
        write_with(self.path(name), lambda tmp: pq.write_table(table, tmp, compression="zstd"))

    def read(self, name: str) -> tuple[pd.DataFrame, dict]:
        import pyarrow.parquet as pq

        path = self.path(name)
        if not path.is_file():
            raise DataError(f"no imported series {name!r} (stored: {', '.join(self.names()) or 'none'})")
        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(META_KEY)
        meta = json.loads(raw.decode("utf-8")) if raw else {}
        frame = table.to_pandas()
        frame.index = pd.DatetimeIndex(frame.index).tz_convert("UTC").as_unit("ns")
        return frame, meta

    def info(self, name: str) -> ExternalSeriesInfo:
        import pyarrow.parquet as pq

        path = self.path(name)
        if not path.is_file():
            raise DataError(f"no imported series {name!r}")
        raw = (pq.read_schema(path).metadata or {}).get(META_KEY)
        meta = json.loads(raw.decode("utf-8")) if raw else {}
        return ExternalSeriesInfo(normalize_name(name), int(meta.get("rows", 0)), list(meta.get("columns", [])),
                          meta.get("first"), meta.get("last"), path.stat().st_size, meta)

    def list(self) -> list[ExternalSeriesInfo]:
        return [self.info(n) for n in self.names()]

    def delete(self, name: str) -> bool:
        path = self.path(name)
        if not path.is_file():
            return False
        path.unlink()
        return True


def join_series(
    candles: pd.DataFrame, name: str, *, max_age: str | None = None, store: SeriesStore | None = None
) -> pd.DataFrame:
    """Candles with an imported series' columns joined as-of (last value published before each
    bar's close; see :func:`cryptodesk.features.external.join_asof`).

    Records the join in ``attrs["external_sources"]`` like
    :func:`cryptodesk.sentiment.aggregate.sentiment_features` does.
    """
    from cryptodesk.features.external import join_asof

    frame, _ = (store or SeriesStore()).read(name)
    out = join_asof(candles, frame, list(frame.columns), max_age=max_age)
    sources = dict(candles.attrs.get("external_sources", {}))
    sources[normalize_name(name)] = {
        "kind": "series", "series": normalize_name(name), "max_age": max_age,
        "columns": list(frame.columns),
    }
    out.attrs["external_sources"] = sources
    return out
