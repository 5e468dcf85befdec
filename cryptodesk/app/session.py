"""The session: what the desk shows and what it has computed, without Qt.

napari splits its Qt-free ``ViewerModel`` from the ``QtViewer`` that draws it; this is ours.
A :class:`Session` holds the series on show, the results of runs **per series** (keyed by the
series key, so switching series shows that series' results or none), the selected models, the
live progress of the run in progress, the sentiment view and saved-model forecasts. Panels read
it and subscribe to its changes; nothing here knows about windows, so every rule (which row a
run fills, what a cancel leaves behind, which model is shown after a run) is unit-tested without
a display.

Changes are announced through a tiny observer API: :meth:`Session.subscribe` a callback
(optionally for some topics only), which is called with a :class:`Change` after each mutation.
Mutations happen on one thread (the GUI thread, or a test); a job's events are applied in
batches (:meth:`Session.apply_events`), one notification per topic per batch, and views redraw
on their own timers, so a burst of forecast batches costs a few redraws a second.

Each model's entry (:class:`ModelResult`) carries the run spec's full config and the data
fingerprint it ran on, so a later re-run can tell which results still hold.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptodesk.app.buffers import ForecastBuffer, LossBuffer

TOPICS = ("series", "run", "model", "forecasts", "losses", "progress", "selection",
          "sentiment", "future")
# Model statuses, in the order a run moves through them.
QUEUED, RUNNING, DONE, CANCELLED, FAILED = "queued", "running", "done", "cancelled", "failed"
METRIC_KEYS = ("n", "mae", "rmse", "mape", "directional_accuracy", "theils_u", "dm_p_value",
               "qlike", "mse_var", "mz_r2")  # the last three: volatility runs
TRADING_KEYS = ("sharpe", "max_drawdown", "total_return")
ETA_MIN_FRACTION, ETA_MIN_SECONDS = 0.05, 3.0  # an ETA from less is a guess: left out


@dataclass(frozen=True)
class Change:
    """What changed: a topic from :data:`TOPICS`, the series key it concerns (None when not
    series-specific) and the model (for ``model`` / ``forecasts`` / ``losses``)."""

    topic: str
    key: Any = None
    model: str | None = None


Listener = Callable[[Change], None]


@dataclass
class RunProgress:
    """The run in progress (``running``), or how the last one ended (``message``)."""

    running: bool = False
    key: Any = None
    label: str = ""
    fraction: float | None = None
    message: str = ""
    started: float = 0.0

    def eta(self, now: float | None = None) -> float | None:
        """Seconds left, extrapolated from the fraction done so far (the fraction is weighted
        by each model's expected cost); None while too little of the run is seen to tell."""
        if not self.running or self.fraction is None or self.fraction < ETA_MIN_FRACTION:
            return None
        elapsed = (time.monotonic() if now is None else now) - self.started
        if elapsed < ETA_MIN_SECONDS:
            return None
        return elapsed * (1.0 - self.fraction) / self.fraction


@dataclass
class ModelResult:
    """One model of a run on one series: status, metrics, forecasts and losses so far.

    ``config`` is the model's full config from the run spec and ``data_sha256`` the
    fingerprint of the bars it ran on; ``trading`` its strategy's Sharpe, max drawdown and
    total return (fractions), ``health`` the degradation monitor's verdict.
    """

    name: str
    config: dict[str, Any] = field(default_factory=dict)
    data_sha256: str | None = None
    status: str = QUEUED
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None
    forecasts: ForecastBuffer = field(default_factory=ForecastBuffer)
    losses: LossBuffer = field(default_factory=LossBuffer)
    trading: dict[str, float | None] = field(default_factory=dict)
    health: dict[str, Any] = field(default_factory=dict)
    scored: Any = None  # the ModelScored event (its forecasts and timings: app/reuse.py)

    @property
    def finished(self) -> bool:
        return self.status == DONE

    def row(self) -> dict[str, Any]:
        """The results-table row: metrics (NaN for missing), seconds, trading figures in
        percent (Sharpe as is) and the health badge."""
        row: dict[str, Any] = {"model": self.name, "status": self.status}
        if self.metrics:
            row.update({k: _number(self.metrics.get(k)) for k in METRIC_KEYS})
            if self.name == "naive":
                row["dm_p_value"] = None  # naive against itself: no test
        if self.seconds is not None:
            row["seconds"] = float(self.seconds)
        row.update(_trading_cells(self.trading))
        if self.health:
            row["health"] = self.health.get("status")
            row["health_reasons"] = list(self.health.get("reasons") or [])
        return row


@dataclass
class SeriesResults:
    """Everything computed on one series: the last run (spec, per-model results, final
    result), the selected models, where its spec was saved, and a saved model's forecast."""

    key: Any
    spec: Any = None  # RunSpec of the last run
    models: dict[str, ModelResult] = field(default_factory=dict)
    result: Any = None  # RunResult once the run finished
    selection: tuple[str, ...] = ()
    spec_path: Path | None = None
    live_model: str = ""
    loss_model: str = ""
    future: Any = None  # BundleForecast ("Forecast now")
    forecast: Any = None  # FutureForecast (Run ▸ Forecast: ticked models fitted on every bar)

    @property
    def signals(self) -> Any:
        """The run's trading view (SignalsView), or None."""
        return None if self.result is None else self.result.signals

    def model(self, name: str) -> ModelResult | None:
        return self.models.get(name)

    def best(self) -> str | None:
        """The best model by RMSE other than naive (naive if it is alone), once finished."""
        if self.result is None:
            return None
        ranking = self.result.ranking()
        return next((n for n in ranking if n != "naive"), ranking[0] if ranking else None)

    def benchmark_row(self) -> dict[str, Any] | None:
        """Buy-and-hold's trading row (None without a trading view)."""
        signals = self.signals
        if signals is None or signals.benchmark not in signals.metrics:
            return None
        return {"model": BENCHMARK_ROW, "status": "benchmark",
                **_trading_cells(signals.metrics[signals.benchmark])}

    def rows(self) -> list[dict[str, Any]]:
        """Every table row: one per model (run order), then buy-and-hold."""
        rows = [m.row() for m in self.models.values()]
        bench = self.benchmark_row()
        return rows + ([bench] if bench is not None else [])


BENCHMARK_ROW = "buy & hold"


class Session:
    """The desk's state (see module docstring)."""

    def __init__(self) -> None:
        self._listeners: list[tuple[Listener, frozenset[str] | None]] = []
        self.series: Any = None  # what is shown: an object with .key (and .frame)
        self.results: dict[Any, SeriesResults] = {}
        self.progress = RunProgress()
        self.sentiment: Any = None  # SentimentView of the shown series, or None

    # ---------------------------------------------------------------- observers
    def subscribe(self, listener: Listener, topics: Iterable[str] | None = None) -> None:
        """Call ``listener(change)`` after every change (of ``topics`` only, if given)."""
        wanted = None if topics is None else frozenset(topics)
        if wanted is not None and not wanted <= set(TOPICS):
            raise ValueError(f"unknown topic(s): {', '.join(sorted(wanted - set(TOPICS)))}")
        self._listeners.append((listener, wanted))

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling ``listener`` (no-op when it was not subscribed)."""
        self._listeners = [(fn, t) for fn, t in self._listeners if fn != listener]

    def _notify(self, topic: str, key: Any = None, model: str | None = None) -> None:
        change = Change(topic, key, model)
        for listener, topics in list(self._listeners):
            if topics is None or topic in topics:
                listener(change)

    # ---------------------------------------------------------------- what is shown
    @property
    def key(self) -> Any:
        """The key of the series shown (None before one is loaded)."""
        return None if self.series is None else self.series.key

    @property
    def current(self) -> SeriesResults | None:
        """The results of the series shown (None when it has none)."""
        return self.results.get(self.key)

    @property
    def selection(self) -> tuple[str, ...]:
        """The models selected on the series shown (first: the one the chart details)."""
        current = self.current
        return () if current is None else current.selection

    @property
    def spec(self) -> Any:
        """The run spec of the series shown (None before a run)."""
        current = self.current
        return None if current is None else current.spec

    def show_series(self, series: Any) -> None:
        """Show ``series`` (an object with ``.key``); its results, if any, come with it."""
        changed = self.key != getattr(series, "key", None)
        self.series = series
        if changed:
            self.sentiment = None
        self._notify("series", self.key)

    def results_for(self, key: Any) -> SeriesResults | None:
        return self.results.get(key)

    def select(self, names: Iterable[str]) -> None:
        """Select models (of the series shown) to draw; unknown names are ignored."""
        current = self.current
        if current is None:
            return
        names = tuple(n for n in dict.fromkeys(names) if n in current.models
                      or n == BENCHMARK_ROW)
        if names != current.selection:
            current.selection = names
            self._notify("selection", current.key)

    # ---------------------------------------------------------------- runs
    def begin_run(self, key: Any, spec: Any, label: str = "") -> SeriesResults:
        """A run of ``spec`` on series ``key`` starts: its models are queued, the series'
        earlier results are replaced (a saved model's forecast stays)."""
        old = self.results.get(key)
        sha = getattr(getattr(spec, "data", None), "sha256", None)
        results = SeriesResults(key, spec, future=None if old is None else old.future,
                                forecast=None if old is None else old.forecast)
        for model in spec.models:  # keyed like the run's events and results: label, else kind
            key_ = getattr(model, "key", model.name)
            results.models[key_] = ModelResult(key_, dict(model.config), sha)
        self.results[key] = results
        self.progress = RunProgress(True, key, label, None, label, time.monotonic())
        self._notify("run", key)
        self._notify("progress", key)
        return results

    def apply_events(self, key: Any, events: Iterable[Any]) -> None:
        """Apply a batch of the run's job events (progress, model started, forecast batches,
        epoch losses, model scored) to series ``key``; one notification per kind of change."""
        from cryptodesk.app.jobs.events import ModelStarted, Progress
        from cryptodesk.app.run import ModelScored

        results = self.results.get(key)
        if results is None:
            return
        touched: dict[str, set[str]] = {}
        for event in events:
            if isinstance(event, Progress):
                self.progress.fraction, self.progress.message = event.fraction, event.message
                touched.setdefault("progress", set())
            elif isinstance(event, ModelStarted):
                model = results.models.get(event.name)
                if model is not None and model.status == QUEUED:
                    model.status = RUNNING
                    results.live_model = event.name
                    touched.setdefault("model", set()).add(event.name)
            elif isinstance(event, ModelScored):
                model = results.models.get(event.name)
                if model is not None:
                    model.status, model.metrics = DONE, dict(event.metrics)
                    model.seconds = float(event.seconds)
                    model.scored = event
                    model.forecasts.set_frame(event.forecasts)
                    touched.setdefault("model", set()).add(event.name)
                    touched.setdefault("forecasts", set()).add(event.name)
            elif _is_forecast_batch(event):
                model = results.models.get(event.model)
                if model is not None and model.status != DONE:
                    if model.status == QUEUED:
                        model.status = RUNNING
                        touched.setdefault("model", set()).add(event.model)
                    results.live_model = event.model
                    if model.forecasts.n == 0:
                        model.forecasts = ForecastBuffer(int(event.total))
                    model.forecasts.add_batch(event)
                    touched.setdefault("forecasts", set()).add(event.model)
            elif _is_epoch_report(event):
                model = results.models.get(event.model)
                if model is not None:
                    model.losses.add_report(event)
                    results.loss_model = event.model
                    touched.setdefault("losses", set()).add(event.model)
        for topic in ("model", "forecasts", "losses"):
            for name in sorted(touched.get(topic, ())):
                self._notify(topic, key, name)
        if "progress" in touched:
            self._notify("progress", key)

    def finish_run(self, key: Any, result: Any, message: str = "") -> None:
        """The run on ``key`` ended with ``result`` (a RunResult): final metrics, forecasts,
        trading figures and health; the best model becomes the selection. ``message``: what
        the progress line says now."""
        results = self.results.get(key)
        if results is None:
            return
        results.result = result
        metrics, timings = result.metrics(), result.timings()
        signals = result.signals
        for name, model in results.models.items():
            if name in metrics:
                if model.status != DONE:
                    model.forecasts.set_frame(result.forecasts[name])
                model.status, model.metrics = DONE, dict(metrics[name])
                model.seconds = timings.get(name, {}).get("total_seconds", model.seconds)
            if signals is not None:
                model.trading = dict(signals.metrics.get(name, {}))
                model.health = dict(signals.monitoring.get(name, {}))
        best = results.best()
        results.selection = (best,) if best else ()
        self.progress = RunProgress(False, key, self.progress.label, 1.0,
                                    message or self.progress.message, self.progress.started)
        self._notify("run", key)  # the series' results changed wholesale, selection included
        self._notify("progress", key)

    def end_run(self, key: Any, status: str, message: str = "") -> None:
        """The run on ``key`` stopped without a result (``cancelled`` or ``failed``): models
        not finished get that status; finished ones keep their rows."""
        results = self.results.get(key)
        if results is not None:
            for model in results.models.values():
                if model.status in (QUEUED, RUNNING):
                    model.status = status
        self.progress = RunProgress(False, key, self.progress.label, self.progress.fraction,
                                    message, self.progress.started)
        self._notify("run", key)
        self._notify("progress", key)

    def set_spec_path(self, key: Any, path: Path) -> None:
        """Remember where the spec of ``key``'s run was written (export, copy as command)."""
        results = self.results.get(key)
        if results is not None:
            results.spec_path = Path(path)

    # ---------------------------------------------------------------- other views
    def set_future(self, key: Any, forecast: Any) -> None:
        """A saved model's forecast after the last bar of series ``key`` (None clears)."""
        results = self.results.setdefault(key, SeriesResults(key))
        results.future = forecast
        self._notify("future", key)

    def set_forecast(self, key: Any, forecast: Any) -> None:
        """The ticked models' forecasts after the last bar of series ``key`` (a
        FutureForecast; None clears); announced as a ``future`` change."""
        results = self.results.setdefault(key, SeriesResults(key))
        results.forecast = forecast
        self._notify("future", key)

    def set_sentiment(self, view: Any) -> None:
        """The sentiment features of the series shown (None hides them)."""
        self.sentiment = view
        self._notify("sentiment", self.key)


def _trading_cells(values: dict[str, Any]) -> dict[str, float | None]:
    """Sharpe as is, drawdown and return in percent (None stays None)."""
    out: dict[str, float | None] = {}
    for k in TRADING_KEYS:
        if k in values:
            v = _number(values.get(k))
            out[k] = v if v is None or k == "sharpe" else v * 100.0
    return out


def _number(value: Any) -> float | None:
    """A metric as a float (NaN when not finite), None when missing or not a number."""
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else float("nan")


def _is_forecast_batch(event: Any) -> bool:
    from cryptodesk.evaluation.walkforward import ForecastBatch

    return isinstance(event, ForecastBatch)


def _is_epoch_report(event: Any) -> bool:
    from cryptodesk.models.epochs import EpochReport

    return isinstance(event, EpochReport)
