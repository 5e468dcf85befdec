"""The model library as a user works with it: train and save, save a run's model, rename,
delete, export and import bundles. The workflows behind ``cryptodesk train`` / ``models ...``
and the GUI's library panel. No Qt; progress and cancellation go through a
:class:`~cryptodesk.jobs.TaskContext`.

Why ``train`` evaluates before it fits: a saved model shown without out-of-sample numbers
invites trusting it. By default the last part of the data is walked forward first (the model
next to naive, as everywhere in CryptoDesk), those metrics go into the manifest and the
library, and only then is the final model fitted on all the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from cryptodesk.evaluation.tuning_spec import TuningSpec
from cryptodesk.io.bundles import BundleInfo, ModelLibrary
from cryptodesk.jobs import TaskContext, null_context

if TYPE_CHECKING:
    from cryptodesk.app.runspec import RunSpec

# The holdout used by train's evaluation: WF1's test size and refit cadence, capped at a fifth
# of the data so short series still keep most of their bars for training.
HOLDOUT_FRACTION = 0.2


@dataclass(frozen=True)
class SavedModel:
    """What ``train`` produced: the bundle and the evaluation metrics (model and naive)."""

    bundle: BundleInfo
    metrics: dict[str, Any]
    naive_metrics: dict[str, Any]


def holdout_spec(candles: pd.DataFrame, horizon: int) -> Any:
    """The walk-forward spec train uses to evaluate before the final fit."""
    from cryptodesk.evaluation.presets import preset_spec

    base = preset_spec("wf1", candles.attrs["timeframe"])
    test = max(1, min(base.test_size or 365, int(len(candles) * HOLDOUT_FRACTION)))
    return base.replace(test_size=test, horizon=horizon)


def train_and_save(
    candles: pd.DataFrame,
    kind: str,
    config: dict[str, Any] | None = None,
    *,
    horizon: int = 1,
    label: str | None = None,
    evaluate: bool = True,
    seed: int | None = None,
    ctx: TaskContext | None = None,
    library: ModelLibrary | None = None,
    metrics: dict[str, Any] | None = None,
    tuning: TuningSpec | dict[str, Any] | None = None,
    with_symbols: tuple[str, ...] = (),
    store: Any = None,
) -> SavedModel:
    """Evaluate (optional), fit ``kind`` on all of ``candles`` and save it as a bundle.

    ``metrics``: with ``evaluate=False``, out-of-sample metrics measured elsewhere (the GUI's
    walk-forward run of the same config) to record in the manifest instead of none.
    ``tuning``: tune first (nested: the evaluation tunes inside each of its training windows,
    the final fit on inner folds of all the data); the bundle holds the model with the chosen
    settings and its manifest the studies. ``with_symbols`` and the config's ``pretrain``
    series are joined from the store (unless the candles carry them already).
    """
    from cryptodesk.evaluation.backtest import BASELINE, assemble_report
    from cryptodesk.evaluation.walkforward import walk_forward
    from cryptodesk.models.registry import create

    ctx = ctx or null_context()
    library = library or ModelLibrary()
    config = dict(config or {})
    if seed is not None and "seed" in {p.name for p in _config_params(kind)}:
        config["seed"] = seed
    candles, config = _with_cross(candles, kind, config, with_symbols, store)
    if tuning is not None and not isinstance(tuning, TuningSpec):
        tuning = TuningSpec.from_dict(tuning)

    from cryptodesk.app.run import make_forecaster
    from cryptodesk.app.runspec import ModelSpec

    entry = ModelSpec(kind, config, kind, tuning)  # labelled as its kind: a bundle's name

    def make() -> Any:
        return make_forecaster(entry)

    model = make()  # validates the config before any long work
    metrics = headline(metrics) if metrics and not evaluate else {}
    naive_metrics: dict[str, Any] = {}
    evaluation: dict[str, Any] = {}
    fit_ctx = ctx
    if evaluate:
        spec = holdout_spec(candles, horizon)
        sub = ctx.child(0.0, 0.7, "evaluate: ")
        results = {BASELINE: walk_forward(create(BASELINE), candles, spec, sub.child(0, 0.02)),
                   kind: walk_forward(make(), candles, spec, sub.child(0.02, 1.0), label=kind)}
        report = assemble_report(candles, results, spec, seed=seed)
        metrics = headline(report.metrics.get(kind, {}))
        from cryptodesk.evaluation.monitoring import monitor_report

        # rolling Theil's U / coverage at the end of the holdout: the library shows a
        # "degraded — retrain suggested" badge when the model was already decaying
        metrics["monitoring"] = monitor_report(report)[kind].to_dict()
        naive_metrics = headline(report.metrics.get("naive", {}))
        evaluation = {
            "walk_forward": spec.to_dict(),
            "test_start": report.results[kind].test_start.isoformat(),
            "naive_metrics": naive_metrics,
        }
        fit_ctx = ctx.child(0.7, 1.0, "final fit: ")
    fit_ctx.progress(0.0, f"fitting {kind} on {len(candles):,} bars")
    model.fit(candles, fit_ctx, horizon)
    fit_ctx.progress(1.0, "saving")
    bundle = library.save(model, candles, label=label, metrics=metrics, evaluation=evaluation,
                          seed=config.get("seed"))
    return SavedModel(bundle, metrics, naive_metrics)


def _with_cross(candles: pd.DataFrame, kind: str, config: dict[str, Any],
                with_symbols: tuple[str, ...], store: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The candles with the series the model needs joined, and its config with the ``with``
    columns among its inputs (nothing to do when the candles carry them already)."""
    from cryptodesk.app.cross_asset import cross_inputs, join_cross, pretrain_symbols
    from cryptodesk.app.external import add_external
    from cryptodesk.features.cross_asset import pretrain_columns, with_columns

    pretrain = [s for s in pretrain_symbols([(kind, config)])
                if not set(pretrain_columns(s).values()) <= set(candles.columns)]
    if not pretrain and not with_symbols:
        return candles, config
    cross = cross_inputs(candles, with_symbols, pretrain, store=store)
    columns = tuple(c for item in cross if item.role == "with"
                    for c in with_columns(item.data.symbol, item.lags))
    if columns:
        config = add_external([(kind, config)], columns)[0][1]
    return join_cross(candles, cross, store), config


def headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """A model's metrics without the per-horizon detail, as plain JSON values (for manifests)."""
    from cryptodesk.safejson import to_jsonable

    return to_jsonable({k: v for k, v in metrics.items() if k != "per_horizon"})


def _config_params(kind: str) -> list[Any]:
    from cryptodesk.models.registry import config_class

    return config_class(kind).params()


# ---------------------------------------------------------------------- a run's model
def save_run_model(spec: RunSpec, name: str, ctx: TaskContext, *, label: str | None = None,
                   metrics: dict[str, Any] | None = None,
                   library: ModelLibrary | None = None) -> BundleInfo:
    """Fit model ``name`` of a run (its config from the run spec) on all of the spec's data,
    with the same external inputs, and save it with the run's out-of-sample ``metrics``."""
    from cryptodesk.app.run import with_inputs
    from cryptodesk.app.spec_candles import load_candles

    model = spec.model(name)
    ctx.progress(None, f"loading {spec.data.label}")
    candles = with_inputs(load_candles(spec.data), spec)
    ctx.check_cancelled()
    saved = train_and_save(candles, model.name, model.config, horizon=spec.protocol.horizon,
                           label=label, evaluate=False, ctx=ctx, library=library,
                           metrics=metrics, tuning=model.tuning)
    return saved.bundle


def save_model_job(payload: dict[str, Any], ctx: TaskContext) -> dict[str, str]:
    """Job ``save_model``: ``{"spec": run spec, "model": name, "label": ..., "metrics": ...}``;
    returns the new bundle's id and label."""
    from cryptodesk.app.runspec import RunSpec

    info = save_run_model(RunSpec.from_dict(payload.get("spec")), str(payload.get("model")), ctx,
                          label=payload.get("label") or None,
                          metrics=dict(payload.get("metrics") or {}))
    return {"id": info.id, "label": info.label}


# ---------------------------------------------------------------------- managing bundles
@dataclass(frozen=True)
class LibraryListing:
    """The saved bundles (newest first; damaged ones carry ``error``), a note for the user and
    the bundle to select."""

    bundles: list[BundleInfo]
    note: str = ""
    select: str | None = None


def list_bundles(ctx: TaskContext, note: str = "", select: str | None = None,
                 library: ModelLibrary | None = None) -> LibraryListing:
    """Every bundle in the library."""
    ctx.progress(None, "listing saved models")
    return LibraryListing((library or ModelLibrary()).list(), note, select)


def rename_bundle(ref: str, label: str, ctx: TaskContext,
                  library: ModelLibrary | None = None) -> LibraryListing:
    library = library or ModelLibrary()
    info = library.rename(ref, label)
    return list_bundles(ctx, f"renamed {info.id} to {info.label!r}", info.id, library)


def delete_bundle(ref: str, ctx: TaskContext, library: ModelLibrary | None = None) -> LibraryListing:
    library = library or ModelLibrary()
    info = library.delete(ref)
    return list_bundles(ctx, f"deleted {info.label or info.id}", None, library)


def export_bundle(ref: str, out: Path, ctx: TaskContext,
                  library: ModelLibrary | None = None) -> LibraryListing:
    library = library or ModelLibrary()
    ctx.progress(None, f"writing {Path(out).name}")
    path = library.export_zip(ref, Path(out))
    return list_bundles(ctx, f"exported to {path}", ref, library)


def import_bundle(path: Path, ctx: TaskContext, library: ModelLibrary | None = None) -> LibraryListing:
    library = library or ModelLibrary()
    ctx.progress(None, f"importing {Path(path).name}")
    info = library.import_zip(Path(path))
    return list_bundles(ctx, f"imported {info.label or info.id}", info.id, library)
