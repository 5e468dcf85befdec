"""The candles a run spec names: read from its CSV file or the store, cut to the recorded range,
and checked against the recorded fingerprint, so a replay runs on the very bars the spec was
made on or says why it cannot. Every workflow that starts from a spec's data (a run, a
forecast, a saved model, an explanation, a cross-asset input) loads it here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from cryptodesk.app.runspec import DataRef
from cryptodesk.errors import DataError


def load_candles(ref: DataRef, store: Any = None) -> pd.DataFrame:
    """The candles a spec names: from its CSV file or the store, cut to the recorded range and
    checked against the recorded fingerprint (DataError when the bars changed)."""
    from cryptodesk.data.fingerprint import data_fingerprint

    if ref.csv:
        from cryptodesk.data.csv_import import read_candles_csv

        candles, _report = read_candles_csv(Path(ref.csv), symbol=ref.symbol,
                                            source=ref.source, timeframe=ref.timeframe)
    else:
        from cryptodesk.data.schema import SeriesKey
        from cryptodesk.data.store import CandleStore

        store = store if store is not None else CandleStore()
        candles = store.load(SeriesKey(ref.source, ref.symbol, ref.timeframe))
    if ref.first is not None or ref.last is not None:
        index = candles.index
        lo = 0 if ref.first is None else int(index.searchsorted(pd.Timestamp(ref.first)))
        hi = len(index) if ref.last is None else int(
            index.searchsorted(pd.Timestamp(ref.last), side="right"))
        candles = candles.iloc[lo:hi]
    if ref.sha256 is not None:
        now = data_fingerprint(candles)
        if now["sha256"] != ref.sha256:
            raise DataError(
                f"the {ref.label} bars from {ref.first} to {ref.last} are not the ones the run "
                f"spec was made on ({now['rows']:,} bars now, {ref.rows:,} then; values "
                "changed); re-import the original data or make a new spec"
            )
    if len(candles) == 0:
        raise DataError(f"no {ref.label} bars in the spec's range")
    return candles
