"""Level-of-detail pyramid of OHLCV bars (numpy only, built in the data panel's I/O thread).

Level 0 holds the bars themselves; level k merges each run of ``FACTOR**k`` consecutive bars
into one (first open, highest high, lowest low, last close, summed volume), the candlestick
form of pyqtgraph's ``peak`` downsampling: no extreme is ever hidden. A chart draws the
coarsest level that still gives every on-screen candle about two pixels, so a series of a
million bars costs the same to draw as one of a thousand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

FACTOR = 4
MIN_BARS = 256  # stop building levels below this many bars


@dataclass(frozen=True)
class Level:
    """One level: bar start times (epoch seconds), OHLCV and the width of one bar in seconds."""

    x: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    width: float
    # the largest single bar's volume in each merged bar (None on level 0: the volume itself);
    # the volume row draws it, so its scale reads per bar at every zoom, like the readout
    volume_peak: np.ndarray | None = None

    @property
    def peak_volume(self) -> np.ndarray:
        return self.volume if self.volume_peak is None else self.volume_peak

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True)
class OhlcPyramid:
    """All levels of one series, finest first."""

    levels: tuple[Level, ...]
    step: float

    @property
    def base(self) -> Level:
        return self.levels[0]

    def __len__(self) -> int:
        return len(self.levels[0])

    def index_range(self, x0: float, x1: float) -> tuple[int, int]:
        """Bars of level 0 whose time lies in ``[x0, x1]`` as a slice ``(i0, i1)``."""
        x = self.levels[0].x
        return int(np.searchsorted(x, x0, "left")), int(np.searchsorted(x, x1, "right"))

    def pick(self, x0: float, x1: float, max_bars: float) -> tuple[Level, int, int]:
        """The coarsest-needed level for ``[x0, x1]`` with at most ``max_bars`` bars, and the
        slice of it to draw (one bar of margin on each side)."""
        i0, i1 = self.index_range(x0, x1)
        count = max(1, i1 - i0)
        k = 0
        while k + 1 < len(self.levels) and count / FACTOR**k > max(max_bars, 1):
            k += 1
        level = self.levels[k]
        f = FACTOR**k
        j0 = max(0, i0 // f - 1)
        j1 = min(len(level), -(-i1 // f) + 1)
        return level, j0, j1


def build_pyramid(x: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray,
                  c: np.ndarray, v: np.ndarray, step: float) -> OhlcPyramid:
    """Build every level from level-0 arrays (``x`` sorted, epoch seconds)."""
    levels = [Level(x, o, h, lo, c, v, float(step))]
    while len(levels[-1]) > MIN_BARS:
        levels.append(_merge(levels[-1]))
    return OhlcPyramid(tuple(levels), float(step))


def pyramid_from_frame(frame: pd.DataFrame, step_seconds: float) -> OhlcPyramid:
    """Pyramid of a canonical candle frame."""
    x = frame.index.as_unit("ns").asi8.astype(np.float64) / 1e9
    cols = [frame[k].to_numpy(np.float64) for k in ("open", "high", "low", "close", "volume")]
    return build_pyramid(x, *cols, step=step_seconds)


def _merge(level: Level) -> Level:
    n = len(level)
    m = -(-n // FACTOR)
    pad = m * FACTOR - n

    def blocks(a: np.ndarray, fill: float) -> np.ndarray:
        if pad:
            a = np.concatenate([a, np.full(pad, fill)])
        return a.reshape(m, FACTOR)

    with np.errstate(invalid="ignore"), _quiet():
        high = np.fmax.reduce(blocks(level.high, np.nan), axis=1)
        low = np.fmin.reduce(blocks(level.low, np.nan), axis=1)
        volume = np.nansum(blocks(level.volume, 0.0), axis=1)
        peak = np.fmax.reduce(blocks(level.peak_volume, np.nan), axis=1)
    last = np.minimum(np.arange(m) * FACTOR + FACTOR - 1, n - 1)
    return Level(
        x=level.x[::FACTOR].copy(), open=level.open[::FACTOR].copy(), high=high, low=low,
        close=level.close[last], volume=volume, width=level.width * FACTOR, volume_peak=peak,
    )


class _quiet:
    """Silence numpy's all-NaN warnings inside a block (a bin of missing values stays NaN)."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)
