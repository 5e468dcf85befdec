"""A toy model that exists only in the tests: registered at run time through the registry
alone (``register(TOY_ENTRY)``), to show that one entry is all a model needs to appear in the
CLI and the GUI."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cryptodesk.jobs import TaskContext
from cryptodesk.models.base import Forecast, Forecaster
from cryptodesk.models.capabilities import Capabilities
from cryptodesk.models.config import ModelConfig, param
from cryptodesk.models.entry import ModelEntry


@dataclass(frozen=True)
class ToyConfig(ModelConfig):
    """The toy's one setting."""

    shift: float = param(0.0, min=-1e6, max=1e6, label="Shift",
                         help="Added to the last close.")


class ToyForecaster(Forecaster):
    """Tomorrow equals today plus a constant."""

    name = "toy"
    config_cls = ToyConfig

    def _fit(self, train: pd.DataFrame, ctx: TaskContext, horizon: int) -> None:
        del train, ctx, horizon

    def _predict(self, history: pd.DataFrame, horizon: int) -> Forecast:
        last = float(history["close"].iat[-1])
        return Forecast(point=np.full(horizon, last + self.config.shift))


TOY_ENTRY = ModelEntry(
    name="toy", target="tests.support.toy_model:ToyForecaster",
    config="tests.support.toy_model:ToyConfig", library="",
    description="Toy: the last close plus a constant (registered by a test).",
    capabilities=Capabilities(min_train_bars=1),
)
