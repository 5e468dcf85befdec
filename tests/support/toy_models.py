"""A tiny model with a known best setting, for testing the tuner (not a model under test).

``ShrinkArForecaster`` forecasts the next log return as ``alpha * r[t - lag + 1]`` (lag 1: the
last bar's return). On returns following ``r_t = phi r_{t-k} + noise`` the squared error of
its one-step forecast is smallest at ``lag = k``, ``alpha = phi``: a tuner that works finds
them. It learns nothing in ``fit``, so trials are cheap, and it records the last bar of every
frame it is given (``SEEN``), so a test can check what a tuning ever looked at.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cryptodesk.jobs import TaskContext
from cryptodesk.models.base import Forecast, Forecaster
from cryptodesk.models.capabilities import Capabilities
from cryptodesk.models.config import ModelConfig, param
from cryptodesk.models.entry import ModelEntry
from cryptodesk.models.registry import ModelRegistry
from cryptodesk.params import Choice, Range

SEEN: list[pd.Timestamp] = []


@dataclass(frozen=True)
class ShrinkArConfig(ModelConfig):
    alpha: float = param(0.0, min=-1.0, max=1.0, search=Range(-1.0, 1.0))
    lag: int = param(1, min=1, max=5, search=Choice(1, 2, 3))
    seed: int = param(0, min=0, max=2**31 - 1)


class ShrinkArForecaster(Forecaster):
    name = "shrink_ar"
    config_cls = ShrinkArConfig
    config: ShrinkArConfig
    capabilities = Capabilities(min_train_bars=5, stochastic=True)

    def _fit(self, train: pd.DataFrame, ctx: TaskContext, horizon: int) -> None:
        SEEN.append(train.index[-1])

    def min_history(self) -> int:
        return self.config.lag + 1

    def _predict(self, history: pd.DataFrame, horizon: int) -> Forecast:
        SEEN.append(history.index[-1])
        close = history["close"].to_numpy(np.float64)
        r = np.log(close[-self.config.lag] / close[-self.config.lag - 1])
        step = self.config.alpha * r
        return Forecast.from_log_returns(close[-1], step * np.arange(1, horizon + 1))


def toy_registry() -> ModelRegistry:
    """A registry holding the toy model only."""
    return ModelRegistry([ModelEntry(
        name="shrink_ar", target="tests.support.toy_models:ShrinkArForecaster",
        config="tests.support.toy_models:ShrinkArConfig", library="", description="toy",
        capabilities=ShrinkArForecaster.capabilities)])
