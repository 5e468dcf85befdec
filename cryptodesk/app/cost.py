"""What a model's walk-forward is expected to cost, so a run's progress bar moves with the time
it takes.

A walk-forward is ``fits`` refits and ``forecasts`` predictions. A refit costs what the model's
training costs: nothing for the baselines, boosting rounds for the trees, epochs × training
windows for the nets (each epoch passes over every window of the training rows), trials ×
that for a tuned model. Predictions cost a little each. The units are rough seconds on one
core; only their ratios matter: they split the bar between models (``share``) and, inside one
model, between its fits and its forecasts (``fit_share``), so the bar neither sits at 0 % while
naive makes hundreds of forecasts nor stalls for minutes while a net trains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# seconds (rough, one core) per unit of work, by the kind of model
PREDICT_S = {"baseline": 0.002, "trees": 0.004, "net": 0.006, "other": 0.01}
FIT_S = {"baseline": 0.001, "other": 0.5}
TREE_ROUND_S = 0.003  # one boosting round over a few thousand rows
NET_WINDOW_EPOCH_S = 4e-5  # one training window through one epoch


@dataclass(frozen=True)
class Cost:
    """A model's expected walk-forward cost: its refits and its forecasts (rough seconds)."""

    fits: float
    forecasts: float

    @property
    def total(self) -> float:
        return self.fits + self.forecasts

    @property
    def fit_share(self) -> float:
        """The part of the model's time spent fitting."""
        return self.fits / self.total if self.total > 0 else 0.0


def test_bars(protocol: Any, n_rows: int, index: Any = None) -> int:
    """Forecast origins of a walk-forward: the test size, or the bars from the test start."""
    if protocol.test_size:
        return int(min(protocol.test_size, max(n_rows - 1, 1)))
    if index is not None and protocol.test_start is not None:
        import pandas as pd

        start = pd.Timestamp(protocol.test_start)
        start = start.tz_localize("UTC") if start.tzinfo is None and index.tz else start
        return max(1, n_rows - int(index.searchsorted(start)))
    return max(1, n_rows // 5)


def n_refits(protocol: Any, forecasts: int) -> int:
    every = int(protocol.refit_every or 0)
    return 1 if every <= 0 else max(1, math.ceil(forecasts / every))


def _kind(entry: Any) -> str:
    if not (entry.library or entry.capabilities.composite):
        return "baseline"
    library = (entry.library or "").lower()
    if library in ("lightgbm", "xgboost", "catboost"):
        return "trees"
    if library in ("pytorch", "torch"):
        return "net"
    return "other"


def expected_cost(model: Any, protocol: Any, n_rows: int, forecasts: int) -> Cost:
    """The expected cost of ``model`` (a run spec's ModelSpec) walking ``forecasts`` origins
    forward over ``n_rows`` bars: fits × (epochs × windows, or rounds) plus forecasts."""
    from cryptodesk.models.registry import model_entry

    entry = model_entry(model.name)
    kind = _kind(entry)
    config = model.config or {}
    fits = n_refits(protocol, forecasts)
    # training rows of an average refit: all bars before the test window and half of it
    # (expanding), or the rolling window
    rows = (protocol.train_size if protocol.window == "rolling" and protocol.train_size
            else max(1, n_rows - forecasts // 2))
    if kind == "trees":
        rounds = float(config.get("n_estimators") or config.get("iterations") or 200)
        fit = rounds * TREE_ROUND_S * max(rows / 2000.0, 0.25)
    elif kind == "net":
        epochs = float(config.get("max_epochs") or config.get("epochs") or 20)
        windows = max(1.0, rows - float(config.get("lookback") or 0))
        fit = epochs * windows * NET_WINDOW_EPOCH_S
    elif config.get("members"):
        # an ensemble fits every member once per inner out-of-fold block and once on the
        # whole window, at every refit
        per_fit = sum(expected_cost(member, protocol, n_rows, forecasts).fits
                      for member in _members(config)) / fits
        fit = per_fit * (int(config.get("oof_folds") or 3) + 1)
    else:
        fit = FIT_S.get(kind, FIT_S["other"])
    tuning = getattr(model, "tuning", None)
    if tuning is not None:
        fit *= max(2, int(getattr(tuning, "trials", 10)))
    return Cost(fits=fits * fit, forecasts=forecasts * PREDICT_S[kind])


@dataclass(frozen=True)
class _Member:
    """An ensemble member as :func:`expected_cost` reads a model: its name and config."""

    name: str
    config: dict[str, Any]
    tuning: Any = None


def _members(config: dict[str, Any]) -> list[_Member]:
    configs = config.get("member_configs") or {}
    return [_Member(str(name), dict(configs.get(name) or {})) for name in config["members"]]
