"""A series ready to draw: the app layer's :class:`~cryptodesk.app.ingest.SeriesData` plus its
chart pyramid, gap bands and data reference.

Built in the data panel's I/O thread (numpy and a SHA-256, no Qt), so the GUI thread only
hands arrays to the chart. The data reference (with the series' fingerprint) is what a run
spec and a worker job name the series by: the worker loads the same bars from the store and
checks them against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cryptodesk.gui.charts.levels import OhlcPyramid, pyramid_from_frame

if TYPE_CHECKING:
    import pandas as pd

    from cryptodesk.app.ingest import SeriesData
    from cryptodesk.app.runspec import DataRef
    from cryptodesk.data.quality import QualityReport
    from cryptodesk.data.schema import CandleMeta, SeriesKey


@dataclass(frozen=True)
class LoadedSeries:
    """A series on show: candles, metadata, quality report, chart pyramid, gap bands (epoch
    seconds) and its data reference."""

    frame: pd.DataFrame
    meta: CandleMeta
    report: QualityReport
    pyramid: OhlcPyramid
    gaps_x0: np.ndarray
    gaps_x1: np.ndarray
    ref: DataRef
    note: str = ""

    @property
    def key(self) -> SeriesKey:
        return self.meta.key


def chart_series(data: SeriesData, note: str | None = None) -> LoadedSeries:
    """Pyramid, gap bands and data reference of a loaded series (run it off the GUI thread)."""
    from cryptodesk.app.runspec import data_ref
    from cryptodesk.data.timeframes import timeframe_seconds

    step = float(timeframe_seconds(data.meta.timeframe))
    gaps = data.report.gaps
    x0 = np.array([g.after.value / 1e9 + step for g in gaps], dtype=np.float64)
    x1 = np.array([g.before.value / 1e9 for g in gaps], dtype=np.float64)
    return LoadedSeries(data.frame, data.meta, data.report, pyramid_from_frame(data.frame, step),
                        x0, x1, data_ref(data.frame), data.note if note is None else note)


def epoch_seconds(times: Any) -> np.ndarray:
    """Epoch seconds of a timestamp column or index."""
    import pandas as pd

    return pd.DatetimeIndex(times).as_unit("ns").asi8 / 1e9
