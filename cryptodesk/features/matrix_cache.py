"""The feature matrix of a frame that extends (or is a prefix of) one seen a moment ago.

Why: a walk-forward refits on ``candles[:o]`` thirteen times or more, and each fit, its
conformal calibration copy and each block of forecasts asked for the features of nearly the
same rows again (52 full computations in a daily WF1 run of LightGBM). Row t of
:func:`~cryptodesk.features.builders.feature_matrix` depends on rows ``t - warmup + 1 .. t``
only, so the rows of a prefix are the first rows of the whole, and the rows added by an
extension can be computed on the extension plus a warm-up tail.

Nothing is trusted: a frame is served from the cache only when its index and every column the
spec reads equal the cached ones on the rows they share (NaN equal to NaN), checked on each
call. Anything else is computed afresh. Served matrices are read-only views.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cryptodesk.features.builders import feature_matrix
from cryptodesk.features.spec import FeatureSpec

MAX_ENTRIES = 4  # (spec, timeframe) pairs kept: a run's models share one or two
MIN_EXTENSION_SHARE = 0.5  # extend only when at least half the rows are already cached


@dataclass
class _Entry:
    index: np.ndarray  # int64 nanoseconds
    columns: dict[str, np.ndarray]
    matrix: np.ndarray


_entries: OrderedDict[tuple[FeatureSpec, str, str], _Entry] = OrderedDict()
_lock = threading.Lock()


def spec_columns(spec: FeatureSpec) -> list[str]:
    """The frame columns :func:`feature_matrix` reads for ``spec``."""
    cols = ["close"]
    if spec.atr_window:
        cols += ["high", "low"]
    if spec.volume_z_window:
        cols.append("volume")
    return cols + [c for c in spec.external if c not in cols]


def cached_feature_matrix(frame: pd.DataFrame, spec: FeatureSpec,
                          timeframe: str | None) -> np.ndarray:
    """:func:`feature_matrix` of ``frame`` (read-only), reusing the rows computed for a frame
    that shares its first rows. Without a ``timeframe`` the builder infers one from the frame:
    that is computed afresh, as the cache keys on the timeframe."""
    names = spec_columns(spec)
    if timeframe is None or any(name not in frame.columns for name in names) \
            or not isinstance(frame.index, pd.DatetimeIndex):
        return feature_matrix(frame, spec, timeframe)  # let the builder infer, raise or cope
    index = frame.index.asi8
    columns = {name: np.asarray(frame[name].to_numpy(), dtype=np.float64) for name in names}
    key = (spec, timeframe, str(frame.index.tz))  # calendar features read local time
    n = len(frame)
    with _lock:
        entry = _entries.get(key)
        if entry is not None:
            _entries.move_to_end(key)
    shared = _shared_rows(entry, index, columns) if entry is not None else 0
    if entry is not None and shared == n:
        return entry.matrix[:n]
    warmup = spec.warmup()
    if entry is not None and shared == len(entry.index) and shared >= MIN_EXTENSION_SHARE * n:
        start = max(0, shared - warmup + 1)
        tail = feature_matrix(frame.iloc[start:], spec, timeframe)[shared - start:]
        matrix = np.vstack([entry.matrix, tail])
    else:
        matrix = feature_matrix(frame, spec, timeframe)
    matrix.flags.writeable = False
    with _lock:
        _entries[key] = _Entry(index.copy(), {k: v.copy() for k, v in columns.items()}, matrix)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return matrix


def clear() -> None:
    """Forget every cached matrix (tests; a long-lived process that wants the memory back)."""
    with _lock:
        _entries.clear()


def _shared_rows(entry: _Entry, index: np.ndarray, columns: dict[str, np.ndarray]) -> int:
    """Rows at the start of the frame equal to the cached ones: all of the shorter of the two,
    or 0 when anything on those rows differs."""
    k = min(len(entry.index), len(index))
    if k == 0 or entry.columns.keys() != columns.keys():
        return 0
    if not np.array_equal(entry.index[:k], index[:k]):
        return 0
    for name, values in columns.items():
        if not np.array_equal(entry.columns[name][:k], values[:k], equal_nan=True):
            return 0
    return k
