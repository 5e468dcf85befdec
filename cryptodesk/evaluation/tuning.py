"""Nested walk-forward tuning with Optuna: tuning that cannot leak into the score it reports.

Tuning hyperparameters on the same walk-forward that reports the score makes the score
optimistic (Cawley & Talbot, JMLR 2010: selection bias). Here tuning is *inside* the model:
:class:`TunedForecaster` is a :class:`~cryptodesk.models.base.Forecaster` whose ``fit(train)``

1. runs an Optuna study whose trials are scored on inner walk-forward folds cut from ``train``
   only (:func:`cryptodesk.models.folds.out_of_fold`: inner Theil's U of the trial's config);
2. fits the model with the best settings on the whole of ``train``.

The outer walk-forward hands ``fit`` only the rows up to the outer origin (that slice is its
whole guarantee against look-ahead), so the outer test block can never reach a trial; a test
perturbs it and checks every trial is unchanged. The outer score of a tuned model is therefore
as honest as any other model's, and it is reported beside the model with default settings and
naive.

- *Search space*: what each model's config declares (``param(..., search=...)``), optionally
  narrowed by ``TuningSpec.only``. Trial 0 is always the default config, so a tuning can only
  pick something that scored at least as well as the defaults on the inner folds.
- *When*: at the first outer refit and every ``tune_every``-th one; refits in between refit the
  last best settings on their (longer) window.
- *Pruning*: the nets report the validation loss over the naive loss per epoch, every model its
  running inner Theil's U per inner fold; Optuna's median pruner stops trials that fall behind.
- *Determinism*: a seeded TPE sampler, sequential trials and deterministic fits give the same
  trials for the same seed, data and trial count (a time limit makes the count, and so the
  result, machine-dependent).
- *Events*: each finished trial is handed out as a :class:`TrialDone` partial result (the live
  trial table and best-so-far curve), each tuning as a :class:`TuningDone`. The inner folds'
  own forecasts and epochs stay inside the trial: they are not the run's.
- *Storage*: in memory, or the user's ``sqlite:///`` file (numbers and setting names only),
  where a re-run resumes each study instead of starting it again.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cryptodesk.errors import ModelError
from cryptodesk.evaluation.tuning_spec import (
    TrialDone,
    TuningDone,
    TuningError,
    TuningSpec,
    describe_space,
    search_space,
)
from cryptodesk.jobs import TaskContext
from cryptodesk.models.base import Forecast, Forecaster
from cryptodesk.models.capabilities import Capabilities
from cryptodesk.models.config import ModelConfig
from cryptodesk.models.epochs import EpochReport
from cryptodesk.models.folds import FoldForecasts, out_of_fold
from cryptodesk.models.registry import ModelRegistry, default_registry
from cryptodesk.params import Choice, ParamSpec, Range, Search

# intermediate-value steps: fold j's epochs report at j * STEP + epoch, its end at j * STEP + STEP - 1
STEP = 100_000
TUNE_SHARE = 0.85  # of a refit's progress bar: the search; the rest is the final fit


@dataclass
class StudySummary:
    """What one tuning found (JSON-able through :meth:`to_dict`)."""

    refit: int
    origin: str
    best_params: dict[str, Any]
    best_value: float | None
    default_value: float | None
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        """Trials by final state."""
        out = {"complete": 0, "pruned": 0, "failed": 0}
        for row in self.history:
            out[row["state"]] = out.get(row["state"], 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"refit": self.refit, "origin": self.origin, "best_params": self.best_params,
                "best_value": self.best_value, "default_value": self.default_value,
                **self.counts(), "seconds": self.seconds, "history": self.history}


# ---------------------------------------------------------------------- search space
def with_values(config: ModelConfig, values: dict[str, Any]) -> ModelConfig:
    """``config`` with dotted-name ``values`` set (validated: ModelError when invalid)."""
    data = config.to_dict()
    for name, value in values.items():
        node = data
        *groups, leaf = name.split(".")
        for g in groups:
            node = node[g]
        node[leaf] = list(value) if isinstance(value, tuple) else value
    return type(config).from_dict(data)


def _label(value: Any) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def _suggest(trial: Any, name: str, spec: ParamSpec, search: Search) -> Any:
    if isinstance(search, Range):
        if spec.kind == "int":
            return trial.suggest_int(name, int(search.lo), int(search.hi), log=search.log,
                                     step=int(search.step or 1))
        return trial.suggest_float(name, search.lo, search.hi, log=search.log, step=search.step)
    labels = [_label(v) for v in search.values]
    return search.values[labels.index(trial.suggest_categorical(name, labels))]


def _default_trial(config: ModelConfig,
                   space: dict[str, tuple[ParamSpec, Search]]) -> dict[str, Any]:
    """The default config as Optuna parameters (settings outside their space are left out)."""
    data = config.to_dict()
    out: dict[str, Any] = {}
    for name, (_spec, search) in space.items():
        value: Any = data
        for part in name.split("."):
            value = value[part]
        if isinstance(search, Range):
            if value is not None and search.lo <= value <= search.hi:
                out[name] = value
        else:
            label = _label(value)
            if label in [_label(v) for v in search.values]:
                out[name] = label
    return out


def _decode(params: dict[str, Any], space: dict[str, tuple[ParamSpec, Search]]) -> dict[str, Any]:
    """Optuna's stored parameters -> setting values (choices are stored as JSON labels)."""
    out = {}
    for name, raw in params.items():
        search = space[name][1] if name in space else None
        out[name] = json.loads(raw) if isinstance(search, Choice) else raw
    return out


# ---------------------------------------------------------------------- the tuned model
class TunedForecaster(Forecaster):
    """A registry model whose settings are tuned inside every (K-th) training window.

    ``kind``/``config``: the model and its base config (the defaults the search starts from and
    keeps for everything it does not tune). After a fit, ``model`` is the fitted model with the
    chosen settings, ``config`` its config, and ``studies`` every tuning's summary. ``save``
    writes that fitted model (a plain model of ``kind``: loading it needs nothing of this
    class) and :meth:`manifest_sections` adds the tuning record to its bundle's manifest.
    """

    def __init__(self, kind: str, config: ModelConfig | dict[str, Any] | None = None,
                 tuning: TuningSpec | dict[str, Any] | None = None, *, label: str | None = None,
                 study_prefix: str | None = None, registry: ModelRegistry | None = None) -> None:
        self.registry = registry or default_registry()
        self.kind = self.registry.entry(kind).name
        cls = self.registry.config_class(self.kind)
        if config is None or isinstance(config, dict):
            config = cls.from_dict(config)
        super().__init__(config)
        self.name = self.kind  # type: ignore[misc]  # results and files name the model kind
        self.base_config: ModelConfig = config
        self.tuning = tuning if isinstance(tuning, TuningSpec) else TuningSpec.from_dict(tuning)
        self.label = label or f"{self.kind}+tuned"
        self.study_prefix = study_prefix or self.label
        self.space = search_space(cls, self.tuning.only)
        self.model: Forecaster | None = None
        self.best_values: dict[str, Any] | None = None
        self.refits = 0
        self.studies: list[StudySummary] = []
        self._last: dict[str, Any] = {}

    @property  # type: ignore[override]
    def capabilities(self) -> Capabilities:
        return self.registry.entry(self.kind).capabilities

    def min_train_bars(self) -> int:
        inner = self.registry.create(self.kind, self.base_config)
        return max(inner.min_train_bars(), inner.min_history()) + self.tuning.inner_bars()

    inner_calibrates = True  # the fitted model of the chosen settings calibrates its own band

    def min_history(self) -> int:
        model = self.model or self.registry.create(self.kind, self.base_config)
        return model.min_history()

    def history_window(self) -> int:
        """The inner model's window (its conformal band reads a volatility window too)."""
        if self.model is not None:
            return self.model.history_window()
        return super().history_window()

    # ------------------------------------------------------------------ fit / predict
    def fit(self, train: pd.DataFrame, ctx: TaskContext | None = None,
            horizon: int = 1, target: str = "price") -> Forecaster:
        """Tune (when due) on inner folds of ``train``, then fit the best settings on it."""
        if target != "price":
            raise TuningError(f"{self.label}: tuning scores inner folds by Theil's U on closes; "
                              f"it does not tune for the {target} target")
        need = self.min_train_bars()
        if len(train) < need:
            spec = self.tuning
            raise TuningError(
                f"{self.label}: {len(train)} training bars are too few for {spec.inner_folds} "
                f"inner folds of {spec.inner_fold_bars} bars (need {need})")
        return super().fit(train, ctx, horizon, target)

    def _fit(self, train: pd.DataFrame, ctx: TaskContext, horizon: int) -> None:
        refit, self.refits = self.refits, self.refits + 1
        tuned = self.tuning.tunes_at(refit) or self.best_values is None
        if tuned:
            study = self._search(train, ctx.child(0.0, TUNE_SHARE, "tuning: "), horizon, refit)
            self.studies.append(study)
            self.best_values = study.best_params
        assert self.best_values is not None
        config = with_values(self.base_config, self.best_values)
        model = self.registry.create(self.kind, config)
        model.fit(train, ctx.child(TUNE_SHARE, 1.0, "best settings: "), horizon, self.target)
        self.model, self.config = model, config
        last = self.studies[-1]
        self._last = {"tuned": tuned, "tuned_at_refit": last.refit,
                      "best_params": self.best_values, "inner_theils_u": last.best_value,
                      "default_inner_theils_u": last.default_value,
                      **({"trials": last.counts(), "history": last.history} if tuned else {})}

    def _predict(self, history: pd.DataFrame, horizon: int) -> Forecast:
        if self.model is None:
            raise ModelError(f"{self.label}: predict() before fit()")
        return self.model.predict(history, horizon)

    def fit_summary(self) -> dict[str, Any]:
        inner = self.model.fit_summary() if self.model is not None else {}
        return {**inner, "tuning": self._last}

    # ------------------------------------------------------------------ the search
    def _search(self, train: pd.DataFrame, ctx: TaskContext, horizon: int,
                refit: int) -> StudySummary:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        spec = self.tuning
        origin = train.index[-1].isoformat()
        started = time.perf_counter()
        sampler = optuna.samplers.TPESampler(seed=spec.seed,
                                             n_startup_trials=spec.startup_trials)
        pruner = (optuna.pruners.MedianPruner(n_startup_trials=max(1, spec.startup_trials))
                  if spec.pruning else optuna.pruners.NopPruner())
        meta = train.attrs
        name = (f"{self.study_prefix}|{meta.get('symbol', '')} {meta.get('timeframe', '')}|"
                f"{origin}|h{horizon}|seed{spec.seed}")
        study = optuna.create_study(direction="minimize", sampler=sampler, pruner=pruner,
                                    storage=_storage(spec.storage), study_name=name,
                                    load_if_exists=True)
        if not study.trials:
            study.enqueue_trial(_default_trial(self.base_config, self.space))
        finished = [t for t in study.trials if t.state.is_finished()]
        remaining = max(0, spec.trials - len(finished))
        objective = _Objective(self, train, horizon, ctx)
        report = _Reporter(self, refit, origin, ctx, spec.trials)
        if remaining:
            study.optimize(objective, n_trials=remaining, timeout=spec.timeout_s,
                           callbacks=[report], catch=(ModelError,), gc_after_trial=False)
        return _summary(study, self.space, refit, origin, time.perf_counter() - started,
                        self.label, ctx)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Save the fitted model with the chosen settings (a plain model of ``kind``)."""
        if self.model is None:
            raise ModelError(f"{self.label}: cannot save a model that was never fitted")
        return self.model.save(directory)

    def manifest_sections(self) -> dict[str, Any]:
        """The tuning record for a bundle's manifest: budget, space, every study."""
        return {"tuning": {"spec": self.tuning.to_dict(), "space": describe_space(self.space),
                           "base_config": self.base_config.to_dict(),
                           "studies": [s.to_dict() for s in self.studies]}}


class _Objective:
    """One trial: the trial's config scored by inner Theil's U on the inner folds."""

    def __init__(self, owner: TunedForecaster, train: pd.DataFrame, horizon: int,
                 ctx: TaskContext) -> None:
        self.owner, self.train, self.horizon, self.ctx = owner, train, horizon, ctx

    def __call__(self, trial: Any) -> float:
        import optuna

        owner = self.owner
        values = {n: _suggest(trial, n, s, sp) for n, (s, sp) in owner.space.items()}
        config = with_values(owner.base_config, values)  # ModelError: the trial fails
        # Trials are scored on point forecasts only: no conformal band is calibrated for them.
        config = with_values(config, {"interval": "model"})
        fold = [0]

        def on_partial(obj: Any) -> None:
            if isinstance(obj, EpochReport) and obj.val_loss is not None and obj.naive_val_loss:
                trial.report(obj.val_loss / obj.naive_val_loss, fold[0] * STEP + obj.epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned()

        def on_fold(j: int, so_far: FoldForecasts) -> None:
            fold[0] = j + 1
            trial.report(so_far.theils_u(), j * STEP + STEP - 1)
            if trial.should_prune():
                raise optuna.TrialPruned()

        budget = owner.tuning.trials
        sub = self.ctx.child(trial.number / budget, (trial.number + 1) / budget,
                             f"trial {trial.number + 1}/{budget}: ", partial=on_partial)
        spec = owner.tuning
        result = out_of_fold(lambda: owner.registry.create(owner.kind, config), self.train,
                             spec.inner_folds, spec.inner_fold_bars, self.horizon, sub, on_fold)
        value = result.theils_u()
        if not math.isfinite(value):
            raise ModelError(f"trial {trial.number}: no finite inner score")
        return value


class _Reporter:
    """Optuna callback: hands each finished trial out as a :class:`TrialDone`."""

    def __init__(self, owner: TunedForecaster, refit: int, origin: str, ctx: TaskContext,
                 budget: int) -> None:
        self.owner, self.refit, self.origin, self.ctx, self.budget = owner, refit, origin, ctx, budget
        self.started = time.perf_counter()

    def __call__(self, study: Any, trial: Any) -> None:
        best = _best(study)
        self.ctx.partial(TrialDone(
            model=self.owner.label, refit=self.refit, origin=self.origin, trial=trial.number,
            state=_state(trial), params=_decode(trial.params, self.owner.space),
            value=trial.value if _state(trial) == "complete" else None,
            best_value=None if best is None else best.value,
            best_trial=None if best is None else best.number,
            seconds=(trial.duration.total_seconds() if trial.duration else 0.0),
            trials=self.budget,
        ))


def _best(study: Any) -> Any:
    done = [t for t in study.trials if _state(t) == "complete"]
    return min(done, key=lambda t: (t.value, t.number)) if done else None


def _state(trial: Any) -> str:
    name = trial.state.name.lower()
    return {"fail": "failed"}.get(name, name)


def _summary(study: Any, space: dict[str, tuple[ParamSpec, Search]], refit: int, origin: str,
             seconds: float, label: str, ctx: TaskContext) -> StudySummary:
    trials = [t for t in study.trials if t.state.is_finished()]
    best = _best(study)
    if best is None:
        raise TuningError(f"{label}: no trial finished at the refit of {origin[:10]} "
                          f"({len(trials)} pruned or failed); raise the budget or time limit")
    default = next((t for t in trials if t.number == 0), None)
    summary = StudySummary(
        refit=refit, origin=origin, best_params=_decode(best.params, space),
        best_value=best.value,
        default_value=default.value if default is not None and _state(default) == "complete"
        else None,
        history=[{"trial": t.number, "state": _state(t),
                  "value": t.value if _state(t) == "complete" else None,
                  "params": _decode(t.params, space)} for t in trials],
        seconds=seconds,
    )
    c = summary.counts()
    ctx.partial(TuningDone(label, refit, origin, summary.best_params, summary.best_value,
                           summary.default_value, c["complete"], c["pruned"], c["failed"],
                           seconds))
    return summary


def _storage(url: str | None) -> Any:
    """Optuna storage for the user's sqlite file (created on first use), or None (memory)."""
    if url is None:
        return None
    import optuna

    path = Path(url.removeprefix("sqlite:///"))
    if path.parent and not path.parent.exists():
        raise TuningError(f"tuning storage folder {path.parent} does not exist")
    return optuna.storages.RDBStorage(url)
