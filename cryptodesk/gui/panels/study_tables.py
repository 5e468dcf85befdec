"""The Study panel's results: the leaderboard and the verdicts, as two tabs of tables.

Both are drawn from plain data (the ``study`` job's :class:`~cryptodesk.app.study.live.
StudyState`, or a study folder read by :func:`~cryptodesk.app.study.opening.load_study`):
the leaderboard has one row per series, target and model with the mean ± std over seeds of
each metric the study scored (MAE, RMSE, Theil's U and direction for prices; QLIKE and MZ R²
for volatility); the verdicts one bold row per comparison and one per baseline under it, with
the numbers that decide it, and a note saying whether they are final.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

# leaderboard metrics, in order: (summary column stem, header)
METRICS = (("mae", "MAE"), ("rmse", "RMSE"), ("theils_u", "Theil's U"),
           ("directional_accuracy", "Direction"), ("qlike", "QLIKE"), ("mz_r2", "MZ R²"))
VERDICT_COLOURS = {"supported": "#16a34a", "contradicted": "#dc2626",
                   "not supported": "#b45309"}


def mean_std(mean: Any, std: Any) -> str:
    """``0.0123 ± 0.0004`` (4 significant digits; the std left out when it is unknown)."""
    if mean is None or mean != mean:
        return "–"
    if std is None or std != std:
        return f"{mean:.4g}"
    return f"{mean:.4g} ± {std:.2g}"


class StudyTables(QTabWidget):
    """Leaderboard and verdicts tabs (see module docstring)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.leaderboard = _table(("Series", "Target", "Model", "Seeds", "Cells"))
        self.leaderboard.setObjectName("studyLeaderboard")
        self.verdicts = _table(("Claim", "Against", "Verdict", "Because"))
        self.verdicts.setObjectName("studyVerdicts")
        self.verdicts_note = QLabel("")
        self.addTab(self.leaderboard, "Leaderboard")
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.verdicts_note)
        layout.addWidget(self.verdicts, 1)
        self.addTab(box, "Verdicts")

    def clear(self) -> None:
        self.leaderboard.setRowCount(0)
        self.verdicts.setRowCount(0)
        self.verdicts_note.setText("")

    def show_leaderboard(self, rows: list[dict[str, Any]]) -> None:
        """Summary rows (as in ``summary.csv``): one table row each."""
        shown = [(stem, head) for stem, head in METRICS
                 if any(_number(r.get(f"{stem}_mean")) is not None for r in rows)]
        headers = ["Series", "Target", "Model", "Seeds", "Cells", *(h for _s, h in shown)]
        table = self.leaderboard
        table.setColumnCount(len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            failed = int(row.get("failed") or 0)
            cells = f"{row.get('cells', 0)}" + (f" ({failed} failed)" if failed else "")
            values = [row.get("series", ""), row.get("target", ""), row.get("model", ""),
                      str(row.get("seeds", "")), cells]
            values += [mean_std(_number(row.get(f"{stem}_mean")),
                                _number(row.get(f"{stem}_std"))) for stem, _h in shown]
            for j, value in enumerate(values):
                item = QTableWidgetItem(str(value))
                if j >= 5:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(i, j, item)
        table.resizeColumnsToContents()

    def show_verdicts(self, verdicts: Any) -> None:
        """A ``StudyVerdicts`` (None: nothing yet)."""
        table = self.verdicts
        if verdicts is None:
            table.setRowCount(0)
            self.verdicts_note.setText("")
            return
        rows: list[tuple[str, str, str, str, bool]] = []
        for c in verdicts.comparisons:
            rows.append((c["comparison"], ", ".join(c.get("baselines", [])), c["verdict"],
                         c.get("because", ""), True))
            for pair in verdicts.pairs:
                if pair["comparison"] == c["comparison"]:
                    rows.append(("", pair["baseline"], pair["verdict"],
                                 pair.get("because", ""), False))
        table.setRowCount(len(rows))
        bold = QFont(table.font())
        bold.setBold(True)
        for i, (claim, against, verdict, because, top) in enumerate(rows):
            for j, value in enumerate((claim, against, verdict, because)):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                if top:
                    item.setFont(bold)
                if j == 2 and verdict in VERDICT_COLOURS:
                    item.setForeground(QColor(VERDICT_COLOURS[verdict]))
                table.setItem(i, j, item)
        table.resizeColumnsToContents()
        table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.verdicts_note.setText(
            "Final verdicts (every cell in, Holm family complete)." if verdicts.final else
            "Provisional: recomputed as cells finish; final once every cell is in.")

    def leaderboard_rows(self) -> list[dict[str, str]]:
        """The leaderboard as shown: one dict per row, header -> text."""
        return _rows(self.leaderboard)

    def verdict_rows(self) -> list[dict[str, str]]:
        """The verdicts as shown: one dict per row, header -> text."""
        return _rows(self.verdicts)


def _table(headers: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    return table


def _rows(table: QTableWidget) -> list[dict[str, str]]:
    headers = [table.horizontalHeaderItem(j).text() for j in range(table.columnCount())]
    return [{h: (table.item(i, j).text() if table.item(i, j) else "")
             for j, h in enumerate(headers)} for i in range(table.rowCount())]


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if out != out else out
