"""The base of every model's config: :class:`cryptodesk.params.Params` raising ModelError.

Model configs are ordinary :class:`~cryptodesk.params.Params` (frozen, typed, range-checked,
JSON-able, drawable as a form); this subclass only makes an invalid hyperparameter a
:class:`~cryptodesk.errors.ModelError`, the error the model commands report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cryptodesk.errors import CryptoDeskError, ModelError
from cryptodesk.params import Params, ParamSpec, param

__all__ = ["ModelConfig", "ParamSpec", "param"]


@dataclass(frozen=True)
class ModelConfig(Params):
    """Base of every model config (see :mod:`cryptodesk.params` for the conventions)."""

    error_cls: ClassVar[type[CryptoDeskError]] = ModelError
