"""Zero-copy windowing for sequence models (LSTM, GRU, CNN, Transformer).

A sequence model sees, for each origin t, the ``lookback`` feature rows ending at t and learns
the targets at t (log returns over the next 1..H bars, :mod:`cryptodesk.features.targets`).
Materialising every window would take ``n * lookback * f`` floats (for 26k hourly bars, a
lookback of 168 and 40 features: 1.4 GB); the functions here return *strided views* into the
one ``(n, f)`` matrix instead, so memory stays O(n). Only the rows of a mini-batch are copied,
when the batch is gathered (``windows[rows[batch]]``, then ``torch.from_numpy``).

Typical use in a model's ``_fit``::

    x = scaler.fit(feats[:cut]).transform(feats)       # (n, f), scaled with train stats
    y = future_log_returns(close, horizon)             # (n, H)
    ds = SequenceDataset.build(x, y, lookback)
    for rows in ds.batches(batch_size, rng):           # int arrays of window numbers
        xb = torch.from_numpy(ds.windows[rows])        # (b, lookback, f) copy of the batch only
        yb = torch.from_numpy(ds.targets_at(rows))     # (b, H)

and in ``_predict``: ``last_window(x_tail, lookback)`` gives the ``(1, lookback, f)`` input.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def sliding_windows(values: np.ndarray, lookback: int) -> np.ndarray:
    """Read-only view of shape ``(n - lookback + 1, lookback, f)`` over ``values`` ``(n, f)``.

    Window ``i`` holds rows ``i .. i + lookback - 1``, i.e. it *ends* at row
    ``i + lookback - 1``. A 1-D input is treated as one feature. No data are copied.
    """
    values = np.asarray(values)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ValueError(f"expected an (n, f) array, got shape {values.shape}")
    if lookback < 1:
        raise ValueError(f"lookback must be >= 1, got {lookback}")
    n, f = values.shape
    if n < lookback:
        return np.empty((0, lookback, f), dtype=values.dtype)
    # sliding_window_view puts the window axis last: (n-L+1, f, L) -> (n-L+1, L, f)
    return sliding_window_view(values, lookback, axis=0).transpose(0, 2, 1)


def window_end_rows(n: int, lookback: int) -> np.ndarray:
    """Row number each window of :func:`sliding_windows` ends at."""
    return np.arange(lookback - 1, n)


def last_window(values: np.ndarray, lookback: int) -> np.ndarray:
    """The window ending at the last row, shape ``(1, lookback, f)`` (a view)."""
    windows = sliding_windows(values, lookback)
    if windows.shape[0] == 0:
        raise ValueError(f"need at least {lookback} rows, got {np.asarray(values).shape[0]}")
    return windows[-1:]


@dataclass(frozen=True)
class SequenceDataset:
    """Windows over a feature matrix with their targets, plus the usable window numbers.

    ``windows`` is the view from :func:`sliding_windows`; ``targets`` the ``(n, H)`` target
    matrix of the same rows; ``rows`` the window numbers whose inputs and targets are all
    finite (warm-up rows and the last H rows of a training window drop out). Nothing is copied.
    """

    windows: np.ndarray
    targets: np.ndarray
    rows: np.ndarray
    lookback: int

    @classmethod
    def build(cls, features: np.ndarray, targets: np.ndarray, lookback: int) -> SequenceDataset:
        """Pair windows ending at row t with ``targets[t]``; keep only fully finite pairs."""
        features = np.asarray(features, dtype=np.float64)
        if features.ndim == 1:
            features = features[:, None]
        targets = np.asarray(targets, dtype=np.float64)
        if targets.ndim == 1:
            targets = targets[:, None]
        if targets.shape[0] != features.shape[0]:
            raise ValueError("features and targets need the same number of rows")
        windows = sliding_windows(features, lookback)
        ends = window_end_rows(features.shape[0], lookback)
        bad_row = ~np.isfinite(features).all(axis=1)
        # windows containing a bad row: rolling count of bad rows via a cumulative sum (ints)
        bad_cum = np.concatenate([[0], np.cumsum(bad_row, dtype=np.int64)])
        bad_in_window = bad_cum[ends + 1] - bad_cum[ends + 1 - lookback]
        ok = (bad_in_window == 0) & np.isfinite(targets[ends]).all(axis=1)
        return cls(windows, targets, np.flatnonzero(ok), lookback)

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def end_row(self, window: np.ndarray | int) -> np.ndarray | int:
        """Feature row a window number ends at."""
        return window + self.lookback - 1

    def targets_at(self, window: np.ndarray) -> np.ndarray:
        """Targets of the given window numbers, ``(len(window), H)`` (a copy)."""
        return self.targets[np.asarray(window) + self.lookback - 1]

    def batches(
        self, batch_size: int, rng: np.random.Generator | None = None, rows: np.ndarray | None = None
    ) -> Iterator[np.ndarray]:
        """Window numbers in mini-batches; shuffled when ``rng`` is given (seeded: reproducible)."""
        rows = self.rows if rows is None else np.asarray(rows)
        if rng is not None:
            rows = rng.permutation(rows)
        for start in range(0, rows.shape[0], batch_size):
            yield rows[start : start + batch_size]

    def split(self, valid_fraction: float, gap: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(train rows, validation rows): the last ``valid_fraction`` of windows, in time order,
        so early stopping never validates on windows older than some training window.

        ``gap`` windows (default: the target horizon H) are dropped between the two, because a
        training target ``H`` bars ahead would otherwise overlap the validation inputs.
        """
        gap = self.targets.shape[1] if gap is None else gap
        k = round(len(self) * valid_fraction)
        if k <= 0:
            return self.rows, self.rows[:0]
        train = self.rows[: max(0, len(self) - k - gap)]
        return train, self.rows[-k:]
