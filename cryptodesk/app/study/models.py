"""A study's model entries as the models of a cell's run spec.

One place decides what a study model entry becomes in a cell: the registry name and its full
config (defaults filled in, the cell's seed applied to a stochastic model, the cell's CPU
thread count written into every model that has a thread setting, so a net trains on the same
number of threads whether one cell or ten share the machine). An ``ensemble:a+b+c`` name
becomes the ``ensemble`` model with those members (and the entry's combiner); a ``tune``
budget becomes the nested tuning of :mod:`cryptodesk.evaluation.tuning` (its sampler seeded
with the cell's seed), exactly as ``backtest --models ensemble:...`` and ``tune`` run them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cryptodesk.errors import ModelError

if TYPE_CHECKING:
    from cryptodesk.app.runspec import ModelSpec
    from cryptodesk.app.study.spec import ModelSpecEntry
    from cryptodesk.evaluation.tuning_spec import TuningSpec

THREAD_SETTING = "num_threads"


def resolved(entry: ModelSpecEntry) -> tuple[str, dict[str, Any]]:
    """The registry name and config an entry runs as (``ensemble:a+b`` -> ``ensemble`` with
    those members and the entry's combiner)."""
    if not entry.is_ensemble:
        if entry.combiner is not None:
            raise ModelError("combiner applies to ensemble models only")
        return entry.name, dict(entry.config)
    from cryptodesk.app.ensemble import parse_model_token

    name, extra = parse_model_token(entry.name)
    config = {**extra, **entry.config}
    if entry.combiner is not None:
        config["combiner"] = entry.combiner
    return name, config


def tuning_of(entry: ModelSpecEntry, seed: int | None) -> TuningSpec | None:
    """The entry's tuning budget as the run spec's (None when it is not tuned)."""
    if entry.tune is None:
        return None
    from cryptodesk.evaluation.tuning_spec import TuningSpec

    return TuningSpec(trials=entry.tune.trials, timeout_s=entry.tune.timeout,
                      tune_every=entry.tune.tune_every, seed=seed or 0)


def check_model(entry: ModelSpecEntry) -> None:
    """Raise ModelError (one line) when ``entry`` cannot run: unknown model or member, bad
    settings, a bad tuning budget."""
    from cryptodesk.app.runspec import model_spec

    name, config = resolved(entry)
    model_spec(name, config)
    tuning_of(entry, 0)


def targets_of(name: str) -> tuple[str, ...]:
    """What model ``name`` (a registry name or an ``ensemble:a+b`` name) can forecast."""
    from cryptodesk.models.registry import model_entry

    return tuple(model_entry(name.partition(":")[0]).capabilities.targets)


def is_stochastic(entry: ModelSpecEntry) -> bool:
    """True when the model's results depend on its seed (a deterministic model runs once and
    stands for every seed of the study); a tuned model's sampler is seeded, so it is."""
    from cryptodesk.models.registry import model_entry

    if entry.tune is not None:
        return True
    name, config = resolved(entry)
    if name != entry.name:  # an ensemble: stochastic when any member is
        return any(model_entry(m).capabilities.stochastic for m in config.get("members", []))
    return bool(model_entry(name).capabilities.stochastic)


def cell_model(entry: ModelSpecEntry, seed: int | None, threads: int) -> ModelSpec:
    """The model of a cell's run spec: full config, seed applied, threads fixed, labelled
    with the study's label when it differs from the registry name."""
    from cryptodesk.app.runspec import model_spec
    from cryptodesk.models.registry import config_class

    name, config = resolved(entry)
    if any(p.name == THREAD_SETTING for p in config_class(name).params()):
        config.setdefault(THREAD_SETTING, threads)
    label = entry.label if entry.label != name else None
    return model_spec(name, config, seed, label=label, tuning=tuning_of(entry, seed))
