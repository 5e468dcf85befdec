"""Standardisation fitted on a training window only, with JSON-able state.

Scalers are part of the model: fitted in ``fit`` on the training rows, applied unchanged to
every later input, saved with the model as numbers (never pickled).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Standardizer:
    """Column-wise ``(x - mean) / sd``; NaN-aware; columns with zero spread keep sd = 1."""

    mean: np.ndarray | None = None
    scale: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> Standardizer:
        """Learn mean and sd per column from ``x`` (training rows only)."""
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(x, axis=0) if x.size else np.zeros(x.shape[1:])
            sd = np.nanstd(x, axis=0) if x.size else np.ones(x.shape[1:])
        self.mean = np.nan_to_num(np.atleast_1d(mean))
        sd = np.nan_to_num(np.atleast_1d(sd), nan=1.0)
        self.scale = np.where(sd > 0, sd, 1.0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Scale ``x`` (any leading shape, features on the last axis); returns a new array."""
        if self.mean is None or self.scale is None:
            raise RuntimeError("Standardizer.transform before fit")
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.scale

    def inverse(self, x: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`."""
        if self.mean is None or self.scale is None:
            raise RuntimeError("Standardizer.inverse before fit")
        return np.asarray(x, dtype=np.float64) * self.scale + self.mean

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state (exact: floats round-trip through JSON repr)."""
        return {
            "mean": None if self.mean is None else self.mean.tolist(),
            "scale": None if self.scale is None else self.scale.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Standardizer:
        """Restore from :meth:`to_dict`."""
        mean, scale = data.get("mean"), data.get("scale")
        return cls(
            None if mean is None else np.asarray(mean, dtype=np.float64),
            None if scale is None else np.asarray(scale, dtype=np.float64),
        )
