"""Listing of the PyTorch forecasters for the model registry (a *light* module).

The registry imports this module to learn the names of the deep models without importing
torch: listing models in the GUI or the CLI must stay cheap, and the app must start on a
machine where torch is not installed. The classes themselves live in
:mod:`cryptodesk.models.torch_models` and are imported only when a net is first created.
This module must never import torch (``tests/unit/test_torch_catalog.py`` checks it).
"""

from __future__ import annotations

_MODULE = "cryptodesk.models.torch_models"

MODELS: dict[str, str] = {
    "lstm": f"{_MODULE}:LstmForecaster",
    "gru": f"{_MODULE}:GruForecaster",
    "cnn": f"{_MODULE}:CnnForecaster",
    "cnn_gru": f"{_MODULE}:CnnGruForecaster",
    "transformer": f"{_MODULE}:TransformerForecaster",
}
