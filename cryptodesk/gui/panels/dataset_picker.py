"""The "External features" box: pick a scored sentiment dataset whose features a run joins in.

Listing the datasets reads Parquet footers only (an I/O thread); datasets that are not scored
yet are listed but cannot be picked.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout

from cryptodesk.gui.tasks import TaskRunner


class DatasetPicker(QGroupBox):
    """Signals: ``dataset_changed(name or None)``, ``datasets_listed(list of DatasetChoice)``,
    ``error(title, message, details)``."""

    dataset_changed = Signal(object)
    datasets_listed = Signal(list)
    error = Signal(str, str, str)

    def __init__(self) -> None:
        super().__init__("External features")
        self.combo = QComboBox()
        self.combo.setObjectName("datasetCombo")
        self.combo.addItem("(none)", None)
        self.combo.setToolTip(
            "Join a scored sentiment dataset into the candles (causally: bar t sees texts "
            "stamped before its close) and add its columns to the inputs of the models that "
            "take features (LightGBM and the neural nets; ARIMA and the baselines read prices "
            "only)")
        self.combo.currentIndexChanged.connect(lambda _i: self.dataset_changed.emit(
            self.dataset()))
        self.refresh_button = QToolButton()
        self.refresh_button.setText("⟳")
        self.refresh_button.setToolTip("Reload the list of sentiment datasets")
        self.refresh_button.clicked.connect(self.refresh)
        self.note = QLabel("Import texts with 'cryptodesk sentiment import', then score them, "
                           "to use them here.")
        self.note.setWordWrap(True)
        self.note.setObjectName("datasetNote")
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Sentiment"))
        row.addWidget(self.combo, 1)
        row.addWidget(self.refresh_button)
        layout.addLayout(row)
        layout.addWidget(self.note)
        self.runner = TaskRunner("sentiment datasets", self)
        self.runner.finished.connect(self._on_listed)
        self.runner.failed.connect(
            lambda m, d: self.error.emit("Cannot list the sentiment datasets", m, d))

    def refresh(self) -> None:
        """List the stored datasets again (in an I/O thread, which also imports the module:
        it loads pandas, and the window must not wait for that)."""
        self.runner.start(_list_datasets, "sentiment datasets")

    def dataset(self) -> str | None:
        """The picked dataset (None: no external features)."""
        return self.combo.currentData()

    def set_dataset(self, name: str | None) -> bool:
        i = self.combo.findData(name)
        if i < 0:
            return False
        self.combo.setCurrentIndex(i)
        return True

    def _on_listed(self, choices: list) -> None:
        keep = self.dataset()
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem("(none)", None)
        model = self.combo.model()
        for c in choices:
            span = f", {c.first} → {c.last}" if c.first else ""
            text = (f"{c.name} ({c.rows:,} texts{span})" if c.scored
                    else f"{c.name} (not scored yet)")
            self.combo.addItem(text, c.name)
            if not c.scored:
                model.item(self.combo.count() - 1).setEnabled(False)
        i = self.combo.findData(keep)
        self.combo.setCurrentIndex(max(i, 0))
        self.combo.blockSignals(False)
        self.note.setVisible(not any(c.scored for c in choices))
        if keep is not None and i < 0:
            self.dataset_changed.emit(None)
        self.datasets_listed.emit(choices)


def _list_datasets(ctx: object) -> list:
    from cryptodesk.app.external import list_datasets

    return list_datasets(ctx)
