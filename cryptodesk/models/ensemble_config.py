"""The ensemble's config, in a light module (no model library imported).

An ensemble names its members (registry models) and holds each member's *full* config, so a run
spec or a saved bundle alone rebuilds exactly the same members. Members take the ensemble's
seed, like every stochastic model in a run takes the run's seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from cryptodesk.errors import CryptoDeskError, ModelError
from cryptodesk.models.config import ModelConfig, param

COMBINERS = ("mean", "inverse_error", "stack")
ENSEMBLE = "ensemble"


@dataclass(frozen=True)
class EnsembleConfig(ModelConfig):
    """Members, how to combine them, and the inner folds the learned combiners learn on."""

    members: tuple[str, ...] = param(
        ("arima", "lightgbm", "lstm"), label="Members",
        help="Registry models to combine (at least two, each once).")
    combiner: Literal["mean", "inverse_error", "stack"] = param(
        "mean", label="Combiner",
        help="'mean': equal weights; 'inverse_error': weights 1/MSE of each member's inner "
             "out-of-fold forecasts; 'stack': weights fitted to those forecasts (see stack).")
    stack: Literal["nnls", "ridge"] = param(
        "nnls", label="Stacking fit",
        help="'nnls': non-negative least squares; 'ridge': ridge regression shrunk towards no "
             "change (weights may be negative).")
    ridge_alpha: float = param(1.0, min=0.0, max=1e6, advanced=True, label="Ridge penalty",
                               help="Penalty relative to the mean squared member forecast.")
    oof_folds: int = param(3, min=1, max=20, label="Inner folds",
                           help="Blocks at the end of each training window whose out-of-fold "
                                "forecasts the learned combiners learn from.")
    oof_bars: int = param(60, min=5, max=1_000_000, label="Bars per inner fold")
    member_configs: dict[str, dict[str, Any]] = param(
        {}, advanced=True, label="Member settings",
        help="Settings per member (missing ones take the member's defaults).")
    seed: int = param(0, min=0, max=2**31 - 1, label="Seed", help="Given to every member.")

    def __post_init__(self) -> None:
        super().__post_init__()
        from cryptodesk.models.registry import config_class, model_entry

        if len(self.members) < 2:
            raise ModelError("an ensemble needs at least two members")
        try:
            names = tuple(model_entry(m).name for m in self.members)
        except CryptoDeskError as exc:
            raise ModelError(f"ensemble member: {exc}") from None
        if len(set(names)) != len(names):
            raise ModelError("each ensemble member may appear once")
        if ENSEMBLE in names:
            raise ModelError("an ensemble cannot hold another ensemble")
        extra = sorted(set(self.member_configs) - set(names))
        if extra:
            raise ModelError(f"member settings for {', '.join(extra)}, which are not members")
        full: dict[str, dict[str, Any]] = {}
        for name in names:
            cls = config_class(name)
            values = dict(self.member_configs.get(name, {}))
            if any(p.name == "seed" for p in cls.params()):
                values["seed"] = self.seed
            try:
                full[name] = cls.from_dict(values).to_dict()
            except CryptoDeskError as exc:
                raise ModelError(f"ensemble member {name}: {exc}") from None
        object.__setattr__(self, "members", names)
        object.__setattr__(self, "member_configs", full)

    def label(self) -> str:
        """How runs name this ensemble: ``ensemble:arima+lightgbm+lstm/stack``."""
        return f"{ENSEMBLE}:{'+'.join(self.members)}/{self.combiner}"
