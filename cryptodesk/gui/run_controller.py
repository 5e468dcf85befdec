"""The run controller: a run request becomes a run spec and a job in a worker process; the job's
events go into the session; and the run's follow-ups (export, "Copy as command", saving a model,
warming up a model's libraries) run from here.

Every GUI run is described by a :class:`~cryptodesk.app.runspec.RunSpec` built with
:func:`~cryptodesk.app.runspec.build_run_spec` (the seed from the user's settings through
:func:`~cryptodesk.app.defaults.default_seed`), so ``cryptodesk run <spec>`` replays it
headless with bit-identical forecasts. The controller draws nothing: panels follow the session.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication

from cryptodesk.app.session import Session
from cryptodesk.errors import CryptoDeskError
from cryptodesk.gui.compute import CANCEL_GRACE_S, Compute, JobSlot
from cryptodesk.gui.tasks import TaskRunner

if TYPE_CHECKING:  # the job modules import pandas: loaded with the first job
    from cryptodesk.app.jobs.events import Failed

log = logging.getLogger(__name__)
RUN_JOB = "run"


@dataclass(frozen=True)
class RunRequest:
    """What the training panel asks for: models with their configs, the walk-forward
    protocol, the trading strategy (None: no trading view) and a sentiment dataset."""

    models: list[tuple[str, dict[str, Any]]]
    protocol: Any  # WalkForwardSpec
    strategy: Any = None  # StrategySpec
    dataset: str | None = None
    target: str = "price"  # or "volatility" (with the realised-variance measure rv_method)
    rv_method: str = "auto"
    tune: tuple[list[str], Any] | None = None  # (models to tune, TuningSpec): the Tune option


class RunController(QObject):
    """Runs, their events and their follow-ups (see module docstring).

    Signals: ``run_finished(RunResult)``, ``run_cancelled(note)``, ``run_failed(message)``,
    ``model_saved({"id", "label"})``, ``exported(paths)``, ``status(text)``,
    ``error(title, message, details)``, ``library_loading(text)`` ("" when done).
    """

    run_finished = Signal(object)
    run_cancelled = Signal(str)
    run_failed = Signal(str)
    model_saved = Signal(object)
    exported = Signal(list)
    status = Signal(str)
    error = Signal(str, str, str)
    library_loading = Signal(str)

    def __init__(self, session: Session, compute: Compute, seed: Callable[[], int],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.compute, self._seed = session, compute, seed
        self.run_job = RUN_JOB  # the job kind runs go to (a test points it at a crashing one)
        self.run_slot = JobSlot(compute, "training", self)
        self.save_slot = JobSlot(compute, "save model", self)
        self.warm_slot = JobSlot(compute, "warm-up", self)
        self.export_runner = TaskRunner("export", self)
        self._run_key: Any = None
        self._deferred: tuple[dict[str, Any], str] | None = None  # a run waiting for a warm-up
        self._warm_modules: list[str] = []
        self._warm_pending: set[str] = set()
        self._warming: set[str] = set()
        rs = self.run_slot
        rs.events.connect(self._on_events)
        rs.finished.connect(self._on_finished)
        rs.failed.connect(self._on_failed)
        rs.cancelled.connect(self._on_cancelled)
        ss = self.save_slot
        ss.progress.connect(lambda _f, m, _eta: self.status.emit(f"Saving model: {m}"))
        ss.finished.connect(self._on_saved)
        ss.failed.connect(lambda f: self.error.emit("Saving the model failed", f.message,
                                                    f.details))
        self.warm_slot.finished.connect(self._on_warmed)
        self.warm_slot.failed.connect(lambda f: self._on_warmed([]))
        self.warm_slot.cancelled.connect(lambda _note: self._on_warmed([]))
        self.export_runner.finished.connect(self._on_exported)
        self.export_runner.failed.connect(lambda m, d: self.error.emit("Export failed", m, d))

    @property
    def running(self) -> bool:
        """True while a run is going on (or waits for its libraries to load)."""
        return self.run_slot.busy or self._deferred is not None

    # ---------------------------------------------------------------- runs
    def start(self, series: Any, request: RunRequest) -> Any:
        """Describe the run as a spec and start it in a worker (a running one is cancelled and
        superseded). Returns the spec, or None when the settings are invalid (the user is
        told why)."""
        from cryptodesk.app.runspec import SentimentInput, build_run_spec

        try:
            sentiment = SentimentInput(request.dataset) if request.dataset else None
            spec = build_run_spec(series.frame, request.models, request.protocol,
                                  seed=self._seed(), strategy=request.strategy,
                                  sentiment=sentiment, data=series.ref,
                                  target=request.target, rv_method=request.rv_method)
            if request.tune is not None:  # tuned copies beside the defaults, as `tune` does
                from cryptodesk.app.tune import with_tuning

                spec = with_tuning(spec, *request.tune)
        except CryptoDeskError as exc:  # the core's validation message is what the user needs
            self.error.emit("Invalid settings", str(exc), "")
            return None
        meta = series.meta
        label = (f"Walk-forward of {', '.join(spec.model_names())} on {meta.symbol} "
                 f"{meta.timeframe}")
        if request.dataset:
            label += f" with sentiment {request.dataset}"
        log.info("%s: run spec %s", label, json.dumps(spec.to_dict(), separators=(",", ":")))
        if self.running and self._run_key != series.key:  # superseded: its events are dropped
            self.session.end_run(self._run_key, "cancelled", "Cancelled: another run started.")
        reuse = self._reusable(series.key, spec)
        if reuse:
            label += f" · reusing {', '.join(reuse)} (same settings and data)"
        self._run_key = series.key
        self.session.begin_run(series.key, spec, label + "…")
        payload = {"spec": spec.to_dict(), "reuse": reuse}
        if self.warm_slot.busy:  # the worker loading the libraries will run it next
            from cryptodesk.app.jobs.events import Progress

            self.run_slot.cancel()
            self._deferred = (payload, label)
            self.session.apply_events(series.key, [Progress(None, "waiting for "
                                      f"{', '.join(sorted(self._warming))} to load…")])
        else:
            self._deferred = None
            self.run_slot.start(self.run_job, payload, label)
        self.status.emit(label + "…")
        return spec

    def _reusable(self, key: Any, spec: Any) -> dict[str, Any]:
        """Models of the series' last run that ``spec`` would walk forward identically
        (:mod:`cryptodesk.app.reuse`), also those a cancelled run had finished; a run in
        progress on the series offers none."""
        from cryptodesk.app.reuse import reusable, reusable_scored
        from cryptodesk.app.session import DONE

        last = self.session.results_for(key)
        if last is None or last.spec is None or (self.running and self._run_key == key):
            return {}
        finished = {n for n, m in last.models.items() if m.status == DONE}
        if last.result is None:  # cancelled or failed: the models it finished still count
            return reusable_scored(last.spec, {n: last.models[n].scored for n in finished
                                               if last.models[n].scored is not None}, spec)
        return reusable(last.spec, last.result, finished, spec)

    def cancel(self, grace_s: float = CANCEL_GRACE_S) -> bool:
        """Ask the run to stop at its next batch or boosting round; a worker that has not
        stopped ``grace_s`` later is terminated (and the user told)."""
        if self._deferred is not None:
            self._deferred = None
            self._on_cancelled("")
            return True
        if self.run_slot.cancel(grace_s):
            self.status.emit("Cancelling the run…")
            return True
        return False

    def _on_events(self, events: list) -> None:
        from cryptodesk.app.jobs.events import LogLine

        for event in events:
            if isinstance(event, LogLine):
                level = logging.getLevelName(event.level)
                log.log(level if isinstance(level, int) else logging.WARNING,
                        "worker: %s: %s", event.logger, event.message)
        self.session.apply_events(self._run_key, events)

    def _on_finished(self, result: Any) -> None:
        from cryptodesk.app.external import external_of
        from cryptodesk.models.registry import model_entry

        spec = result.spec
        ranking = result.ranking()
        by = "QLIKE" if spec.target == "volatility" else "RMSE"
        text = f"Run finished in {result.report.get('seconds', 0.0):.1f} s · best by {by}: " \
               f"{ranking[0] if ranking else '-'}"
        if spec.sentiment is not None:
            used = [m.name for m in spec.models if any(
                c.startswith("sent_") for c in external_of(m.config))]
            text += (f" · sentiment {spec.sentiment.dataset} used by "
                     f"{', '.join(used) or 'no model (none reads features)'}")
        for note in result.notes:
            text += f" · {note}"
        self.compute.loaded_libraries.update(
            model_entry(m.name).library for m in spec.models if model_entry(m.name).library)
        self.session.finish_run(self._run_key, result, text)
        self.status.emit(text)
        self.run_finished.emit(result)

    def _on_failed(self, failed: Failed) -> None:
        first = failed.message.splitlines()[0][:200] if failed.message else "unknown error"
        self.session.end_run(self._run_key, "failed", "Failed: " + first)
        title = ("Training failed: the worker process died" if failed.kind == "crash"
                 else "Training failed")
        self.error.emit(title, failed.message, failed.details)
        self.run_failed.emit(failed.message)

    def _on_cancelled(self, note: str) -> None:
        text = "Cancelled; finished models are kept in the table."
        if note:
            text = f"Cancelled: {note}."
        self.session.end_run(self._run_key, "cancelled", text)
        self.status.emit(text if note else "Training cancelled.")
        self.run_cancelled.emit(note)

    # ---------------------------------------------------------------- warm-up
    def warm_up(self, names: Iterable[str]) -> None:
        """Import the libraries of models ``names`` in a worker now (ticking a model), so the
        run does not wait for them. One warm-up at a time, each importing everything asked so
        far, so the idle worker the next run takes has them all."""
        from cryptodesk.models.registry import model_entry

        for name in names:
            entry = model_entry(name)
            if entry.warm_up and self.compute.needs_loading(entry.library):
                self._warm_pending.add(entry.library)
                self._warm_modules += [m for m in entry.warm_up if m not in self._warm_modules]
        self._next_warm_up()

    def _next_warm_up(self) -> None:
        if self.warm_slot.busy or not self._warm_pending:
            return
        self._warming, self._warm_pending = set(self._warm_pending), set()
        self.library_loading.emit(f"Loading {', '.join(sorted(self._warming))}…")
        self.warm_slot.start("warm_up", {"modules": list(self._warm_modules)},
                             f"warm-up {', '.join(sorted(self._warming))}")

    def _on_warmed(self, loaded: list) -> None:
        if loaded:
            self.compute.loaded_libraries.update(self._warming)
        self._warming = set()
        if not self._warm_pending:
            self.library_loading.emit("")
        self._next_warm_up()  # the same worker goes on importing: the run needs it all
        if self._deferred is not None and not self.warm_slot.busy:
            payload, label = self._deferred
            self._deferred = None
            self.run_slot.start(self.run_job, payload, label)  # takes the warm worker

    # ---------------------------------------------------------------- follow-ups
    def export(self, path: Path) -> bool:
        """Write the shown series' run: forecasts CSV at ``path``, metrics CSV, JSON report and
        the run spec beside it (:func:`~cryptodesk.app.run.export_run`), in an I/O thread."""
        current = self.session.current
        if current is None or current.result is None:
            self.error.emit("Nothing to export", "Run a walk-forward on this series first.", "")
            return False
        result, key = current.result, current.key

        def write(ctx: Any) -> tuple[Any, list[Path]]:
            from cryptodesk.app.run import export_run

            ctx.progress(None, f"writing {Path(path).name}")
            return key, export_run(result, Path(path))

        self.export_runner.start(write, "export")
        return True

    def _on_exported(self, done: tuple[Any, list[Path]]) -> None:
        key, paths = done
        self.session.set_spec_path(key, paths[-1])
        self.status.emit("Exported " + ", ".join(p.name for p in paths))
        self.exported.emit(paths)

    def copy_command(self) -> str | None:
        """Put ``cryptodesk run <spec>`` for the shown series' run on the clipboard, saving the
        spec to the user's ``runs`` folder first when it was not exported."""
        from cryptodesk.app.replay import command_line, save_for_replay

        current = self.session.current
        if current is None or current.spec is None:
            self.error.emit("No run to copy", "Run a walk-forward on this series first.", "")
            return None
        path = current.spec_path
        if path is None or not path.exists():
            try:
                path = save_for_replay(current.spec)
            except OSError as exc:
                self.error.emit("Cannot save the run spec", str(exc), "")
                return None
            self.session.set_spec_path(current.key, path)
        text = command_line(path)
        QGuiApplication.clipboard().setText(text)
        self.status.emit(f"Copied to the clipboard: {text}")
        return text

    def save_model(self, name: str, label: str | None = None) -> bool:
        """Fit model ``name`` of the shown series' run (its config from the run spec) on all
        the spec's bars in a worker and save it with the run's metrics."""
        current = self.session.current
        model = None if current is None else current.model(name)
        if current is None or current.result is None or model is None or not model.finished:
            running = self.run_slot.busy and current is not None and current.result is None
            why = ("The run is still going: save once it has finished." if running
                   else f"{name} has no finished run to save.")
            self.error.emit("Nothing to save", why, "")
            return False
        metrics = {k: v for k, v in current.result.metrics()[name].items() if k != "per_horizon"}
        payload = {"spec": current.spec.to_dict(), "model": name, "label": label or "",
                   "metrics": metrics}
        self.save_slot.start("save_model", payload, f"save {name}")
        self.status.emit(f"Saving {name}: fitting on all {current.spec.data.rows or 0:,} bars…")
        return True

    def _on_saved(self, info: dict[str, str]) -> None:
        self.status.emit(f"Saved model {info['label']!r} ({info['id']})")
        self.model_saved.emit(info)

    def shutdown(self) -> None:
        """Cancel every job and wait for the threads (window closing)."""
        self._deferred = None
        for slot in (self.run_slot, self.save_slot, self.warm_slot):
            slot.shutdown()
        self.export_runner.shutdown(15_000)
