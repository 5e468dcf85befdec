"""The training panel's ensemble picker: members and combiners of an ensemble, by ticking.

On the command line an ensemble is ``ensemble:arima+lightgbm+lstm`` with
``--set ensemble.combiner=...``; here the user ticks its members and one or more combiners
(mean, inverse_error, stack), and each ticked combiner runs as one ``ensemble`` entry of the
run spec, labelled ``ensemble:<members>/<combiner>`` like the CLI's
(:func:`cryptodesk.app.ensemble.parse_model_token` gives the same members). Each member takes
the settings of its own form in the training panel when that form has been opened (else its
defaults), and the ensemble's other settings (stacking fit, inner folds) come from the
``ensemble`` model's form when it has been opened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cryptodesk.errors import DataError

ENSEMBLE = "ensemble"
COMBINER_TIPS = {
    "mean": "Equal weights",
    "inverse_error": "Weights 1/MSE of each member's inner out-of-fold forecasts",
    "stack": "Weights fitted to the members' inner out-of-fold forecasts (NNLS or ridge)",
}
ConfigOf = Callable[[str], "dict[str, Any] | None"]


class EnsembleBox(QGroupBox):
    """A checkable group: on, :meth:`entries` gives one run entry per ticked combiner."""

    def __init__(self, candidates: list[str], parent: QWidget | None = None) -> None:
        super().__init__("Ensemble", parent)
        self.setObjectName("ensembleBox")
        self.setCheckable(True)
        self.setChecked(False)
        self.setToolTip("Combine the models ticked here into one forecast (run beside the "
                        "models of the list above)")
        self.members = QListWidget()
        self.members.setObjectName("ensembleMembers")
        for name in candidates:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.members.addItem(item)
        self.members.setMaximumHeight(120)
        self.members.itemChanged.connect(lambda _item: self._show_label())
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.combiners: dict[str, QCheckBox] = {}
        row = QVBoxLayout()  # one per line: the dock is narrow
        row.setSpacing(2)
        row.addWidget(QLabel("Combine by:"))
        for name, tip in COMBINER_TIPS.items():
            box = QCheckBox(name)
            box.setToolTip(tip)
            box.toggled.connect(lambda _on: self._show_label())
            self.combiners[name] = box
            row.addWidget(box)
        self.combiners["mean"].setChecked(True)
        self.body = QWidget()
        bl = QVBoxLayout(self.body)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(QLabel("Members:"))
        bl.addWidget(self.members)
        bl.addLayout(row)
        bl.addWidget(self.label)
        QVBoxLayout(self).addWidget(self.body)
        self.toggled.connect(self.body.setVisible)
        self.body.setVisible(False)

    def set_members(self, names: list[str], combiners: tuple[str, ...] = ("mean",)) -> None:
        """Tick exactly ``names`` as members and ``combiners``."""
        for i in range(self.members.count()):
            item = self.members.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in names
                               else Qt.CheckState.Unchecked)
        for name, box in self.combiners.items():
            box.setChecked(name in combiners)

    def picked(self) -> list[str]:
        """The ticked members, in list order."""
        return [self.members.item(i).text() for i in range(self.members.count())
                if self.members.item(i).checkState() == Qt.CheckState.Checked]

    def picked_combiners(self) -> list[str]:
        return [name for name, box in self.combiners.items() if box.isChecked()]

    def token(self) -> str:
        """The CLI spelling of the picked ensemble (``ensemble:a+b+c``)."""
        return f"{ENSEMBLE}:{'+'.join(self.picked())}"

    def _show_label(self) -> None:
        members, combiners = self.picked(), self.picked_combiners()
        if len(members) < 2:
            self.label.setText("Tick at least two members.")
        elif not combiners:
            self.label.setText("Tick at least one combiner.")
        else:
            runs = ", ".join(f"{self.token()}/{c}" for c in combiners)
            self.label.setText(f"Runs {len(combiners)} ensemble(s) of {', '.join(members)}; "
                               f"on the CLI: --models {self.token()}")
            self.label.setToolTip(f"Runs {runs}")

    def entries(self, config_of: ConfigOf) -> list[tuple[str, dict[str, Any]]]:
        """One ``("ensemble", config)`` run entry per ticked combiner, or [] when the option
        is off. ``config_of(name)``: the settings of a model's form in the training panel
        (None when never opened). Raises DataError (one line) for too few members or no
        combiner."""
        if not self.isChecked():
            return []
        from cryptodesk.app.ensemble import parse_model_token

        members, combiners = self.picked(), self.picked_combiners()
        if len(members) < 2:
            raise DataError("the ensemble needs at least two members: tick them in its list")
        if not combiners:
            raise DataError("tick at least one combiner for the ensemble (mean, "
                            "inverse_error or stack)")
        _name, parsed = parse_model_token(self.token())  # the CLI's reading of the same pick
        base = dict(config_of(ENSEMBLE) or {})
        member_configs = {m: c for m in parsed["members"] if (c := config_of(m)) is not None}
        out = []
        for combiner in combiners:
            config = {**base, **parsed, "combiner": combiner, "member_configs": member_configs}
            config.pop("seed", None)  # the run's seed, as for every stochastic model
            out.append((ENSEMBLE, config))
        return out
