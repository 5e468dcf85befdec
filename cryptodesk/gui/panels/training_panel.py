"""The training panel: model queue, hyperparameter forms, walk-forward settings, Train/Cancel.

Models come from the registry; ticking several queues them in one run (naive is always part of
it). A model's form is built from its config class, which is imported in a worker the first
time the model is picked (a torch net's module imports torch: seconds the GUI must not freeze
for). The walk-forward settings are themselves a config (``WalkForwardSpec``) drawn by the same
form code, with a button for the WF1 preset.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cryptodesk.gui import work
from cryptodesk.gui.panels.param_form import ParamForm
from cryptodesk.gui.tasks import TaskRunner, format_eta

NAME_ROLE = Qt.ItemDataRole.UserRole + 3
BASELINE = "naive"
DESCRIPTIONS = {
    "naive": "Tomorrow equals today: the baseline every model is scored against.",
    "drift": "Random walk with drift on log prices.",
    "arima": "ARIMA on log prices (statistical).",
    "lightgbm": "Gradient-boosted trees on causal features.",
    "lstm": "LSTM network (PyTorch).",
    "gru": "GRU network (PyTorch).",
    "cnn": "1-D convolutional network (PyTorch).",
    "cnn_gru": "CNN + stacked GRU (PyTorch).",
    "transformer": "Transformer encoder (PyTorch).",
}
# The heavy library each model's module imports (anything not listed and not light is a torch
# net from the torch catalogue).
LIGHT_MODELS = ("naive", "drift")
LIBRARIES = {"arima": "SciPy", "lightgbm": "LightGBM"}


def library_of(name: str) -> str:
    """The heavy library model ``name`` needs ("" for the baselines)."""
    if name in LIGHT_MODELS:
        return ""
    return LIBRARIES.get(name, "PyTorch")


class TrainingPanel(QWidget):
    """Signals: ``train_requested()``, ``cancel_requested()``, ``error(title, message, details)``."""

    train_requested = Signal()
    cancel_requested = Signal()
    error = Signal(str, str, str)
    form_ready = Signal(str)
    library_loading = Signal(str)  # "Loading PyTorch…" while a model library imports; "" done
    dataset_changed = Signal(object)  # a sentiment dataset name, or None
    datasets_listed = Signal(list)
    wf_ready = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from cryptodesk.models.registry import available_models

        self._timeframe = "1d"
        self._forms: dict[str, ParamForm] = {}
        self._pending: set[str] = set()
        self.info_runner = TaskRunner("model info", self)
        self.info_runner.finished.connect(self._on_info)
        self.info_runner.failed.connect(self._on_info_failed)

        self.models = QListWidget()
        self.models.setToolTip("Tick the models to run; naive is always included")
        for name in available_models():
            item = QListWidgetItem(name)
            item.setData(NAME_ROLE, name)
            item.setToolTip(DESCRIPTIONS.get(name, name))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            if name == BASELINE:
                item.setCheckState(Qt.CheckState.Checked)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsUserCheckable)
                item.setText(f"{name}  (baseline, always run)")
            self.models.addItem(item)
        self.models.setMaximumHeight(170)
        self.models.currentItemChanged.connect(self._on_current)
        self.models.itemChanged.connect(self._on_item_changed)

        self.model_title = QLabel("")
        self.model_title.setWordWrap(True)
        self.stack = QStackedWidget()
        self.loading = QLabel("Loading the model's settings…")
        self.loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.loading)
        self.advanced = QCheckBox("Show advanced settings")
        self.advanced.toggled.connect(self._on_advanced)
        params_box = QGroupBox("Hyperparameters")
        pl = QVBoxLayout(params_box)
        pl.addWidget(self.model_title)
        pl.addWidget(self.stack)
        pl.addWidget(self.advanced)

        # the walk-forward module imports pandas: its form is built after a worker imported it
        self.wf_form: ParamForm | None = None
        self._wf_pending: dict[str, Any] = {}
        self.wf_loading = QLabel("Loading the walk-forward settings…")
        self.wf1_button = QPushButton("WF1 preset")
        self.wf1_button.setToolTip(
            "Horizon 1; last 365 daily bars (720 hourly) as test; refit every 30 (168 hourly); "
            "expanding window")
        self.wf1_button.clicked.connect(self.apply_wf1)
        wf_box = QGroupBox("Walk-forward")
        wl = QVBoxLayout(wf_box)
        self.wf_layout = wl
        wl.addWidget(self.wf_loading)
        wl.addWidget(self.wf1_button, 0, Qt.AlignmentFlag.AlignLeft)

        # external features: a sentiment dataset joined into the candles of the run
        self.dataset_combo = QComboBox()
        self.dataset_combo.setObjectName("datasetCombo")
        self.dataset_combo.addItem("(none)", None)
        self.dataset_combo.setToolTip(
            "Join a scored sentiment dataset into the candles (causally: bar t sees texts "
            "stamped before its close) and add its columns to the inputs of the models that "
            "take features (LightGBM and the neural nets; ARIMA and the baselines read prices "
            "only)")
        self.dataset_combo.currentIndexChanged.connect(self._on_dataset)
        self.dataset_refresh = QToolButton()
        self.dataset_refresh.setText("⟳")
        self.dataset_refresh.setToolTip("Reload the list of sentiment datasets")
        self.dataset_refresh.clicked.connect(self.refresh_datasets)
        self.dataset_note = QLabel("Import texts with 'cryptodesk sentiment import', then "
                                   "score them, to use them here.")
        self.dataset_note.setWordWrap(True)
        self.dataset_note.setObjectName("datasetNote")
        ext_box = QGroupBox("External features")
        el = QVBoxLayout(ext_box)
        row = QHBoxLayout()
        row.addWidget(QLabel("Sentiment"))
        row.addWidget(self.dataset_combo, 1)
        row.addWidget(self.dataset_refresh)
        el.addLayout(row)
        el.addWidget(self.dataset_note)
        self.ext_runner = TaskRunner("sentiment datasets", self)
        self.ext_runner.finished.connect(self._on_datasets)
        self.ext_runner.failed.connect(
            lambda m, d: self.error.emit("Cannot list the sentiment datasets", m, d))

        inner = QWidget()
        il = QVBoxLayout(inner)
        il.setContentsMargins(0, 0, 0, 0)
        models_box = QGroupBox("Models")
        ml = QVBoxLayout(models_box)
        ml.addWidget(self.models)
        il.addWidget(models_box)
        il.addWidget(params_box)
        il.addWidget(wf_box)
        il.addWidget(ext_box)
        il.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
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

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        self.wf_runner = TaskRunner("walk-forward settings", self)
        self.wf_runner.finished.connect(self._on_wf_spec)
        self.wf_runner.failed.connect(
            lambda m, d: self.error.emit("Cannot load the walk-forward settings", m, d))
        # after the window is shown: workers importing pandas would slow the start-up down
        QTimer.singleShot(0, self._start_loading)

    def _start_loading(self) -> None:
        self.wf_runner.start(_walk_forward_spec_class, "walk-forward settings")
        self.refresh_datasets()
        if self.models.count() and self.models.currentItem() is None:
            self.models.setCurrentRow(0)

    # ---------------------------------------------------------------- models
    def model_names(self) -> list[str]:
        return [self.models.item(i).data(NAME_ROLE) for i in range(self.models.count())]

    def set_checked(self, names: list[str]) -> None:
        """Tick exactly ``names`` (naive stays ticked)."""
        for i in range(self.models.count()):
            item = self.models.item(i)
            name = item.data(NAME_ROLE)
            if name != BASELINE:
                state = Qt.CheckState.Checked if name in names else Qt.CheckState.Unchecked
                item.setCheckState(state)

    def checked(self) -> list[str]:
        out = []
        for i in range(self.models.count()):
            item = self.models.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(NAME_ROLE))
        return out

    def select_model(self, name: str) -> None:
        for i in range(self.models.count()):
            if self.models.item(i).data(NAME_ROLE) == name:
                self.models.setCurrentRow(i)
                return

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        """A model ticked: load its form (and warm up its libraries) in the background."""
        if item.checkState() == Qt.CheckState.Checked:
            self.ensure_form(item.data(NAME_ROLE))

    def form(self, name: str) -> ParamForm | None:
        return self._forms.get(name)

    def _on_current(self, item: QListWidgetItem | None, _prev: object = None) -> None:
        if item is None:
            return
        name = item.data(NAME_ROLE)
        self.model_title.setText(f"<b>{name}</b> — {DESCRIPTIONS.get(name, '')}")
        if name in self._forms:
            self.stack.setCurrentWidget(self._forms[name])
            return
        self.loading.setText(f"Loading the settings of {name}…")
        self.stack.setCurrentWidget(self.loading)
        self.ensure_form(name)

    def ensure_form(self, name: str) -> None:
        """Build ``name``'s form (its module is imported in a worker, one model at a time)."""
        if name in self._forms or name in self._pending:
            return
        self._pending.add(name)
        if not self.info_runner.busy:
            self._load_next(name)

    def _load_next(self, name: str | None = None) -> None:
        if name is None:
            if not self._pending:
                return
            name = sorted(self._pending)[0]
        lib = library_of(name)
        if lib:
            text = f"Loading {lib}…"
            self.loading.setText(f"Loading {lib} for {name} (first use takes a few seconds)…")
        else:
            text = ""
        self.library_loading.emit(text)
        self.info_runner.start(lambda ctx: work.model_info(name, ctx), f"model {name}")

    def _on_info(self, info: work.ModelInfo) -> None:
        self._pending.discard(info.name)
        form = ParamForm(info.config_cls, show_advanced=self.advanced.isChecked())
        if info.doc:
            form.setToolTip(info.doc)
        self._forms[info.name] = form
        self.stack.addWidget(form)
        current = self.models.currentItem()
        if current is not None and current.data(NAME_ROLE) == info.name:
            self.stack.setCurrentWidget(form)
        self.form_ready.emit(info.name)
        if not self._pending:
            self.library_loading.emit("")
        self._load_next()

    def _on_info_failed(self, message: str, details: str) -> None:
        label = self.info_runner.label.removeprefix("model ")
        self._pending.discard(label)
        self.loading.setText(f"Cannot load {label}: {message.splitlines()[0][:160]}")
        self.error.emit(f"Cannot load model {label}", message, details)
        if not self._pending:
            self.library_loading.emit("")
        self._load_next()

    def _on_advanced(self, show: bool) -> None:
        for form in self._forms.values():
            form.set_show_advanced(show)

    def runs(self) -> list[tuple[str, dict[str, Any]]]:
        """(name, config dict) of every ticked model; configs validated by the core.

        A model whose form was never opened runs with its defaults.
        """
        out = []
        for name in self.checked():
            form = self._forms.get(name)
            out.append((name, form.config().to_dict() if form is not None else {}))
        return out

    # ---------------------------------------------------------------- external features
    def refresh_datasets(self) -> None:
        self.ext_runner.start(work.list_datasets, "sentiment datasets")

    def dataset(self) -> str | None:
        """The picked sentiment dataset (None: no external features)."""
        return self.dataset_combo.currentData()

    def set_dataset(self, name: str | None) -> bool:
        i = self.dataset_combo.findData(name)
        if i < 0:
            return False
        self.dataset_combo.setCurrentIndex(i)
        return True

    def _on_datasets(self, choices: list) -> None:
        keep = self.dataset()
        self.dataset_combo.blockSignals(True)
        self.dataset_combo.clear()
        self.dataset_combo.addItem("(none)", None)
        model = self.dataset_combo.model()
        for c in choices:
            span = f", {c.first} → {c.last}" if c.first else ""
            text = f"{c.name} ({c.rows:,} texts{span})" if c.scored else \
                f"{c.name} (not scored yet)"
            self.dataset_combo.addItem(text, c.name)
            if not c.scored:
                model.item(self.dataset_combo.count() - 1).setEnabled(False)
        i = self.dataset_combo.findData(keep)
        self.dataset_combo.setCurrentIndex(max(i, 0))
        self.dataset_combo.blockSignals(False)
        usable = sum(1 for c in choices if c.scored)
        self.dataset_note.setVisible(usable == 0)
        if keep is not None and i < 0:
            self.dataset_changed.emit(None)
        self.datasets_listed.emit(choices)

    def _on_dataset(self, _index: int) -> None:
        self.dataset_changed.emit(self.dataset())

    # ---------------------------------------------------------------- walk-forward
    def set_timeframe(self, timeframe: str) -> None:
        self._timeframe = timeframe

    def spec(self) -> Any:
        """The validated walk-forward spec."""
        if self.wf_form is None:
            from cryptodesk.errors import DataError

            raise DataError("the walk-forward settings are still loading; try again")
        return self.wf_form.config()

    def set_spec(self, **values: Any) -> None:
        if self.wf_form is None:
            self._wf_pending.update(values)
        else:
            self.wf_form.set_values(values)

    def _on_wf_spec(self, spec_cls: type) -> None:
        self.wf_form = ParamForm(spec_cls)
        self.wf_layout.replaceWidget(self.wf_loading, self.wf_form)
        self.wf_loading.deleteLater()
        if self._wf_pending:
            self.wf_form.set_values(self._wf_pending)
            self._wf_pending = {}
        self.wf_ready.emit()

    def apply_wf1(self) -> None:
        from cryptodesk.evaluation.presets import preset_spec

        self.set_spec(**preset_spec("wf1", self._timeframe).to_dict())

    # ---------------------------------------------------------------- run state
    def set_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(running)
        self.train_button.setText("Restart" if running else "Train")
        if running:
            self.progress.setValue(0)

    def show_progress(self, fraction: float | None, message: str, eta: float | None) -> None:
        if fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(fraction * 1000))
        text = message
        eta_text = format_eta(eta)
        if eta_text:
            text = f"{message} · {eta_text}" if message else eta_text
        self.progress_label.setText(text)

    def show_done(self, text: str) -> None:
        self.progress.setRange(0, 1000)
        self.progress_label.setText(text)


def _walk_forward_spec_class(ctx: Any) -> type:
    """Worker job: import the walk-forward module (and pandas) and return its spec class."""
    del ctx
    from cryptodesk.evaluation.walkforward import WalkForwardSpec

    return WalkForwardSpec
