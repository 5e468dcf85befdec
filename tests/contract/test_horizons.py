"""Any horizon from any model: every registered model forecasts each step up to its own
horizon (direct models: the one they were fitted for; recursive ones: beyond it too), and the
per-timeframe defaults."""

from __future__ import annotations

import numpy as np
import pytest

from cryptodesk.app.defaults import default_horizon
from cryptodesk.errors import ModelError
from cryptodesk.models.registry import available_models, model_class, model_entry
from tests.contract.test_models_contract import _candles

H = 7  # the daily default
# the nets train for seconds each: their horizon check runs with the slow tests (their other
# contract checks run in the default run, in test_models_contract.py)
MODELS = [pytest.param(n, marks=pytest.mark.slow) if model_entry(n).library == "PyTorch" else n
          for n in available_models()]


@pytest.mark.parametrize("name", MODELS)
def test_every_model_forecasts_every_step_up_to_its_horizon(name: str) -> None:
    candles = _candles(240, seed=3)
    cls = model_class(name)
    model = cls(cls.fast_config()).fit(candles, horizon=H)
    full = model.predict(candles, H)
    assert full.horizon == H and np.all(np.isfinite(full.point)) and np.all(full.point > 0)
    assert np.all(full.q10 <= full.q90)
    for h in range(1, H + 1):
        part = model.predict(candles, h)
        np.testing.assert_array_equal(part.point, full.point[:h])
        np.testing.assert_array_equal(part.q90, full.q90[:h])
    if model.capabilities.direct:
        with pytest.raises(ModelError, match=f"fitted for horizon {H}"):
            model.predict(candles, H + 1)
    else:
        assert model.predict(candles, 2 * H).horizon == 2 * H


def test_default_horizon_per_timeframe() -> None:
    assert default_horizon("1d") == 7
    assert default_horizon("1h") == 24
    assert default_horizon("4h") == 6
    assert default_horizon("1w") == 4
    assert default_horizon("1m") == 100  # a day of minutes, capped at the direct models' limit
