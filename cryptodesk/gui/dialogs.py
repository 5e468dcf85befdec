"""Dialogs: job errors (short message, expandable details), About, exchange download."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
from typing import Any

import PySide6
from PySide6.QtCore import QDate, Qt, qVersion
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QWidget,
)

from cryptodesk import __version__

COMMON_EXCHANGES = ("binance", "kraken", "coinbase", "bitstamp", "bybit", "okx", "kucoin",
                    "bitfinex", "gemini")
TIMEFRAMES = ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w")


def error_dialog(parent: QWidget | None, title: str, message: str, details: str = "") -> QMessageBox:
    """Show a non-blocking error box: short message, the traceback under "Show Details..."."""
    box = QMessageBox(parent)
    box.setObjectName("errorDialog")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(message)
    if details:
        box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()  # window-modal but never blocks the event loop (and the tests)
    return box


def _dist_version(name: str) -> str:
    """Installed version of a distribution, without importing it (torch takes seconds)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def versions() -> dict[str, str]:
    """Versions shown in the About box."""
    import pyqtgraph

    return {
        "CryptoDesk": __version__,
        "Python": platform.python_version(),
        "Qt": qVersion(),
        "PySide6": PySide6.__version__,
        "pyqtgraph": pyqtgraph.__version__,
        "PyTorch": _dist_version("torch"),
        "LightGBM": _dist_version("lightgbm"),
        "ccxt": _dist_version("ccxt"),
        "pandas": _dist_version("pandas"),
        "numpy": _dist_version("numpy"),
    }


def about_text() -> str:
    rows = "".join(f"<tr><td>{k}</td><td>&nbsp;&nbsp;<b>{v}</b></td></tr>"
                   for k, v in versions().items())
    return (
        f"<h3>CryptoDesk {__version__}</h3>"
        "<p>Honest cryptocurrency price forecasting: walk-forward backtests, every model next "
        "to the naive baseline.</p>"
        f"<table>{rows}</table>"
    )


def about_dialog(parent: QWidget | None) -> QMessageBox:
    box = QMessageBox(parent)
    box.setObjectName("aboutDialog")
    box.setWindowTitle("About CryptoDesk")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(about_text())
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def exchange_available() -> tuple[bool, str]:
    """Whether exchange downloads can work here, and why not."""
    if importlib.util.find_spec("cryptodesk.data.exchange") is None:
        return False, "Exchange downloads are not part of this build yet"
    if importlib.util.find_spec("ccxt") is None:
        return False, "Install ccxt to download from exchanges (pip install ccxt)"
    return True, "Download candles from an exchange (needs the network)"


class DownloadDialog(QDialog):
    """Exchange, symbol, timeframe and date range of a download."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Download candles")
        self.exchange = QComboBox()
        self.exchange.setEditable(True)
        self.exchange.addItems(COMMON_EXCHANGES)
        self.exchange.setToolTip("Any ccxt exchange id (binance, kraken, ...)")
        self.symbol = QLineEdit("BTC/USDT")
        self.timeframe = QComboBox()
        self.timeframe.addItems(TIMEFRAMES)
        self.timeframe.setCurrentText("1d")
        today = QDate.currentDate()
        self.since = QDateEdit(today.addYears(-1))
        self.since.setCalendarPopup(True)
        self.since.setDisplayFormat("yyyy-MM-dd")
        self.from_start = QCheckBox("continue after stored data / from the start")
        self.until = QDateEdit(today)
        self.until.setCalendarPopup(True)
        self.until.setDisplayFormat("yyyy-MM-dd")
        self.to_now = QCheckBox("up to now")
        self.to_now.setChecked(True)
        self.from_start.toggled.connect(lambda on: self.since.setEnabled(not on))
        self.to_now.toggled.connect(lambda on: self.until.setEnabled(not on))
        self.until.setEnabled(False)
        form = QFormLayout(self)
        form.addRow("Exchange", self.exchange)
        form.addRow("Symbol", self.symbol)
        form.addRow("Timeframe", self.timeframe)
        since_row = QWidget()
        lay = QHBoxLayout(since_row)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.since)
        lay.addWidget(self.from_start)
        form.addRow("From", since_row)
        until_row = QWidget()
        lay = QHBoxLayout(until_row)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.until)
        lay.addWidget(self.to_now)
        form.addRow("Until", until_row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Download")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def request(self) -> dict[str, Any]:
        """Keyword arguments for :func:`cryptodesk.data.exchange.fetch_candles`."""
        since = None if self.from_start.isChecked() else self.since.date().toString("yyyy-MM-dd")
        until = None if self.to_now.isChecked() else self.until.date().toString("yyyy-MM-dd")
        return {
            "exchange_id": self.exchange.currentText().strip().lower(),
            "symbol": self.symbol.text().strip(),
            "timeframe": self.timeframe.currentText(),
            "since": since,
            "until": until,
        }
