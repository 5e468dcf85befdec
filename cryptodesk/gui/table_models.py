"""Table models over numpy arrays (candle preview) and over backtest metrics (results table).

Both are virtual: the view asks only for the cells it shows, so a million candles cost nothing
until scrolled to. Sorting is done by a :class:`QSortFilterProxyModel` on ``SORT_ROLE`` values
(numbers, NaN last), never on the displayed text.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

if TYPE_CHECKING:
    import pandas as pd

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
_Index = QModelIndex | QPersistentModelIndex


class CandleTableModel(QAbstractTableModel):
    """Read-only view of a candle frame: time, open, high, low, close, volume."""

    HEADERS = ("Time (UTC)", "Open", "High", "Low", "Close", "Volume")

    def __init__(self) -> None:
        super().__init__()
        self._times = np.array([], dtype="datetime64[s]")
        self._cols: list[np.ndarray] = []
        self._intraday = False

    def set_frame(self, frame: pd.DataFrame | None, intraday: bool = False) -> None:
        self.beginResetModel()
        if frame is None or frame.empty:
            self._times = np.array([], dtype="datetime64[s]")
            self._cols = []
        else:
            self._times = frame.index.tz_convert(None).to_numpy().astype("datetime64[s]")
            self._cols = [frame[c].to_numpy() for c in ("open", "high", "low", "close", "volume")]
        self._intraday = intraday
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else int(self._times.shape[0])

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if c == 0:
                text = str(self._times[r]).replace("T", " ")
                return text if self._intraday else text[:10]
            value = float(self._cols[c - 1][r])
            if not math.isfinite(value):
                return "—"
            return f"{value:,.0f}" if c == 5 else f"{value:,.6g}" if abs(value) < 1 else f"{value:,.2f}"
        if role == Qt.ItemDataRole.TextAlignmentRole and c > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


# (key in metrics, header, format, tooltip)
RESULT_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("model", "Model", "", "Model name (naive = last close, the baseline)"),
    ("status", "Status", "", "Run status"),
    ("n", "N", "{:,.0f}", "Scored forecasts"),
    ("mae", "MAE", "price", "Mean absolute error (price units)"),
    ("rmse", "RMSE", "price", "Root mean squared error (price units)"),
    ("mape", "MAPE %", "{:.3f}", "Mean absolute percentage error"),
    ("directional_accuracy", "Dir. %", "{:.1f}",
     "Share of forecasts that got the direction of the move right (ties left out)"),
    ("theils_u", "Theil's U", "{:.4f}", "RMSE over naive's RMSE: below 1 beats the last close"),
    ("dm_p_value", "DM p", "{:.3f}",
     "Diebold–Mariano p-value against naive (small = the difference is significant)"),
    ("qlike", "QLIKE", "{:.4g}", "Volatility runs: Patton's QLIKE loss of the variance "
     "forecast (a/f - log(a/f) - 1; lower is better, ranks the table)"),
    ("mse_var", "MSE var", "{:.3g}", "Volatility runs: mean squared error of the variance"),
    ("mz_r2", "MZ R²", "{:.3f}", "Volatility runs: Mincer-Zarnowitz R² of realised on "
     "forecast variance"),
    ("seconds", "Time s", "{:.2f}", "Wall time of the walk-forward"),
    ("sharpe", "Sharpe", "{:.2f}",
     "Annualised Sharpe ratio of the sign strategy (long when the forecast is up, else flat; "
     "10 bps fee + 5 bps slippage per trade) over the test bars"),
    ("max_drawdown", "Max DD %", "{:.1f}", "Largest fall of the strategy's equity from a peak"),
    ("total_return", "Return %", "{:.1f}", "Total return of the strategy over the test bars"),
    ("health", "Health", "",
     "Degradation monitor: rolling Theil's U and band coverage over the latest forecasts"),
)
BENCHMARK = "buy & hold"
# Columns only one target has: the table hides the other target's (always empty) columns.
VOLATILITY_ONLY = frozenset({"qlike", "mse_var", "mz_r2"})
PRICE_ONLY = frozenset({"mae", "rmse", "mape", "directional_accuracy", "theils_u", "sharpe",
                        "max_drawdown", "total_return", "health"})


def hidden_columns(target: str) -> list[int]:
    """The columns a run of ``target`` ("price" or "volatility") has no values for."""
    other = PRICE_ONLY if target == "volatility" else VOLATILITY_ONLY
    return [i for i, (key, *_rest) in enumerate(RESULT_COLUMNS) if key in other]
DEGRADED_PREFIX = "degraded"


def fmt_error(value: float, digits: int = 3) -> str:
    """An error in price units with ``digits`` significant digits and no exponent, at most
    seven characters for prices from XRP's to BTC's: ``0.00235``, ``1.23``, ``1,235``."""
    v = abs(value)
    if v == 0:
        return "0"
    if v >= 10 ** (digits - 1):
        return f"{value:,.0f}"
    decimals = digits - 1 - math.floor(math.log10(v))
    if decimals > 7:  # tinier than any price tick we show: the exponent is the honest form
        return f"{value:.{digits - 1}e}"
    return f"{value:.{decimals}f}"


class ResultsTableModel(QAbstractTableModel):
    """One row per model run, with its metrics against naive."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[dict[str, Any]] = []
        self._bold = QFont()
        self._bold.setBold(True)
        self._italic = QFont()
        self._italic.setItalic(True)
        self.muted = QColor("#6b7280")
        self.degraded = QColor("#dc2626")

    def clear(self) -> None:
        self.beginResetModel()
        self._rows = []
        self.endResetModel()

    def names(self) -> list[str]:
        return [r["model"] for r in self._rows]

    def row_of(self, name: str) -> int:
        for i, r in enumerate(self._rows):
            if r["model"] == name:
                return i
        return -1

    def set_row(self, name: str, **values: Any) -> int:
        """Insert or update the row of model ``name``; returns its row number."""
        i = self.row_of(name)
        if i < 0:
            i = len(self._rows)
            self.beginInsertRows(QModelIndex(), i, i)
            self._rows.append({"model": name, **values})
            self.endInsertRows()
        else:
            self._rows[i].update(values)
            self.dataChanged.emit(self.index(i, 0), self.index(i, len(RESULT_COLUMNS) - 1))
        return i

    def row_values(self, name: str) -> dict[str, Any]:
        i = self.row_of(name)
        return dict(self._rows[i]) if i >= 0 else {}

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(RESULT_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return RESULT_COLUMNS[section][1]
        if role == Qt.ItemDataRole.ToolTipRole:
            return RESULT_COLUMNS[section][3]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        key, _header, fmt, _tip = RESULT_COLUMNS[index.column()]
        value = row.get(key)
        if role == Qt.ItemDataRole.DisplayRole:
            if value is None:
                return ""
            if fmt and isinstance(value, (int, float)):
                if not math.isfinite(float(value)):
                    return "—"
                return fmt_error(float(value)) if fmt == "price" else fmt.format(value)
            return str(value)
        if role == SORT_ROLE:
            if isinstance(value, (int, float)):
                v = float(value)
                return v if math.isfinite(v) else math.inf
            return str(value or "")
        if role == Qt.ItemDataRole.TextAlignmentRole and fmt:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        degraded = key == "health" and str(value or "").startswith(DEGRADED_PREFIX)
        if role == Qt.ItemDataRole.ForegroundRole:
            if degraded:
                return self.degraded
            if row["model"] == BENCHMARK:
                return self.muted
        if role == Qt.ItemDataRole.FontRole and (row["model"] == "naive" or degraded):
            return self._bold
        if role == Qt.ItemDataRole.FontRole and row["model"] == BENCHMARK:
            return self._italic
        if role == Qt.ItemDataRole.ToolTipRole:
            if key == "health" and row.get("health_reasons"):
                return "Retrain suggested: " + "; ".join(row["health_reasons"])
            if row["model"] == "naive":
                return "The naive baseline (tomorrow = today) is part of every run"
            if row["model"] == BENCHMARK:
                return "Buying at the first test bar and holding, with the same costs"
        return None
