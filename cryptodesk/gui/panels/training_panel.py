"""The training panel: model queue, hyperparameter forms, walk-forward and trading settings,
external features, Train/Cancel and the run's progress.

Models and their one-line descriptions come from the registry's entries; ticking several
queues them in one run (the baseline is always part of it). Every form is drawn by
:class:`~cryptodesk.gui.panels.param_form.ParamForm` from a config class: the model's
(``config_class(name)``, from its light module: no model library is imported here), the
walk-forward protocol's (``WalkForwardSpec``, with a button for the WF1 preset) and the trading
strategy's (``StrategySpec``). Those modules import pandas, so they are imported once in an I/O
thread after the window is shown; the forms are then built in the GUI thread on demand.

Ticking a model announces it (``model_ticked``): the app warms its library up in a worker.
The progress line follows the session's run progress.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from cryptodesk.app.session import Change, Session
from cryptodesk.errors import CryptoDeskError, DataError
from cryptodesk.gui.panels.dataset_picker import DatasetPicker
from cryptodesk.gui.panels.ensemble_box import EnsembleBox
from cryptodesk.gui.panels.forecast_bar import ForecastBar
from cryptodesk.gui.panels.param_form import ParamForm
from cryptodesk.gui.panels.target_box import TargetBox
from cryptodesk.gui.panels.tune_box import TuneBox
from cryptodesk.gui.panels.wf_strip import WalkForwardStrip
from cryptodesk.gui.run_controller import RunRequest
from cryptodesk.gui.session_view import follow, redraw_timer
from cryptodesk.gui.tasks import TaskRunner, format_eta

NAME_ROLE = Qt.ItemDataRole.UserRole + 3


class TrainingPanel(QWidget):
    """Signals: ``train_requested()``, ``cancel_requested()``, ``model_ticked(name)``,
    ``form_ready(name)``, ``forms_ready()`` (walk-forward and strategy forms drawn),
    ``dataset_changed(name or None)``, ``error(title, message, details)``."""

    train_requested = Signal()
    cancel_requested = Signal()
    model_ticked = Signal(str)
    form_ready = Signal(str)
    forms_ready = Signal()
    dataset_changed = Signal(object)
    error = Signal(str, str, str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from cryptodesk.models.registry import default_registry

        self.session = session
        self._timeframe = "1d"
        self._forms: dict[str, ParamForm] = {}
        self._classes_ready = False
        self._entries = {e.name: e for e in default_registry().entries()}

        self.models = QListWidget()
        self.models.setToolTip("Tick the models to run; the baseline is always included")
        for entry in self._entries.values():
            item = QListWidgetItem(entry.name)
            item.setData(NAME_ROLE, entry.name)
            item.setToolTip(entry.description or entry.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            if entry.baseline:
                item.setCheckState(Qt.CheckState.Checked)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsUserCheckable)
                item.setText(f"{entry.name}  (baseline, always run)")
            self.models.addItem(item)
        self.models.setMaximumHeight(170)
        self.models.currentItemChanged.connect(self._on_current)
        self.models.itemChanged.connect(self._on_item_changed)

        self.model_title = QLabel("")
        self.model_title.setWordWrap(True)
        self.stack = QStackedWidget()
        self.loading = QLabel("Loading the settings…")
        self.loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.loading)
        self.advanced = QCheckBox("Show advanced settings")
        self.advanced.toggled.connect(self._on_advanced)
        params_box = QGroupBox("Hyperparameters")
        pl = QVBoxLayout(params_box)
        pl.addWidget(self.model_title)
        pl.addWidget(self.stack)
        pl.addWidget(self.advanced)

        self.wf_form: ParamForm | None = None
        self.strategy_form: ParamForm | None = None
        self._pending: dict[str, dict[str, Any]] = {"wf": {}, "strategy": {}}
        self.wf_loading = QLabel("Loading the walk-forward settings…")
        self.wf1_button = QPushButton("WF1 preset")
        self.wf1_button.setToolTip(
            "Horizon 1; last 365 daily bars (720 hourly) as test; refit every 30 (168 hourly); "
            "expanding window")
        self.wf1_button.clicked.connect(self.apply_wf1)
        # kept in sight under the scrolling forms: a summary line, the form folded out on demand
        self.wf_strip = wf_box = WalkForwardStrip()
        self.wf_layout = wf_box.body_layout
        self.wf_layout.addWidget(self.wf_loading)
        self.wf_layout.addWidget(self.wf1_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.strategy_loading = QLabel("Loading the trading settings…")
        strategy_box = QGroupBox("Trading the forecasts")
        strategy_box.setToolTip("How the out-of-sample forecasts become positions, and what "
                                "trading costs: the equity curve and trading columns follow it")
        self.strategy_layout = QVBoxLayout(strategy_box)
        self.strategy_layout.addWidget(self.strategy_loading)

        self.tune = TuneBox()
        self.ensemble = EnsembleBox([e.name for e in self._entries.values()
                                     if not e.capabilities.composite])
        self.models.itemChanged.connect(lambda _item: self.tune.set_ticked(self.checked()))
        self.picker = DatasetPicker()
        self.picker.dataset_changed.connect(self.dataset_changed)
        self.picker.error.connect(self.error)

        inner = QWidget()
        il = QVBoxLayout(inner)
        il.setContentsMargins(0, 0, 0, 0)
        models_box = QGroupBox("Models")
        QVBoxLayout(models_box).addWidget(self.models)
        self.target_box = TargetBox()  # price or volatility: the models offered follow it
        self.target_box.target_changed.connect(self._offer_models)
        self._offer_models(self.target_box.target())
        for box in (self.target_box, models_box, params_box, self.tune, self.ensemble,
                    strategy_box, self.picker):
            il.addWidget(box)
        il.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(inner)

        self.train_button = QPushButton("Train")
        self.train_button.setToolTip("Run the walk-forward for the ticked models (Ctrl+R)")
        self.train_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the run (Esc)")
        self.cancel_button.setEnabled(False)
        self.train_button.clicked.connect(self.train_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.progress_label = QLabel("Ready.")
        self.progress_label.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button, 1)
        buttons.addWidget(self.cancel_button, 1)
        self.forecast_bar = ForecastBar()  # forecast after the last bar (Ctrl+F)
        self._job: tuple[float | None, str] | None = None  # a forecast's progress
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.wf_strip)
        layout.addLayout(buttons)
        layout.addWidget(self.forecast_bar)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)

        self.classes_runner = TaskRunner("settings classes", self)
        self.classes_runner.finished.connect(self._on_classes)
        self.classes_runner.failed.connect(
            lambda m, d: self.error.emit("Cannot load the settings", m, d))
        self._progress_dirty = True
        self._progress_timer = redraw_timer(self, self._show_progress)
        follow(session, self, self._on_change, ("progress",))
        self._show_progress()
        # after the window is shown: importing pandas would slow the start-up down
        QTimer.singleShot(0, self._start_loading)

    def _start_loading(self) -> None:
        names = list(self._entries)
        self.classes_runner.start(lambda ctx: _light_classes(names, ctx), "settings classes")
        self.picker.refresh()

    # ---------------------------------------------------------------- models
    def model_names(self) -> list[str]:
        return [self.models.item(i).data(NAME_ROLE) for i in range(self.models.count())]

    def set_checked(self, names: list[str]) -> None:
        """Tick exactly ``names`` (the baseline stays ticked)."""
        for i in range(self.models.count()):
            item = self.models.item(i)
            if not self._entries[item.data(NAME_ROLE)].baseline:
                item.setCheckState(Qt.CheckState.Checked if item.data(NAME_ROLE) in names
                                   else Qt.CheckState.Unchecked)

    def checked(self) -> list[str]:
        return [self.models.item(i).data(NAME_ROLE) for i in range(self.models.count())
                if self.models.item(i).checkState() == Qt.CheckState.Checked]

    def select_model(self, name: str) -> None:
        if name in self._entries:
            self.models.setCurrentRow(self.model_names().index(name))

    def form(self, name: str) -> ParamForm | None:
        return self._forms.get(name)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        name = item.data(NAME_ROLE)
        if item.checkState() == Qt.CheckState.Checked and not self._entries[name].baseline:
            self.model_ticked.emit(name)

    def _on_current(self, item: QListWidgetItem | None, _prev: object = None) -> None:
        if item is None:
            return
        entry = self._entries[item.data(NAME_ROLE)]
        library = f" ({entry.library})" if entry.library else ""
        self.model_title.setText(f"<b>{entry.name}</b>{library} — {entry.description}")
        form = self.ensure_form(entry.name)
        self.stack.setCurrentWidget(form if form is not None else self.loading)

    def ensure_form(self, name: str) -> ParamForm | None:
        """``name``'s form, drawn from its config class (None until the classes are in)."""
        if name in self._forms or not self._classes_ready:
            return self._forms.get(name)
        from cryptodesk.models.registry import config_class

        try:
            cls = config_class(name)
        except CryptoDeskError as exc:
            self.loading.setText(f"Cannot load {name}: {exc}")
            self.error.emit(f"Cannot load model {name}", str(exc), "")
            return None
        form = ParamForm(cls, show_advanced=self.advanced.isChecked())
        doc = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
        if doc:
            form.setToolTip(doc)
        self._forms[name] = form
        self.stack.addWidget(form)
        self.form_ready.emit(name)
        return form

    def _on_advanced(self, show: bool) -> None:
        for form in (*self._forms.values(), self.strategy_form):
            if form is not None:
                form.set_show_advanced(show)

    def runs(self) -> list[tuple[str, dict[str, Any]]]:
        """(name, config dict) of every ticked model, validated by the core (a model whose
        form was never opened runs with its defaults)."""
        out = []
        for name in self.checked():
            form = self._forms.get(name)
            out.append((name, form.config().to_dict() if form is not None else {}))
        return out + self.ensemble.entries(self._form_config)

    def _form_config(self, name: str) -> dict[str, Any] | None:
        form = self._forms.get(name)
        return None if form is None else form.config().to_dict()

    # ---------------------------------------------------------------- settings forms
    def _on_classes(self, classes: dict[str, Any]) -> None:
        self._classes_ready = True
        self.wf_form = self._place(ParamForm(classes["walk-forward"]), self.wf_layout,
                                   self.wf_loading, "wf")
        self.wf_strip.follow(self.wf_form)
        self.strategy_form = self._place(
            ParamForm(classes["strategy"], show_advanced=self.advanced.isChecked()),
            self.strategy_layout, self.strategy_loading, "strategy")
        for name, problem in classes["problems"].items():
            self.error.emit(f"Cannot load model {name}", problem, "")
        current = self.models.currentItem()
        if current is None and self.models.count():
            self.models.setCurrentRow(0)
        else:
            self._on_current(current)
        self.forms_ready.emit()

    def _place(self, form: ParamForm, layout: QVBoxLayout, placeholder: QLabel,
               pending: str) -> ParamForm:
        layout.replaceWidget(placeholder, form)
        placeholder.deleteLater()
        if self._pending[pending]:
            form.set_values(self._pending.pop(pending))
        return form

    def set_timeframe(self, timeframe: str) -> None:
        """The shown series' timeframe: untouched walk-forward settings follow WF1 for it, and
        the forecast steps default to it."""
        from cryptodesk.gui.panels.preset_follow import preset_update

        old, self._timeframe = self._timeframe, timeframe
        self.forecast_bar.set_timeframe(timeframe)
        current = ({"test_size": 365, "refit_every": 30, **self._pending["wf"]}
                   if self.wf_form is None else self.wf_form.values())
        update = preset_update(current, old, timeframe)
        if update:
            self.set_spec(**update)

    def spec(self) -> Any:
        """The validated walk-forward protocol."""
        return _validated(self.wf_form, "walk-forward")

    def set_spec(self, **values: Any) -> None:
        """Set walk-forward settings (kept until the form is drawn)."""
        self._set_values(self.wf_form, "wf", values)

    def strategy(self) -> Any:
        """The validated trading strategy."""
        return _validated(self.strategy_form, "trading")

    def set_strategy(self, **values: Any) -> None:
        """Set trading settings (kept until the form is drawn)."""
        self._set_values(self.strategy_form, "strategy", values)

    def _set_values(self, form: ParamForm | None, pending: str, values: dict[str, Any]) -> None:
        if form is None:
            self._pending[pending].update(values)
        else:
            form.set_values(values)

    def apply_wf1(self) -> None:
        from cryptodesk.evaluation.presets import preset_spec

        self.set_spec(**preset_spec("wf1", self._timeframe).to_dict())

    def dataset(self) -> str | None:
        return self.picker.dataset()

    def run_request(self) -> RunRequest:
        """What to run (raises the core's CryptoDeskError for invalid settings)."""
        return RunRequest(self.runs(), self.spec(), self.strategy(), self.dataset(),
                          self.target(), self.target_box.rv_method(),
                          tune=self.tune.request(self.checked()))

    def target(self) -> str:
        """What the run forecasts: "price" or "volatility"."""
        return self.target_box.target()

    def _offer_models(self, target: str) -> None:
        """Only models that forecast ``target`` can be ticked; the others are unticked."""
        for i in range(self.models.count()):
            item = self.models.item(i)
            entry = self._entries[item.data(NAME_ROLE)]
            ok = target in entry.capabilities.targets
            if not ok and item.checkState() == Qt.CheckState.Checked and not entry.baseline:
                item.setCheckState(Qt.CheckState.Unchecked)
            flags = item.flags()
            item.setFlags(flags | Qt.ItemFlag.ItemIsEnabled if ok
                          else flags & ~Qt.ItemFlag.ItemIsEnabled)
            item.setToolTip(entry.description if ok else
                            f"{entry.name} forecasts {' and '.join(entry.capabilities.targets)}, "
                            f"not {target}")

    # ---------------------------------------------------------------- run progress
    def _on_change(self, _change: Change) -> None:
        self._progress_dirty = True
        if (self.session.progress.running or self._job is not None) != \
                self.cancel_button.isEnabled():
            self._show_progress()  # a run starts or ends: the buttons follow at once

    def show_job(self, running: bool, fraction: float | None = None, message: str = "") -> None:
        """A forecast's progress: while no run goes on it has the bar, the line and Cancel;
        ended (``running`` False), the run's progress shows again."""
        self._job = (fraction, message) if running else None
        self._progress_dirty = True
        self._show_progress()

    def _show_progress(self) -> None:
        """Buttons, bar and line follow the session's run progress (at most 10 times a
        second: a progress bar's repaint re-lays out its text)."""
        if not self._progress_dirty:
            return
        self._progress_dirty = False
        p = self.session.progress
        self.cancel_button.setEnabled(p.running or self._job is not None)
        if self._job is not None and not p.running:
            fraction, message = self._job
            self.progress.setRange(0, 0 if fraction is None else 1000)
            self.progress.setValue(int((fraction or 0.0) * 1000))
            self.progress_label.setText(message or "Forecasting…")
            return
        self.train_button.setText("Restart" if p.running else "Train")
        if p.running and p.fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int((p.fraction or 0.0) * 1000))
        text = p.message
        eta = format_eta(p.eta())
        if p.running and eta:
            text = f"{text} · {eta}" if text else eta
        self.progress_label.setText(text or ("Running…" if p.running else "Ready."))


def _validated(form: ParamForm | None, what: str) -> Any:
    if form is None:
        raise DataError(f"the {what} settings are still loading; try again")
    return form.config()


def _light_classes(names: list[str], ctx: Any) -> dict[str, Any]:
    """I/O-thread job: import the settings classes (pandas, the evaluation modules, each
    model's light config module) so the GUI thread can draw forms without waiting on imports.
    A model whose config cannot be imported is reported, not fatal."""
    from cryptodesk.evaluation.strategy import StrategySpec
    from cryptodesk.evaluation.walkforward import WalkForwardSpec
    from cryptodesk.models.registry import config_class

    ctx.progress(None, "loading the settings")
    problems = {}
    for name in names:
        try:
            config_class(name)
        except CryptoDeskError as exc:
            problems[name] = str(exc)
    return {"walk-forward": WalkForwardSpec, "strategy": StrategySpec, "problems": problems}
