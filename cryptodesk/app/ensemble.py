"""Ensembles as a user builds them: pick members and a combiner, get a run-spec entry.

The command line spells an ensemble ``ensemble:arima+lightgbm+lstm`` in ``--models`` (the
combiner through ``--set ensemble.combiner=...``); the GUI's member picker calls
:func:`ensemble_spec` with the ticked models. Either way the run spec holds one ``ensemble``
entry with every member's full config, labelled ``ensemble:arima+lightgbm+lstm/<combiner>``
so ensembles with different combiners can run side by side.
"""

from __future__ import annotations

from typing import Any

from cryptodesk.app.runspec import ModelSpec, model_spec
from cryptodesk.errors import ModelError
from cryptodesk.models.ensemble_config import COMBINERS, ENSEMBLE


def member_candidates() -> list[str]:
    """Registry models an ensemble may hold (every model but ensembles themselves)."""
    from cryptodesk.models.registry import default_registry

    return [e.name for e in default_registry().entries() if not e.capabilities.composite]


def combiners() -> tuple[str, ...]:
    """The combiners an ensemble offers: mean, inverse_error, stack."""
    return COMBINERS


def ensemble_spec(members: list[str], combiner: str = "mean",
                  member_configs: dict[str, dict[str, Any]] | None = None,
                  seed: int | None = None, **settings: Any) -> ModelSpec:
    """A run-spec entry for an ensemble of ``members`` (full configs, labelled)."""
    config = {"members": list(members), "combiner": combiner,
              "member_configs": dict(member_configs or {}), **settings}
    return model_spec(ENSEMBLE, config, seed)


def parse_model_token(token: str) -> tuple[str, dict[str, Any]]:
    """One ``--models`` item: ``lstm`` -> ("lstm", {}); ``ensemble:arima+lightgbm`` ->
    ("ensemble", {"members": ["arima", "lightgbm"]})."""
    name, sep, rest = token.strip().lower().partition(":")
    if not sep:
        return name, {}
    if name != ENSEMBLE:
        raise ModelError(f"{token!r}: only an ensemble takes members (ensemble:a+b+c)")
    members = [m.strip() for m in rest.split("+") if m.strip()]
    if len(members) < 2:
        raise ModelError(f"{token!r}: name at least two members, e.g. ensemble:arima+lightgbm")
    return name, {"members": members}
