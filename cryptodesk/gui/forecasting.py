"""Forecast as a first-class action: Run ▸ Forecast (Ctrl+F), the training panel's "Forecast"
button, and "Export forecast…".

:class:`ForecastDesk` submits the app layer's ``forecast_future`` job
(:mod:`cryptodesk.app.future`) for the ticked models: each is fitted on every bar up to the
last candle in a worker process and forecasts ``h`` bars after it, with its calibrated 80 %
band and P(up). The result goes into the session (``set_forecast``), which the chart draws:
one dashed path and band per model, a legend outside the plot, a readout per step. Progress
and Cancel are the training panel's, as for a run. Export writes the forecasts CSV in the
documented layout (:func:`~cryptodesk.app.future.export_future`) and the chart as PNG beside
it, both atomically, under default names that carry symbol, timeframe and date.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, Signal
from PySide6.QtWidgets import QFileDialog

from cryptodesk.gui.compute import JobSlot
from cryptodesk.gui.tasks import TaskRunner

if TYPE_CHECKING:
    from cryptodesk.gui.main_window import MainWindow

log = logging.getLogger(__name__)
JOB = "forecast_future"


class ForecastDesk(QObject):
    """The forecast action of a main window (see module docstring).

    Signals: ``forecast_ready(FutureForecast)``, ``forecast_failed(message)``,
    ``exported([csv path, png path])``."""

    forecast_ready = Signal(object)
    forecast_failed = Signal(str)
    exported = Signal(list)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.bar = window.training.forecast_bar
        self.slot = JobSlot(window.compute, "forecast", self)
        self.export_runner = TaskRunner("forecast export", self)
        self._key: Any = None
        self.last_dir: Path = Path.home()
        slot = self.slot
        slot.progress.connect(self._on_progress)
        slot.busy_changed.connect(self._on_busy)
        slot.finished.connect(self._on_finished)
        slot.failed.connect(self._on_failed)
        slot.cancelled.connect(self._on_cancelled)
        self.export_runner.finished.connect(self._on_exported)
        self.export_runner.failed.connect(
            lambda m, d: self._error("Exporting the forecast failed", m, d))
        self.bar.forecast_requested.connect(self.start)
        self.bar.export_requested.connect(self.choose_export)
        window.training.cancel_requested.connect(self.cancel)
        window.training.target_box.target_changed.connect(  # future paths are prices
            lambda target: self.bar.forecast_button.setEnabled(target == "price"))
        window.session.subscribe(lambda _c: self._refresh_export(), ("series", "future"))

    @property
    def busy(self) -> bool:
        return self.slot.busy

    # ---------------------------------------------------------------- forecasting
    def start(self) -> bool:
        """Forecast with the ticked models after the last bar of the series shown. Returns
        False (and says why in one line) when there is nothing to do."""
        from cryptodesk.app.defaults import default_seed
        from cryptodesk.errors import CryptoDeskError
        from cryptodesk.models.registry import default_registry

        series = self.session.series
        if series is None:
            return self._error("Nothing to forecast from", "Load or import a series first.")
        if self.window.training.target() != "price":
            return self._error("Forecast is for prices",
                               "Switch the training panel's target to price to forecast the "
                               "path after the last bar.")
        try:
            models = self.window.training.runs()
        except CryptoDeskError as exc:
            return self._error("Invalid settings", str(exc))
        baseline = default_registry().baseline()
        if not [name for name, _c in models if name != baseline]:
            return self._error("No model ticked",
                               "Tick at least one model besides naive to forecast with.")
        horizon = int(self.bar.horizon.value())
        meta = series.meta
        payload = {"data": series.ref.to_dict(), "horizon": horizon,
                   "models": [{"name": n, "config": c} for n, c in models],
                   "seed": default_seed(self.window.settings)}
        self._key = series.key
        names = ", ".join(n for n, _c in models)
        label = f"Forecasting {horizon} bars after the last {meta.symbol} {meta.timeframe} bar " \
                f"with {names}"
        self.slot.start(JOB, payload, label)
        self.window.training.show_job(True, None, label + "…")
        self._say(label + "…")
        return True

    def cancel(self) -> bool:
        """Stop the forecast (its worker is terminated if it does not stop in time)."""
        if self.slot.cancel():
            self._say("Cancelling the forecast…")
            return True
        return False

    def _on_progress(self, fraction: float | None, message: str, _eta: Any) -> None:
        self.window.training.show_job(True, fraction, message)

    def _on_busy(self, busy: bool) -> None:
        self.bar.set_busy(busy)
        if not busy:
            self.window.training.show_job(False)

    def _on_finished(self, fc: Any) -> None:
        key = self.session.key
        if key is None or key != self._key:
            self._say("Forecast dropped: another series is shown now.")
            return
        from cryptodesk.models.registry import default_registry

        baseline = default_registry().baseline()
        if fc.notes and all(p.model == baseline for p in fc.paths):  # every ticked one failed
            reasons = "; ".join(_reason(n) for n in fc.notes)
            self._error("Forecast failed", reasons)
            self.forecast_failed.emit(reasons)
            return
        self.session.set_forecast(key, fc)
        text = (f"Forecast {fc.horizon} bars after {fc.origin[:16].replace('T', ' ')} with "
                f"{', '.join(p.model for p in fc.paths)}")
        for note in fc.notes:
            text += f" · left out {_reason(note)}"
        self._say(text)
        self.forecast_ready.emit(fc)

    def _on_failed(self, failed: Any) -> None:
        first = failed.message.splitlines()[0][:200] if failed.message else "unknown error"
        title = ("Forecast failed: the worker process died" if failed.kind == "crash"
                 else "Forecast failed")
        self._error(title, first, failed.details)
        self.forecast_failed.emit(first)

    def _on_cancelled(self, note: str) -> None:
        self._say(f"Forecast cancelled: {note}." if note else "Forecast cancelled.")

    # ---------------------------------------------------------------- export
    def current(self) -> Any:
        """The forecast of the series shown (None before one)."""
        current = self.session.current
        return None if current is None else current.forecast

    def _refresh_export(self) -> None:
        self.bar.export_button.setEnabled(self.current() is not None)

    def choose_export(self) -> bool:
        """Ask where (default: the forecast's own file name) and export."""
        fc = self.current()
        if fc is None:
            return self._error("Nothing to export",
                               "Forecast first: Run ▸ Forecast (Ctrl+F) or the training "
                               "panel's Forecast button.")
        path, _ = QFileDialog.getSaveFileName(self.window, "Export forecast",
                                              str(self.last_dir / fc.csv_name),
                                              "CSV files (*.csv)")
        return bool(path) and self.export(Path(path))

    def export(self, path: Path) -> bool:
        """Write the forecast of the series shown as CSV at ``path`` and the chart as PNG
        beside it (same name, ``.png``). The picture is taken here (GUI thread); both files
        are written atomically in an I/O thread."""
        fc = self.current()
        if fc is None:
            return self._error("Nothing to export", "Forecast first (Ctrl+F).")
        path = Path(path)
        if path.suffix.lower() != ".csv":
            path = path.with_name(path.name + ".csv")
        try:
            png = chart_png(self.window.chart)
        except OSError as exc:
            return self._error("Exporting the forecast failed", str(exc))
        png_path = path.with_suffix(".png")
        self.last_dir = path.parent

        def write(ctx: Any) -> list[Path]:
            from cryptodesk.app.future import export_future
            from cryptodesk.atomic import write_bytes_atomic

            ctx.progress(None, f"writing {path.name}")
            export_future(fc, path)
            write_bytes_atomic(png_path, png)
            return [path, png_path]

        self.export_runner.start(write, "forecast export")
        return True

    def _on_exported(self, paths: list[Path]) -> None:
        self._say("Exported " + " and ".join(str(p) for p in paths))
        self.exported.emit(paths)

    # ---------------------------------------------------------------- plumbing
    def _say(self, text: str) -> None:
        self.window.status_label.setText(text)

    def _error(self, title: str, message: str, details: str = "") -> bool:
        self.window.show_error(title, message, details)
        return False

    def shutdown(self) -> None:
        self.slot.shutdown()
        self.export_runner.shutdown(15_000)


def _reason(note: str) -> str:
    """A left-out model's note without its name twice ("arima: arima: needs ..." ->
    "arima: needs ...")."""
    head, _sep, rest = note.partition(": ")
    return rest if rest.startswith(head + ":") else note


def chart_png(widget: Any) -> bytes:
    """The whole chart widget (title, forecast legend, readout and rows) as PNG bytes."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not widget.grab().save(buffer, "PNG"):
        raise OSError("cannot render the chart as PNG")
    buffer.close()
    return bytes(data.data())
