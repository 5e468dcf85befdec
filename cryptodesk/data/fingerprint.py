"""The identity of a candle series: what a report, a saved model or a run spec ran on.

A fingerprint holds the series' metadata, range, row count and a SHA-256 of its timestamps and
OHLCV values, so a result can be matched to its exact input, and a run spec replayed later can
check that the stored series still holds the same bars.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd


def data_fingerprint(candles: pd.DataFrame) -> dict[str, Any]:
    """Identity of the data a backtest ran on: metadata, range, rows and a SHA-256 of the
    timestamps and OHLCV values (so a report can be matched to its exact input)."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(candles.index.as_unit("ns").asi8).tobytes())
    for col in ("open", "high", "low", "close", "volume"):
        if col in candles.columns:
            digest.update(np.ascontiguousarray(candles[col].to_numpy(np.float64)).tobytes())
    attrs = candles.attrs
    return {
        "symbol": attrs.get("symbol"), "timeframe": attrs.get("timeframe"),
        "source": attrs.get("source"), "synthetic": bool(attrs.get("synthetic", False)),
        "rows": len(candles),
        "first": candles.index[0].isoformat() if len(candles) else None,
        "last": candles.index[-1].isoformat() if len(candles) else None,
        "sha256": digest.hexdigest(),
    }
