"""CSV exports, written atomically. Timestamps are ISO-8601 UTC (``2024-01-01T00:00:00Z``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cryptodesk.atomic import atomic_path
from cryptodesk.data.schema import COLUMNS


def iso_utc(index: pd.DatetimeIndex) -> pd.Index:
    """Format a UTC index as ISO-8601 strings with a ``Z`` suffix."""
    return index.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def write_candles_csv(candles: pd.DataFrame, out: Path) -> None:
    """Write candles as ``timestamp,open,high,low,close,volume`` (re-importable)."""
    frame = pd.DataFrame({c: candles[c].to_numpy() for c in COLUMNS})
    frame.insert(0, "timestamp", iso_utc(candles.index))
    write_frame_csv(frame, out)


def write_frame_csv(frame: pd.DataFrame, out: Path) -> None:
    """Write any frame as CSV (no index) atomically, full float precision."""
    with atomic_path(Path(out)) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.10g", lineterminator="\n")
