"""Quality report for a candle series: what is wrong with it, stated plainly.

Policies (also printed in the report so users know what was done):
- duplicate timestamps: the last row wins (newer exports correct older rows);
- gaps: kept as gaps; candles are never invented to fill them;
- impossible bars (high < low, open/close outside [low, high], non-positive prices) and missing
  values are reported, not changed: the user decides, and models skip NaN rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from cryptodesk.data.timeframes import timeframe_seconds

MAX_LISTED = 20


@dataclass(frozen=True)
class Gap:
    """Missing bars between two stored candles ``after`` and ``before``."""

    after: pd.Timestamp
    before: pd.Timestamp
    missing_bars: int


@dataclass
class QualityReport:
    """Everything ``data check`` and the import print about a series."""

    timeframe: str
    rows: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    gaps: list[Gap] = field(default_factory=list)
    missing_bars: int = 0
    misaligned: int = 0
    duplicates: int = 0
    high_below_low: int = 0
    open_outside_range: int = 0
    close_outside_range: int = 0
    non_positive: int = 0
    missing_values: int = 0
    dropped_rows: int = 0
    bad_bars: list[pd.Timestamp] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def longest_gap(self) -> Gap | None:
        return max(self.gaps, key=lambda g: g.missing_bars, default=None)

    @property
    def clean(self) -> bool:
        """True when nothing at all was found (gaps, bad bars, duplicates, missing values)."""
        return not (
            self.gaps or self.duplicates or self.high_below_low or self.open_outside_range
            or self.close_outside_range or self.non_positive or self.missing_values
            or self.dropped_rows or self.misaligned
        )

    def to_dict(self) -> dict:
        """JSON-ready form (timestamps as ISO-8601 strings)."""
        raw = asdict(self)
        raw["first"] = _iso(self.first)
        raw["last"] = _iso(self.last)
        raw["gaps"] = [
            {"after": _iso(g.after), "before": _iso(g.before), "missing_bars": g.missing_bars}
            for g in self.gaps
        ]
        raw["bad_bars"] = [_iso(t) for t in self.bad_bars]
        return raw

    def lines(self) -> list[str]:
        """Human-readable report, one finding per line."""
        out = [
            f"timeframe {self.timeframe}, {self.rows:,} bars, "
            f"{_iso(self.first) or '-'} .. {_iso(self.last) or '-'}"
        ]
        if self.gaps:
            longest = self.longest_gap
            assert longest is not None
            out.append(
                f"gaps: {len(self.gaps)} ({self.missing_bars:,} missing bars; longest "
                f"{longest.missing_bars} bars after {_iso(longest.after)}) - kept as gaps, not filled"
            )
            for gap in self.gaps[:MAX_LISTED]:
                out.append(f"  gap after {_iso(gap.after)}: {gap.missing_bars} missing bar(s)")
            if len(self.gaps) > MAX_LISTED:
                out.append(f"  ... and {len(self.gaps) - MAX_LISTED} more")
        else:
            out.append("gaps: none")
        if self.misaligned:
            out.append(f"irregular spacing: {self.misaligned} step(s) not a whole number of bars")
        out.append(
            f"duplicate timestamps: {self.duplicates}"
            + (" (kept the last row of each)" if self.duplicates else "")
        )
        checks = [
            ("bars with high < low", self.high_below_low),
            ("bars with open outside [low, high]", self.open_outside_range),
            ("bars with close outside [low, high]", self.close_outside_range),
            ("bars with non-positive prices", self.non_positive),
            ("missing values", self.missing_values),
        ]
        out += [f"{label}: {count}" for label, count in checks]
        if self.bad_bars:
            shown = ", ".join(_iso(t) or "" for t in self.bad_bars[:5])
            out.append(f"  first bad bars: {shown}")
        if self.dropped_rows:
            out.append(f"rows dropped: {self.dropped_rows} (see the notes for why)")
        out += self.notes
        return out


def check_quality(
    frame: pd.DataFrame,
    timeframe: str,
    *,
    duplicates: int = 0,
    dropped_rows: int = 0,
    notes: list[str] | None = None,
) -> QualityReport:
    """Build the report for a sorted, deduplicated candle frame.

    ``duplicates`` and ``dropped_rows`` come from the importer, which saw the raw rows.
    Vectorised: a million bars take a few milliseconds.
    """
    n = len(frame)
    report = QualityReport(
        timeframe=timeframe,
        rows=n,
        first=frame.index[0] if n else None,
        last=frame.index[-1] if n else None,
        duplicates=duplicates,
        dropped_rows=dropped_rows,
        notes=list(notes or []),
    )
    if n == 0:
        return report
    if frame.index.has_duplicates:  # a frame that was not deduplicated by the caller
        report.duplicates += int(frame.index.duplicated().sum())
    step_ns = timeframe_seconds(timeframe) * 1_000_000_000
    times = frame.index.as_unit("ns").asi8
    diffs = np.diff(times)
    gap_at = np.flatnonzero(diffs > step_ns)
    ratio = diffs[gap_at] / step_ns
    missing = np.floor(ratio + 1e-9).astype(np.int64) - 1
    report.misaligned = int(np.count_nonzero(diffs % step_ns)) if timeframe[-1] != "M" else 0
    gaps = [
        Gap(frame.index[i], frame.index[i + 1], int(m)) for i, m in zip(gap_at, missing, strict=True)
        if m > 0
    ]
    report.gaps = gaps
    report.missing_bars = int(sum(g.missing_bars for g in gaps))

    o, h, lo, c = (frame[k].to_numpy() for k in ("open", "high", "low", "close"))
    with np.errstate(invalid="ignore"):
        hl = h < lo
        o_out = (o < lo) | (o > h)
        c_out = (c < lo) | (c > h)
        nonpos = (o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0)
    nan_mask = frame.isna().to_numpy()
    report.high_below_low = int(hl.sum())
    report.open_outside_range = int((o_out & ~hl).sum())
    report.close_outside_range = int((c_out & ~hl).sum())
    report.non_positive = int(nonpos.sum())
    report.missing_values = int(nan_mask.sum())
    bad = hl | o_out | c_out | nonpos | nan_mask.any(axis=1)
    report.bad_bars = list(frame.index[np.flatnonzero(bad)[:MAX_LISTED]])
    return report


def _iso(ts: pd.Timestamp | None) -> str | None:
    if ts is None:
        return None
    return ts.isoformat().replace("+00:00", "Z")
