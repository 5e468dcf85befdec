"""An explanation as data: what the ``explain`` job returns (registered on the job wire).

Here, apart from :mod:`cryptodesk.app.explain`, because the process that receives the result
(the GUI) must decode it without importing what computes it (the model modules, torch):
:mod:`cryptodesk.app.jobs.runner` lists this module among the result types it registers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cryptodesk.app.jobs import wire


@dataclass(frozen=True)
class Explanation:
    """A saved model's explanation as data.

    ``features`` / ``importance``: the global importance per input (sorted, largest first);
    ``x``: epoch seconds of the forecast origins explained; ``contributions`` ``(len(x),
    len(features))`` in the same feature order; ``base`` (SHAP's expected value) and
    ``prediction`` (the forecast log return) per origin where the method has them; ``unit``
    says what the numbers mean."""

    ref: str
    label: str
    kind: str
    method: str
    unit: str
    features: list[str]
    importance: np.ndarray
    x: np.ndarray
    contributions: np.ndarray | None
    base: np.ndarray | None
    prediction: np.ndarray | None
    notes: list[str]

    def importance_table(self) -> pd.DataFrame:
        """``feature, importance, rank`` (the CSV ``explain`` writes)."""
        return pd.DataFrame({"feature": self.features, "importance": self.importance,
                             "rank": np.arange(1, len(self.features) + 1)})

    def contributions_table(self) -> pd.DataFrame:
        """One row per origin: ``origin`` (ISO UTC), ``prediction``, ``base``, then one column
        per feature."""
        times = pd.to_datetime(self.x, unit="s", utc=True).strftime("%Y-%m-%dT%H:%M:%SZ")
        table = pd.DataFrame({"origin": times})
        for name, values in (("prediction", self.prediction), ("base", self.base)):
            if values is not None:
                table[name] = values
        if self.contributions is not None:
            for j, name in enumerate(self.features):
                table[name] = self.contributions[:, j]
        return table


wire.register(Explanation)
