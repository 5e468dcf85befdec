"""The tuning budget of one model, as a JSON-able value, and the events a tuning streams (a
light module: no Optuna import, so the GUI process can decode the events).

A run spec's model entry may carry a ``tuning`` section (:class:`TuningSpec`): how many trials,
how long, at which outer refits, on which inner folds, with which seed. The nested tuner
(:mod:`cryptodesk.evaluation.tuning`) reads it; the GUI draws it as a form like any other
:class:`~cryptodesk.params.Params`. The search space itself is not here: each model's config
declares it next to its defaults (``param(..., search=Range(...))``), so the budget is the only
thing a user chooses per run, and a published table can say exactly what was searched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from cryptodesk.errors import CryptoDeskError, ModelError
from cryptodesk.params import Params, ParamSpec, Search, param

if TYPE_CHECKING:
    from cryptodesk.models.config import ModelConfig


class TuningError(ModelError):
    """A tuning request cannot be carried out (bad budget, storage, or too little data)."""


@dataclass(frozen=True)
class TuningSpec(Params):
    """How to tune a model inside each outer training window (nested walk-forward)."""

    error_cls: ClassVar[type[CryptoDeskError]] = TuningError

    trials: int = param(20, min=1, max=100_000, label="Trials",
                        help="Optuna trials per tuning (the defaults are always trial 0).")
    timeout_s: float | None = param(None, min=1.0, max=7 * 86_400.0, label="Time limit (s)",
                                    help="Stop a tuning after this long (then the number of "
                                         "trials, and so the result, depends on the machine).")
    tune_every: int = param(1, min=0, max=100_000, label="Tune every (refits)",
                            help="Tune at the first outer refit and then every K-th one; the "
                                 "refits in between reuse the last best settings. 0 = tune once.")
    inner_folds: int = param(3, min=1, max=50, label="Inner folds",
                             help="Consecutive blocks at the end of each outer training window "
                                  "on which every trial is scored.")
    inner_fold_bars: int = param(30, min=2, max=1_000_000, label="Bars per inner fold",
                                 help="Forecasts per inner block; the model is refitted once "
                                      "per block on the rows before it.")
    pruning: bool = param(True, label="Prune bad trials",
                          help="Stop a trial early when it is worse than the median of earlier "
                               "trials at the same epoch or inner fold.")
    startup_trials: int = param(8, min=0, max=10_000, advanced=True, label="Random trials first",
                                help="Trials drawn at random before the TPE sampler models the "
                                     "space (and before pruning starts).")
    only: tuple[str, ...] = param((), advanced=True, label="Only these settings",
                                    help="Dotted names of the settings to tune (empty: every "
                                         "setting whose search space the model declares).")
    seed: int = param(0, min=0, max=2**31 - 1, label="Seed",
                      help="Sampler seed: the same seed, data and trial count give the same "
                           "trials.")
    storage: str | None = param(None, advanced=True, label="Study storage",
                                help="sqlite:///file.db to keep every study (resumable); empty: "
                                     "in memory. Holds only numbers and setting names.")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.storage is not None and not re.fullmatch(r"sqlite:///[^\x00]+", self.storage):
            raise TuningError(f"tuning storage must be a sqlite:///path URL, got "
                              f"{self.storage[:60]!r}")

    def tunes_at(self, refit: int) -> bool:
        """Whether outer refit number ``refit`` (0-based) runs a search."""
        if refit == 0:
            return True
        return self.tune_every > 0 and refit % self.tune_every == 0

    def inner_bars(self) -> int:
        """Training-window bars the inner folds forecast."""
        return self.inner_folds * self.inner_fold_bars


@dataclass(frozen=True)
class TrialDone:
    """A trial finished: one row of the live trial table, one point of the best-so-far curve.

    ``value`` is the trial's inner Theil's U (None when it was pruned or failed); ``best_value``
    / ``best_trial`` the best so far in this tuning; ``trial`` 0 is the default config."""

    model: str
    refit: int
    origin: str
    trial: int
    state: str
    params: dict[str, Any]
    value: float | None
    best_value: float | None
    best_trial: int | None
    seconds: float
    trials: int


@dataclass(frozen=True)
class TuningDone:
    """A tuning (one outer refit's study) finished and its best settings were chosen."""

    model: str
    refit: int
    origin: str
    best_params: dict[str, Any]
    best_value: float | None
    default_value: float | None
    complete: int
    pruned: int
    failed: int
    seconds: float


# ---------------------------------------------------------------------- search space
# (here, not in the tuner, so a front end can check a tuning request without importing it)
def search_space(config_cls: type[ModelConfig],
                 only: tuple[str, ...] = ()) -> dict[str, tuple[ParamSpec, Search]]:
    """The declared search space of a config class, narrowed to ``only`` (dotted names)."""
    space = config_cls.search_space()
    if only:
        unknown = [n for n in only if n not in space]
        if unknown:
            raise TuningError(f"cannot tune {', '.join(unknown)}: not in the search space; "
                              f"tunable: {', '.join(space) or 'none'}")
        space = {n: space[n] for n in only}
    if not space:
        raise TuningError(f"{config_cls.__name__} declares no search space: nothing to tune")
    return space


def describe_space(space: dict[str, tuple[ParamSpec, Search]]) -> dict[str, Any]:
    """The space as JSON (for reports, the README and the GUI's tuning view)."""
    return {name: search.to_dict() for name, (_spec, search) in space.items()}
