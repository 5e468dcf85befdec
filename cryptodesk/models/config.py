"""The base of every model's config: :class:`cryptodesk.params.Params` raising ModelError.

Model configs are ordinary :class:`~cryptodesk.params.Params` (frozen, typed, range-checked,
JSON-able, drawable as a form); this subclass only makes an invalid hyperparameter a
:class:`~cryptodesk.errors.ModelError`, the error the model commands report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from cryptodesk.errors import CryptoDeskError, ModelError
from cryptodesk.params import Params, ParamSpec, param

__all__ = ["ModelConfig", "ParamSpec", "param"]


@dataclass(frozen=True)
class ModelConfig(Params):
    """Base of every model config (see :mod:`cryptodesk.params` for the conventions)."""

    error_cls: ClassVar[type[CryptoDeskError]] = ModelError

    # How every model's 80 % interval and P(up) are made (cryptodesk.models.conformal).
    interval: Literal["conformal", "model"] = param(
        "conformal", label="Interval",
        help="'conformal': calibrated from out-of-fold errors inside the training window "
             "(80 % intervals cover about 80 %); 'model': the model's own band, if it has one.",
    )
    calibration_size: int | None = param(
        None, min=10, max=1_000_000, advanced=True, label="Calibration bars",
        help="Bars at the end of each training window held back to calibrate the interval "
             "(default: a quarter of the window, at most 500).",
    )
    calibration_folds: int = param(
        1, min=1, max=20, advanced=True, label="Calibration folds",
        help="1: one split; more: rolling-origin blocks, each scored by a copy fitted on the "
             "bars before it (more fits, steadier quantiles).",
    )
