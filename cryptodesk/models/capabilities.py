"""What a model can do, declared once in its registry entry (:mod:`cryptodesk.models.catalog`).

A light module (no numpy, no torch): the GUI and the CLI read capabilities from the registry to
validate requests and draw their forms without importing any model's library.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Capabilities:
    """What a model can do; the walk-forward, the CLI and the GUI validate calls against it.

    - ``quantiles`` / ``p_up``: whether its forecasts carry q10/q90 / P(up).
    - ``max_horizon``: the longest horizon it supports at all (None: any).
    - ``direct``: trains one output per step, so ``predict`` cannot go beyond the ``horizon``
      given to ``fit`` (recursive models can).
    - ``stochastic``: results depend on a ``seed`` config field (LightGBM, torch).
    - ``uses_features``: consumes a :class:`~cryptodesk.features.spec.FeatureSpec` (config field
      ``features``), so external columns can feed it.
    - ``external_inputs``: takes external columns through a plain ``external`` column list
      (the nets).
    - ``epochs``: trains in epochs and reports a loss curve per epoch.
    - ``min_train_bars``: the fewest training rows ``fit`` accepts.
    - ``native_payload``: ``save`` writes files besides ``model.json``.
    - ``targets``: what it can forecast: ``price`` (closes) and/or ``volatility`` (the
      realised variance of each bar, :mod:`cryptodesk.features.volatility`).
    - ``composite``: combines member models whose configs it holds (``member_configs``);
      external columns are given to those members.
    """

    quantiles: bool = False
    p_up: bool = False
    max_horizon: int | None = None
    direct: bool = False
    stochastic: bool = False
    uses_features: bool = False
    external_inputs: bool = False
    epochs: bool = False
    min_train_bars: int = 2
    native_payload: bool = False
    targets: tuple[str, ...] = ("price",)
    composite: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (for reports, manifests and the GUI)."""
        return asdict(self)

    @property
    def takes_external(self) -> bool:
        """True when external columns (sentiment, other series) can feed the model."""
        return self.uses_features or self.external_inputs or self.composite
