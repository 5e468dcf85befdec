"""One way to read time stamps, shared by every importer (candles, texts, numeric series).

Why one module: the same column must give the same times whichever importer reads it, and a
rule fixed once (the supported range, how ``20240101`` is read) is fixed everywhere.

What is read:

- typed columns from pyarrow's CSV reader (timestamps with or without a zone, dates);
- numbers, or text that is numbers: epoch seconds, milliseconds, microseconds or nanoseconds,
  or ``YYYYMMDD`` calendar dates. Which reading applies is decided per column, not per value:
  the one that keeps most values inside the supported range, puts them after 1990 (crypto
  data are recent), and spaces them by a whole number of seconds (a plausible timeframe).
  ``20240101, 20240102`` are thus daily dates, not one-second bars on 1970-08-23;
- other text as ISO-8601 (naive times are taken as UTC, and the notes say so).

Nothing here raises for a bad value. Each row is either parsed, unparseable, or outside the
supported range (1970-01-01 up to a small margin after now), and the caller decides what to
drop and reports it with line numbers. Times outside the range never reach pandas'
nanosecond type, so years such as 9999 or 1 cannot overflow it.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

EARLIEST = pd.Timestamp("1970-01-01", tz="UTC")
# How far after "now" a time may lie: a day of time-zone slack plus a day for clock skew.
FUTURE_MARGIN = pd.Timedelta(days=2)
# Readings that put a column after this are preferred (crypto data begin in 2009).
MODERN = pd.Timestamp("1990-01-01", tz="UTC")
# How many values the spacing and era checks look at (the first ones, in file order).
SAMPLE = 5000
# Share of numeric values above which a text column is read as numbers.
NUMERIC_SHARE = 0.9
_NS = 1_000_000_000
_EPOCH_SCALE = {"s": _NS, "ms": 1_000_000, "us": 1_000, "ns": 1}
_COMPACT = "YYYYMMDD dates (daily, UTC midnight)"
_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d\d:?\d\d|UTC|GMT)$")


@dataclass(frozen=True)
class TimeRange:
    """The times an importer accepts (both ends included)."""

    earliest: pd.Timestamp
    latest: pd.Timestamp

    @classmethod
    def default(cls, now: pd.Timestamp | None = None) -> TimeRange:
        """1970-01-01 up to ``now`` plus :data:`FUTURE_MARGIN`."""
        now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
        now = now.tz_localize("UTC") if now.tz is None else now.tz_convert("UTC")
        return cls(EARLIEST, now.floor("s") + FUTURE_MARGIN)

    def describe(self) -> str:
        """``1970-01-01 .. 2025-06-03 14:00 UTC``, for reports."""
        return f"{self.earliest:%Y-%m-%d} .. {self.latest:%Y-%m-%d %H:%M} UTC"


@dataclass
class ParsedTimes:
    """A parsed time column: one entry per input value.

    ``index`` holds NaT wherever the value is unparseable or out of range; the three masks
    say which, so importers can report the two kinds of dropped rows apart.
    """

    index: pd.DatetimeIndex
    unparseable: np.ndarray
    too_early: np.ndarray
    too_late: np.ndarray
    reading: str
    bounds: TimeRange
    notes: list[str] = field(default_factory=list)

    @property
    def out_of_range(self) -> np.ndarray:
        """Parsed, but before ``bounds.earliest`` or after ``bounds.latest``."""
        return self.too_early | self.too_late

    @property
    def ok(self) -> np.ndarray:
        """Parsed and inside the range."""
        return ~(self.unparseable | self.too_early | self.too_late)


@dataclass
class _Reading:
    """One candidate reading of a column, as nanoseconds (valid where ``ok``)."""

    label: str
    ns: np.ndarray
    unparseable: np.ndarray
    too_early: np.ndarray
    too_late: np.ndarray
    naive: bool = False

    @property
    def ok(self) -> np.ndarray:
        return ~(self.unparseable | self.too_early | self.too_late)


def parse_times(
    values: pa.ChunkedArray | pa.Array | Sequence[object] | np.ndarray,
    *,
    bounds: TimeRange | None = None,
    subject: str = "times",
) -> ParsedTimes:
    """Parse a time column (see the module docstring) into UTC nanoseconds.

    ``values`` is a pyarrow column (the candle importer) or any sequence of Python values
    (texts, JSON values; containers count as unparseable). ``subject`` starts the notes
    ("time stamps are epoch ms"), so each importer keeps its own wording.
    """
    bounds = bounds or TimeRange.default()
    if isinstance(values, pa.ChunkedArray | pa.Array):
        reading = _parse_arrow(values, bounds)
    else:
        reading = _parse_strings(_as_strings(values), bounds)
    notes = []
    if reading.naive:
        notes.append(f"{subject} have no time zone: assumed UTC")
    if reading.label.startswith("epoch") or reading.label == _COMPACT:
        notes.append(f"{subject} are {reading.label}")
    ns = np.where(reading.ok, reading.ns, np.iinfo(np.int64).min)
    index = pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC")
    return ParsedTimes(index, reading.unparseable, reading.too_early, reading.too_late,
                       reading.label, bounds, notes)


def line_list(lines: Sequence[int] | np.ndarray, limit: int = 10, total: int | None = None) -> str:
    """``"3, 9, 12 and 40 more"``: line numbers for a report, the first ``limit`` of them.

    ``total`` is the number of lines in all when ``lines`` holds only the first few (reports
    keep ten, so that a million bad rows do not make a million-entry JSON report).
    """
    shown = ", ".join(str(int(n)) for n in lines[:limit])
    count = len(lines) if total is None else total
    rest = count - min(limit, len(lines))
    return f"{shown} and {rest:,} more" if rest > 0 else shown


# --------------------------------------------------------------------------- arrow columns
def _parse_arrow(column: pa.ChunkedArray | pa.Array, bounds: TimeRange) -> _Reading:
    kind = column.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return _temporal(column, bounds)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        floats, ints = _arrow_numbers(column)
        return _numeric(floats, ints, bounds)
    return _parse_strings(_arrow_strings(column), bounds)


def _temporal(column: pa.ChunkedArray | pa.Array, bounds: TimeRange) -> _Reading:
    """Typed timestamps or dates: compared with the range in their own unit, never overflowing."""
    kind = column.type
    if pa.types.is_date32(kind):
        scale = 86_400 * _NS
    elif pa.types.is_date64(kind):
        scale = 1_000_000
    else:
        scale = _EPOCH_SCALE[kind.unit]
    missing = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    as_int = pa.int32() if pa.types.is_date32(kind) else pa.int64()
    raw = column.cast(as_int).fill_null(0).to_numpy(zero_copy_only=False)
    reading = _scaled(raw.astype(np.int64, copy=False), missing, scale, "timestamps", bounds)
    has_zone = pa.types.is_timestamp(kind) and kind.tz is not None
    reading.naive = not has_zone and not reading.unparseable.all()
    return reading


def _arrow_numbers(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    floats = column.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False).astype(np.float64)
    ints = None
    if pa.types.is_signed_integer(column.type):
        ints = column.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    return floats, ints


def _arrow_strings(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Any other arrow column as stripped Python strings (None for nulls)."""
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pc.utf8_trim_whitespace(column).to_numpy(zero_copy_only=False)
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        values = column.to_pylist()
        return _as_strings([v.decode("utf-8", "replace") if v is not None else None for v in values])
    try:
        return _as_strings(column.cast(pa.string()).to_pylist())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return np.full(len(column), None, dtype=object)


# --------------------------------------------------------------------------- text
def _as_strings(values: Sequence[object] | np.ndarray) -> np.ndarray:
    """Stripped text per value; None for missing values, containers and booleans."""
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        if isinstance(value, str):
            out[i] = value.strip() or None
        elif isinstance(value, bool) or value is None:
            out[i] = None
        elif isinstance(value, int | float | np.integer | np.floating):
            out[i] = _number_text(value)
        else:  # lists, dicts, bytes...: not a time
            out[i] = None
    return out


def _number_text(value: int | float | np.integer | np.floating) -> str | None:
    if isinstance(value, int) and abs(value) >= 10**30:
        return None  # far outside any epoch range; str() of a huge int is slow or refused
    return str(value)


def _parse_strings(text: np.ndarray, bounds: TimeRange) -> _Reading:
    """Text as numbers when (nearly) all of it is numbers, else as ISO-8601; when neither
    clearly applies, the reading that keeps more values wins (ties go to ISO-8601)."""
    series = pd.Series(text, dtype=object)
    present = series.notna().to_numpy()
    numbers = _numbers(series, present) if present.any() else None
    if numbers is None:
        return _iso(series, present, bounds)
    floats, ints = numbers
    numeric = _numeric(floats, ints, bounds)
    if np.isfinite(floats).sum() >= NUMERIC_SHARE * present.sum():
        return numeric
    iso = _iso(series, present, bounds)
    return numeric if numeric.ok.sum() > iso.ok.sum() else iso


def _numbers(series: pd.Series, present: np.ndarray) -> tuple[np.ndarray, np.ndarray | None] | None:
    """The column as numbers (NaN where not one), or None when a sample shows it is not numeric.

    The sample decides first: converting a million ISO strings to numbers only to find that
    they are not is the slowest step an import could take.
    """
    sample = pd.to_numeric(series[present].head(200), errors="coerce")
    if sample.notna().mean() < 0.5:
        return None
    numeric = pd.to_numeric(series, errors="coerce")
    floats = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
    ints = numeric.to_numpy() if numeric.dtype == np.int64 else None
    return floats, ints


def _iso(series: pd.Series, present: np.ndarray, bounds: TimeRange) -> _Reading:
    parsed = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fmt in ("ISO8601", "mixed"):
            try:
                parsed = pd.DatetimeIndex(pd.to_datetime(series, utc=True, format=fmt, errors="coerce"))
                break
            except (ValueError, TypeError, OverflowError):
                continue
    n = len(series)
    if parsed is None or parsed.dtype.kind != "M":
        return _Reading("ISO-8601", np.zeros(n, np.int64), np.ones(n, dtype=bool),
                        np.zeros(n, dtype=bool), np.zeros(n, dtype=bool))
    missing = np.asarray(parsed.isna())
    reading = _scaled(parsed.asi8.copy(), missing, _EPOCH_SCALE[parsed.unit], "ISO-8601", bounds)
    sample = series[present].head(50).astype(str)
    has_zone = bool(sample.str.contains(_TZ_SUFFIX, regex=True).any())
    reading.naive = not has_zone and not reading.unparseable.all()
    return reading


# --------------------------------------------------------------------------- numbers
def _numeric(floats: np.ndarray, ints: np.ndarray | None, bounds: TimeRange) -> _Reading:
    """The best of the epoch and YYYYMMDD readings of a numeric column."""
    finite = np.isfinite(floats)
    if ints is None and _integral(floats[finite]):
        # Whole numbers that came as floats (a column with gaps): exact integer arithmetic, or
        # 1704067200123 ms would land a few dozen nanoseconds off its millisecond.
        ints = np.where(finite, floats, 0).astype(np.int64)
    candidates = []
    compact = _compact_dates(floats, bounds)
    if compact is not None:
        candidates.append(compact)
    for unit in _EPOCH_SCALE:
        candidates.append(_epoch(floats, ints, unit, bounds))
    scored = [(_score(c, int(finite.sum()), order), c) for order, c in enumerate(candidates)]
    return max(scored, key=lambda item: item[0])[1]


def _score(reading: _Reading, finite: int, order: int) -> tuple:
    """Most values kept (at least half), then after 1990, then a plausible spacing."""
    ok = reading.ok
    kept = int(ok.sum())
    sample = reading.ns[ok][:SAMPLE]
    modern = bool(sample.size) and bool(np.median(sample) >= MODERN.value)
    return (kept > 0 and 2 * kept >= finite, modern, _plausible_spacing(sample), kept, -order)


def _plausible_spacing(ns: np.ndarray) -> bool:
    """True when the commonest step is a whole number of seconds, at least one."""
    steps = np.diff(np.unique(ns))
    if steps.size == 0:
        return True
    values, counts = np.unique(steps, return_counts=True)
    step = int(values[np.argmax(counts)])
    return step >= _NS and step % _NS == 0


def _epoch(floats: np.ndarray, ints: np.ndarray | None, unit: str, bounds: TimeRange) -> _Reading:
    scale = _EPOCH_SCALE[unit]
    finite = np.isfinite(floats)
    if ints is not None:
        return _scaled(ints, ~finite, scale, f"epoch {unit}", bounds)
    with np.errstate(invalid="ignore", over="ignore"):
        ns_float = floats * scale
    early = finite & (ns_float < bounds.earliest.value)
    late = finite & (ns_float > bounds.latest.value)
    ok = finite & ~early & ~late
    ns = np.zeros(len(floats), dtype=np.int64)
    ns[ok] = np.rint(ns_float[ok]).astype(np.int64)
    return _Reading(f"epoch {unit}", ns, ~finite, early, late)


def _scaled(raw: np.ndarray, missing: np.ndarray, scale: int, label: str, bounds: TimeRange) -> _Reading:
    """Integers in some unit (``scale`` ns each) to ns, with the range checked before scaling."""
    lo = -(-bounds.earliest.value // scale)  # ceil: the first value inside the range
    hi = bounds.latest.value // scale
    early = ~missing & (raw < lo)
    late = ~missing & (raw > hi)
    ok = ~(missing | early | late)
    ns = np.zeros(len(raw), dtype=np.int64)
    ns[ok] = raw[ok].astype(np.int64) * scale
    return _Reading(label, ns, missing.copy(), early, late)


def _compact_dates(floats: np.ndarray, bounds: TimeRange) -> _Reading | None:
    """Eight-digit integers read as YYYYMMDD, if at least 90 % of the numbers are valid dates."""
    finite = np.isfinite(floats)
    with np.errstate(invalid="ignore"):
        eight = finite & (floats >= 10_000_101) & (floats <= 99_991_231) & (floats == np.floor(floats))
    if not finite.any() or eight.sum() < NUMERIC_SHARE * finite.sum():
        return None
    v = np.where(eight, floats, 19_700_101).astype(np.int64)
    year, month, day = v // 10_000, v // 100 % 100, v % 100
    valid = eight & (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
    month_no = np.where(valid, (year - 1970) * 12 + month - 1, 0)
    first = month_no.astype("datetime64[M]").astype("datetime64[D]")
    dates = first + np.where(valid, day - 1, 0).astype("timedelta64[D]")
    valid &= dates.astype("datetime64[M]").astype(np.int64) == month_no  # no 31 February
    if valid.sum() < NUMERIC_SHARE * finite.sum():
        return None
    days = dates.astype(np.int64)
    return _scaled(days, ~valid, 86_400 * _NS, _COMPACT, bounds)


def _integral(values: np.ndarray) -> bool:
    """All finite values whole numbers that a float holds exactly."""
    return bool(np.all((values == np.floor(values)) & (np.abs(values) < 2.0**53)))
