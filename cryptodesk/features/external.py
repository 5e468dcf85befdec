"""External numeric series (sentiment, on-chain metrics) joined onto candles as-of.

An external observation stamped at time s is public from s on. Candle rows are stamped with the
bar's *open* time and a forecast from bar t is made when it closes, at ``t + bar``. So row t may
use the latest observation with ``s < t + bar`` and nothing later: :func:`join_asof` does
exactly that (a backward as-of merge on the bar close time, exact matches excluded), which keeps
external features causal like every other feature. The joined columns then feed models through
``FeatureSpec.external``.
"""

from __future__ import annotations

import pandas as pd

from cryptodesk.data.timeframes import timeframe_delta
from cryptodesk.errors import DataError


def join_asof(
    candles: pd.DataFrame,
    external: pd.DataFrame | pd.Series,
    columns: list[str] | None = None,
    *,
    max_age: pd.Timedelta | str | None = None,
    timeframe: str | None = None,
) -> pd.DataFrame:
    """Candles with the external columns added, each row holding the last value known at its close.

    ``external`` has a DatetimeIndex (naive = UTC) and numeric columns; ``max_age`` leaves a
    value out (NaN) once it is older than that at the bar close. Returns a new frame; the
    candles' metadata (attrs) is kept.
    """
    if isinstance(external, pd.Series):
        external = external.to_frame(external.name or "value")
    if not isinstance(external.index, pd.DatetimeIndex):
        raise DataError("external series need a DatetimeIndex")
    columns = list(columns or external.columns)
    clash = [c for c in columns if c in candles.columns]
    if clash:
        raise DataError(f"external column(s) {', '.join(clash)} already in the candles")
    ext = external[columns].astype("float64")
    index = ext.index if ext.index.tz is not None else ext.index.tz_localize("UTC")
    ext = ext.set_axis(index.tz_convert("UTC").as_unit("ns")).sort_index()
    ext = ext[~ext.index.duplicated(keep="last")]
    tf = timeframe or candles.attrs.get("timeframe") or "1d"
    closes = pd.DataFrame({"_close_time": candles.index + timeframe_delta(tf)})
    right = ext.rename_axis("_obs_time").reset_index()
    merged = pd.merge_asof(
        closes, right, left_on="_close_time", right_on="_obs_time",
        direction="backward", allow_exact_matches=False,
        tolerance=None if max_age is None else pd.Timedelta(max_age),
    )
    out = candles.copy()
    for c in columns:
        out[c] = merged[c].to_numpy()
    out.attrs.update(candles.attrs)
    return out
