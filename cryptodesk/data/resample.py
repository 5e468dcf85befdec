"""Resampling candles to a coarser timeframe (1h -> 4h -> 1d -> 1w).

Buckets have UTC edges counted from the Unix epoch (4h bars start at 00, 04, 08 ... UTC; daily
bars at midnight UTC; weekly bars on Monday 00:00 UTC, as exchanges do), are labelled by their
opening time, and aggregate open=first, high=max, low=min, close=last, volume=sum. Buckets with
no source bars are left out (gaps stay gaps); ``complete_only`` also drops buckets that lack some
of their source bars, e.g. the still-forming last bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptodesk.data.schema import make_candles, meta_of
from cryptodesk.data.timeframes import WEEK_ORIGIN_ISO, normalize_timeframe, timeframe_seconds
from cryptodesk.errors import DataError


def resample_candles(
    candles: pd.DataFrame, timeframe: str, *, complete_only: bool = False
) -> pd.DataFrame:
    """Aggregate ``candles`` into bars of ``timeframe`` (must be a multiple of the source)."""
    meta = meta_of(candles)
    target = normalize_timeframe(timeframe)
    src_s, dst_s = timeframe_seconds(meta.timeframe), timeframe_seconds(target)
    if dst_s < src_s or dst_s % src_s:
        raise DataError(
            f"cannot resample {meta.timeframe} to {target}: the target must be a whole "
            f"multiple of the source timeframe"
        )
    if dst_s == src_s:
        return candles.copy()
    step = pd.Timedelta(seconds=dst_s)
    origin = pd.Timestamp(WEEK_ORIGIN_ISO) if dst_s % 604_800 == 0 else pd.Timestamp(0, tz="UTC")
    # Integer bucket arithmetic: fast and exact, no reliance on pandas frequency aliases.
    times = candles.index.as_unit("ns").asi8
    origin_ns = origin.value
    bucket = (times - origin_ns) // step.value
    starts, first_pos = np.unique(bucket, return_index=True)
    last_pos = np.concatenate([first_pos[1:], [len(times)]]) - 1
    o = candles["open"].to_numpy()[first_pos]
    c = candles["close"].to_numpy()[last_pos]
    h = np.fmax.reduceat(candles["high"].to_numpy(), first_pos)
    lo = np.fmin.reduceat(candles["low"].to_numpy(), first_pos)
    v = np.add.reduceat(np.nan_to_num(candles["volume"].to_numpy()), first_pos)
    counts = last_pos - first_pos + 1
    index = pd.DatetimeIndex(starts * step.value + origin_ns, tz="UTC").as_unit("ns")
    frame = pd.DataFrame({"open": o, "high": h, "low": lo, "close": c, "volume": v}, index=index)
    if complete_only:
        frame = frame[counts == dst_s // src_s]
    return make_candles(
        frame, source=meta.source, symbol=meta.symbol, timeframe=target, synthetic=meta.synthetic
    )
