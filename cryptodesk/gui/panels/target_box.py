"""What a run forecasts: the close (price) or the realised volatility of the next bars, and for
volatility the realised-variance measure.

The choices are the run spec's (``RunSpec.target`` and ``volatility.measure``,
:data:`~cryptodesk.app.runspec.TARGETS` / :data:`~cryptodesk.app.runspec.RV_METHODS`); the
training panel offers only the models whose ``capabilities.targets`` include the target chosen.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QWidget

# The run spec's values, labelled for people (runspec imports pandas: not at start-up).
TARGETS = (("price", "Price (the close)"), ("volatility", "Volatility (realised variance)"))
MEASURES = (
    ("auto", "auto"),
    ("squared", "squared log return"),
    ("parkinson", "Parkinson (range)"),
    ("garman_klass", "Garman–Klass (OHLC)"),
    ("intraday", "intraday (→ daily)"),
)


class TargetBox(QGroupBox):
    """Signal ``target_changed(target)``."""

    target_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Target", parent)
        self.setToolTip("What the run forecasts: the close, or the realised volatility of the "
                        "next bars (scored by QLIKE against naive volatility)")
        self.target_combo = QComboBox()
        for value, label in TARGETS:
            self.target_combo.addItem(label, value)
        self.measure_combo = QComboBox()
        for value, label in MEASURES:
            self.measure_combo.addItem(label, value)
        self.measure_combo.setToolTip(
            "How each bar's realised variance is measured. auto: intraday (the day's squared "
            "intraday log returns; hourly bars become daily bars) below a day, Parkinson "
            "(high-low range) otherwise")
        self.measure_combo.setEnabled(False)
        self.target_combo.currentIndexChanged.connect(self._on_target)
        form = QFormLayout(self)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow("Forecast", self.target_combo)
        form.addRow("Measure", self.measure_combo)

    def target(self) -> str:
        return str(self.target_combo.currentData())

    def rv_method(self) -> str:
        return str(self.measure_combo.currentData())

    def set_target(self, target: str, measure: str | None = None) -> None:
        """Choose ``target`` (and the measure); unknown values raise ValueError."""
        index = self.target_combo.findData(target)
        if index < 0:
            raise ValueError(f"unknown target {target!r}")
        if measure is not None:
            m = self.measure_combo.findData(measure)
            if m < 0:
                raise ValueError(f"unknown volatility measure {measure!r}")
            self.measure_combo.setCurrentIndex(m)
        self.target_combo.setCurrentIndex(index)

    def _on_target(self, _index: int) -> None:
        target = self.target()
        self.measure_combo.setEnabled(target == "volatility")
        self.target_changed.emit(target)
