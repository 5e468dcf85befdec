"""Tuning as a user runs it: tuned models beside their defaults and naive, in one run.

A tuned model is an ordinary entry of a run spec with a ``tuning`` budget (see
:class:`~cryptodesk.app.runspec.ModelSpec`); :func:`with_tuning` adds one after each chosen
model, labelled ``<model>+tuned``, so the report scores the tuned model, the same model with
default settings and naive on the same points, with Diebold–Mariano p-values. The run executes
like any other (:func:`~cryptodesk.app.run.execute_run`); each trial is handed out as a
:class:`~cryptodesk.evaluation.tuning_spec.TrialDone` event and each tuning as a
:class:`~cryptodesk.evaluation.tuning_spec.TuningDone`, so a front end can draw a live trial table
and a best-so-far curve. ``cryptodesk tune`` and the GUI's Tune option both come here; the
``tune`` job runs :func:`tune_job` in a worker.
"""

from __future__ import annotations

from typing import Any

from cryptodesk.app.runspec import ModelSpec, RunSpec, RunSpecError
from cryptodesk.evaluation.tuning_spec import TuningSpec
from cryptodesk.jobs import TaskContext

TUNED_SUFFIX = "+tuned"


def tunable_models() -> list[str]:
    """Registry models whose config declares a search space (what a Tune option offers)."""
    from cryptodesk.models.registry import config_class, default_registry

    return [e.name for e in default_registry().entries()
            if not e.baseline and config_class(e.name).search_space()]


def search_space_of(name: str, only: tuple[str, ...] = ()) -> dict[str, Any]:
    """The search space a tuning of model ``name`` explores, as JSON (dotted setting name ->
    ``{"range": [lo, hi], "log": ..., "step": ...}`` or ``{"choices": [...]}``)."""
    from cryptodesk.evaluation.tuning_spec import describe_space, search_space
    from cryptodesk.models.registry import config_class

    return describe_space(search_space(config_class(name), only))


def with_tuning(spec: RunSpec, models: list[str], tuning: TuningSpec | dict[str, Any]) -> RunSpec:
    """``spec`` with a tuned copy (``<key>+tuned``, same config, ``tuning`` budget) right
    after each model named in ``models`` (by label or kind)."""
    tuning = tuning if isinstance(tuning, TuningSpec) else TuningSpec.from_dict(tuning)
    chosen = [spec.model(name).key for name in models]
    if not chosen:
        raise RunSpecError("name at least one model to tune")
    for key in chosen:
        search_space_of(spec.model(key).name, tuning.only)  # says so when nothing is tunable
    out: list[ModelSpec] = []
    for model in spec.models:
        out.append(model)
        if model.key in chosen and model.tuning is None:
            label = f"{model.key}{TUNED_SUFFIX}"
            if label not in spec.model_names():
                out.append(ModelSpec(model.name, model.config, label, tuning))
    return spec.with_models(out)


def studies(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per tuned model (its label): one row per outer refit with what the tuning chose
    (``refit``, ``origin``, ``tuned`` (a search ran at this refit), ``best_params``, inner
    Theil's U of the best and of the default settings, trial counts, and the trial history
    where a search ran), read from a run's JSON report."""
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in report.get("models", []):
        rows = []
        for i, fit in enumerate(entry.get("fits") or []):
            tuning = fit.get("tuning")
            if tuning:
                rows.append({"refit": i, "origin": fit.get("origin"), **tuning})
        if rows:
            out[entry["model"]] = rows
    return out


def tune_job(payload: dict[str, Any], ctx: TaskContext) -> Any:
    """Job ``tune``: ``{"spec": run spec, "models": [labels to tune], "tuning": budget}``;
    returns the run's :class:`~cryptodesk.app.run.RunResult` (tuned models beside their
    defaults and naive). Streams ``TrialDone`` / ``TuningDone`` events while it runs."""
    from cryptodesk.app.run import execute_run

    spec = RunSpec.from_dict(payload.get("spec"))
    models = payload.get("models") or []
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise RunSpecError("tune: models must be a list of model names")
    spec = with_tuning(spec, models, TuningSpec.from_dict(payload.get("tuning") or {}))
    return execute_run(spec, ctx).result()
