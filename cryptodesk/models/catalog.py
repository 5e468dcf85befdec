"""Every built-in model's facts, one entry each: the registry reads them from here.

An entry names the model, where its class and its config class live, which library it needs,
a one-line description, the imports its first fit would pay for (warmed up when the user picks
it), and its capabilities. This module is light: it imports neither the models nor their
libraries, so listing models (CLI, GUI) costs nothing. Adding a model means writing its module
and adding one entry below (or calling :func:`cryptodesk.models.registry.register` at run time).
"""

from __future__ import annotations

from cryptodesk.models.capabilities import Capabilities
from cryptodesk.models.entry import ModelEntry

_TORCH = "cryptodesk.models.torch_models"
_TORCH_CONFIGS = "cryptodesk.models.torch_configs"
# The nets share one training loop, so they share their capabilities and warm-up imports.
_NET = Capabilities(quantiles=True, p_up=True, direct=True, stochastic=True, min_train_bars=64,
                    native_payload=True, max_horizon=100, external_inputs=True, epochs=True)
_NET_WARM_UP = ("torch", "torch._dynamo", "torch.optim")


def _net(name: str, cls: str, description: str) -> ModelEntry:
    return ModelEntry(
        name=name, target=f"{_TORCH}:{cls}Forecaster", config=f"{_TORCH_CONFIGS}:{cls}Config",
        library="PyTorch", description=description, capabilities=_NET, warm_up=_NET_WARM_UP,
    )


BUILTIN: tuple[ModelEntry, ...] = (
    ModelEntry(
        name="naive", target="cryptodesk.models.baselines:NaiveForecaster",
        config="cryptodesk.models.baselines:NaiveConfig", library="",
        description="Tomorrow equals today: the baseline every model is scored against.",
        capabilities=Capabilities(quantiles=True, p_up=True, min_train_bars=1,
                                  targets=("price", "volatility")),
        baseline=True,
    ),
    ModelEntry(
        name="drift", target="cryptodesk.models.baselines:DriftForecaster",
        config="cryptodesk.models.baselines:DriftConfig", library="",
        description="Random walk with drift on log prices.",
        capabilities=Capabilities(quantiles=True, p_up=True, min_train_bars=3),
    ),
    ModelEntry(
        name="arima", target="cryptodesk.models.arima:ArimaForecaster",
        config="cryptodesk.models.arima:ArimaConfig", library="SciPy",
        description="ARIMA on log prices, order chosen by AIC at every refit (statistical).",
        capabilities=Capabilities(quantiles=True, p_up=True, min_train_bars=30),
        warm_up=("scipy.optimize", "scipy.signal"),
    ),
    ModelEntry(
        name="lightgbm", target="cryptodesk.models.lgbm:LightGBMForecaster",
        config="cryptodesk.models.lgbm:LightGBMConfig", library="LightGBM",
        description="Gradient-boosted trees on causal features.",
        capabilities=Capabilities(quantiles=True, p_up=True, direct=True, stochastic=True,
                                  uses_features=True, min_train_bars=60, native_payload=True,
                                  max_horizon=100, targets=("price", "volatility")),
        warm_up=("lightgbm",),
    ),
    ModelEntry(
        name="ewma", target="cryptodesk.models.volatility:EwmaForecaster",
        config="cryptodesk.models.volatility:EwmaConfig", library="",
        description="RiskMetrics EWMA of realised variance, lambda 0.94 (volatility).",
        capabilities=Capabilities(min_train_bars=2, targets=("volatility",)),
    ),
    ModelEntry(
        name="garch", target="cryptodesk.models.volatility:GarchForecaster",
        config="cryptodesk.models.volatility:GarchConfig", library="SciPy",
        description="GARCH(1,1) on log returns, maximum likelihood (volatility).",
        capabilities=Capabilities(min_train_bars=60, targets=("volatility",)),
        warm_up=("scipy.optimize", "scipy.signal"),
    ),
    ModelEntry(
        name="har", target="cryptodesk.models.volatility:HarForecaster",
        config="cryptodesk.models.volatility:HarConfig", library="",
        description="HAR-RV: 1-, 5- and 22-bar realised variance regression (volatility).",
        capabilities=Capabilities(direct=True, min_train_bars=60, targets=("volatility",)),
    ),
    _net("lstm", "Lstm", "LSTM network, 64 then 32 units (PyTorch)."),
    _net("gru", "Gru", "Stacked GRU network (PyTorch)."),
    _net("cnn", "Cnn", "1-D convolutional network (PyTorch)."),
    _net("cnn_gru", "CnnGru", "Convolutions feeding stacked GRUs: the CNN-GRU hybrid (PyTorch)."),
    _net("transformer", "Transformer", "Causal Transformer encoder (PyTorch)."),
    ModelEntry(
        name="ensemble", target="cryptodesk.models.ensemble:EnsembleForecaster",
        config="cryptodesk.models.ensemble_config:EnsembleConfig", library="",
        description="Combines member models: mean, inverse-error weights or stacking on "
                    "inner out-of-fold forecasts.",
        capabilities=Capabilities(quantiles=True, p_up=True, direct=True, stochastic=True,
                                  min_train_bars=60, native_payload=True, max_horizon=100,
                                  composite=True),
    ),
)
