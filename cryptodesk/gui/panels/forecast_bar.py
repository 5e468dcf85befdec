"""The training panel's forecast row: "Forecast" (fit the ticked models on every bar and
forecast after the last one), its horizon, and "Export forecast…".

The horizon defaults to the timeframe's (:func:`~cryptodesk.app.defaults.default_horizon`:
7 daily bars, 24 hourly ones) whenever a series of another timeframe is shown, unless the
user changed it. The bar only asks; :mod:`cryptodesk.gui.forecasting` does the work.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSpinBox, QWidget

MAX_HORIZON = 500
DAILY_HORIZON = 7  # default_horizon("1d"), the demo series' timeframe


class ForecastBar(QWidget):
    """Signals: ``forecast_requested()``, ``export_requested()``."""

    forecast_requested = Signal()
    export_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.forecast_button = QPushButton("Forecast")
        self.forecast_button.setObjectName("forecastButton")
        self.forecast_button.setToolTip(
            "Fit the ticked models on every bar up to the last one and draw their forecasts "
            "after it, with their 80 % bands (Ctrl+F)")
        self.horizon = QSpinBox()
        self.horizon.setRange(1, MAX_HORIZON)
        self.horizon.setPrefix("h = ")
        self.horizon.setToolTip("Bars to forecast after the last one")
        self.export_button = QPushButton("Export forecast…")
        self.export_button.setToolTip("Write the forecasts as CSV (the documented layout) and "
                                      "the chart as PNG beside it")
        self.export_button.setEnabled(False)
        self.forecast_button.clicked.connect(self.forecast_requested)
        self.export_button.clicked.connect(self.export_requested)
        self.horizon.setValue(DAILY_HORIZON)  # no import at start-up: pandas loads later
        self._timeframe = "1d"
        self._user_set = False
        self.horizon.valueChanged.connect(self._on_value)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.forecast_button, 2)
        layout.addWidget(self.horizon, 1)
        layout.addWidget(self.export_button, 2)

    def set_timeframe(self, timeframe: str) -> None:
        """A series of ``timeframe`` is shown: its default horizon (unless the user chose)."""
        if timeframe == self._timeframe:
            return
        self._timeframe = timeframe
        if self._user_set:
            return
        from cryptodesk.app.defaults import default_horizon
        from cryptodesk.errors import CryptoDeskError

        try:
            value = default_horizon(timeframe)
        except CryptoDeskError:  # an unknown timeframe: keep what is there
            return
        self.horizon.blockSignals(True)
        self.horizon.setValue(min(value, MAX_HORIZON))
        self.horizon.blockSignals(False)

    def _on_value(self, _value: int) -> None:
        self._user_set = True

    def set_busy(self, busy: bool) -> None:
        self.forecast_button.setText("Forecasting…" if busy else "Forecast")
