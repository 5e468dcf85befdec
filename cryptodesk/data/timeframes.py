"""Timeframe names (ccxt style: ``1m``, ``1h``, ``1d``, ``1w``) and their lengths.

The names are the ones exchanges and ccxt use, so a series fetched as ``1h`` and one imported
from a CSV with hourly rows land under the same key in the store.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from cryptodesk.errors import DataError

if TYPE_CHECKING:  # pandas is imported where it is used: checking a timeframe name (the GUI's
    import pandas as pd  # study editor, settings) must not wait for it

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
# Timeframes we infer from an index, in ascending length.
KNOWN_TIMEFRAMES = (
    "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w",
)
# Bars from one second to a (leap) year. Longer ones are typos or misread time stamps, and
# unbounded ones overflowed the nanosecond arithmetic downstream (``99999999999999999999d``).
MIN_SECONDS = 1
MAX_SECONDS = 366 * 86_400
MAX_TIMEFRAME = "366d"
_PATTERN = re.compile(r"([0-9]+)([smhdw])")
_MAX_DIGITS = 12  # more digits cannot be in range; int() of thousands of digits is refused
# Weekly buckets start on Monday 00:00 UTC, as on exchanges; 1970-01-05 was a Monday.
WEEK_ORIGIN_ISO = "1970-01-05T00:00:00+00:00"  # a Monday: weekly bars start on Mondays


def timeframe_seconds(timeframe: str) -> int:
    """Length of one bar in seconds.

    Raises :class:`DataError` for a malformed name or a bar outside 1s .. 366d, so every
    command that takes a timeframe refuses an absurd one with one line instead of overflowing.
    """
    text = str(timeframe).strip()
    match = _PATTERN.fullmatch(text)
    if not match:
        raise DataError(
            f"unknown timeframe {_shown(text)}; use a number and a unit (s, m, h, d, w), e.g. "
            f"{', '.join(KNOWN_TIMEFRAMES)}"
        )
    digits = match.group(1).lstrip("0") or "0"
    seconds = int(digits) * _UNIT_SECONDS[match.group(2)] if len(digits) <= _MAX_DIGITS else None
    if seconds is None or not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise DataError(
            f"timeframe {_shown(text)} is out of range: a bar lasts from 1s to {MAX_TIMEFRAME}"
        )
    return seconds


def _shown(text: str, limit: int = 40) -> str:
    """The user's timeframe for an error message, shortened if absurdly long."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def normalize_timeframe(timeframe: str) -> str:
    """Canonical spelling of a timeframe (``60m`` -> ``1h``, ``24h`` -> ``1d``)."""
    seconds = timeframe_seconds(timeframe)
    return seconds_to_timeframe(seconds)


def seconds_to_timeframe(seconds: int) -> str:
    """The shortest name for a bar length in seconds (``3600`` -> ``1h``)."""
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise DataError(f"bar length {seconds} s is not a whole number of seconds")


def timeframe_delta(timeframe: str) -> pd.Timedelta:
    """One bar as a Timedelta."""
    import pandas as pd

    return pd.Timedelta(seconds=timeframe_seconds(timeframe))


def bars_per_year(timeframe: str) -> float:
    """Bars in a 365-day year (crypto trades 24/7)."""
    return 365 * 86_400 / timeframe_seconds(timeframe)


def infer_timeframe(index: pd.DatetimeIndex) -> str | None:
    """Infer the timeframe from the most common spacing of a sorted index.

    The mode, not the minimum, so a few duplicates or an odd short bar do not fool it; gaps
    (longer spacings) do not either. Returns None when there are fewer than two bars.
    """
    if len(index) < 2:
        return None
    values = index.asi8 if index.unit == "ns" else index.as_unit("ns").asi8
    diffs = np.diff(values)
    diffs = diffs[diffs > 0]
    if diffs.size == 0:
        return None
    uniq, counts = np.unique(diffs, return_counts=True)
    seconds = int(np.rint(uniq[np.argmax(counts)] / 1e9))
    if seconds <= 0:
        return None
    # Snap to a known timeframe when within 1 %; otherwise name the spacing itself.
    for name in KNOWN_TIMEFRAMES:
        known = timeframe_seconds(name)
        if abs(known - seconds) <= 0.01 * known:
            return name
    return seconds_to_timeframe(seconds)
