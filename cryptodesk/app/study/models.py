"""A study's model entries as the models of a cell's run spec.

One place decides what a study model entry becomes in a cell: the registry name and its full
config (defaults filled in, the cell's seed applied to a stochastic model, the cell's CPU
thread count written into every model that has a thread setting, so a net trains on the same
number of threads whether one cell or ten share the machine). Tuning budgets and
``ensemble:a+b+c`` names are checked here too: this build has neither, so a spec that asks for
them is refused with a clear line instead of running something else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptodesk.errors import ModelError

if TYPE_CHECKING:
    from cryptodesk.app.runspec import ModelSpec
    from cryptodesk.app.study.spec import ModelSpecEntry

THREAD_SETTING = "num_threads"


def check_model(entry: ModelSpecEntry) -> None:
    """Raise ModelError (one line) when ``entry`` cannot run in this build."""
    if entry.is_ensemble:
        raise ModelError(f"ensemble models ({entry.name}) are not available in this build")
    if entry.tune is not None:
        raise ModelError("tuning (tune = {...}) is not available in this build")
    if entry.combiner is not None:
        raise ModelError("combiner applies to ensemble models only")
    from cryptodesk.app.runspec import model_spec

    model_spec(entry.name, entry.config)  # unknown model, unknown or bad settings


def targets_of(name: str) -> tuple[str, ...]:
    """What model ``name`` (a registry name, or a study label resolved to one) can forecast."""
    from cryptodesk.models.registry import model_entry

    return tuple(model_entry(name).capabilities.targets)


def is_stochastic(entry: ModelSpecEntry) -> bool:
    """True when the model's results depend on its seed (a deterministic model runs once and
    stands for every seed of the study)."""
    from cryptodesk.models.registry import model_entry

    return bool(model_entry(entry.name).capabilities.stochastic)


def cell_model(entry: ModelSpecEntry, seed: int | None, threads: int) -> ModelSpec:
    """The model of a cell's run spec: full config, seed applied, threads fixed."""
    from cryptodesk.app.runspec import model_spec
    from cryptodesk.models.registry import config_class

    config = dict(entry.config)
    if any(p.name == THREAD_SETTING for p in config_class(entry.name).params()):
        config.setdefault(THREAD_SETTING, threads)
    return model_spec(entry.name, config, seed)
