"""The walk-forward settings, kept in sight: a one-line summary under the training panel's
scrolling forms, with the full form folded out on demand.

Users lost the walk-forward settings below a long hyperparameter form as soon as they ticked a
model. The strip sits outside the scroll area, between the forms and the Train button, so it
never scrolls away and the buttons below it never move; folded, it takes two lines; unfolded,
it shows the form (the scroll area above gives up the room).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget


def summary(values: dict[str, Any]) -> str:
    """``test 365 bars · refit every 30 · horizon 1 · expanding`` from the form's values."""
    if values.get("test_size"):
        test = f"test {values['test_size']:,} bars"
    else:
        test = f"test from {values.get('test_start') or '?'}"
    refit = (f"refit every {values['refit_every']:,}" if values.get("refit_every")
             else "one fit")
    window = values.get("window") or "expanding"
    if window == "rolling" and values.get("train_size"):
        window = f"rolling {values['train_size']:,} bars"
    stride = f" · stride {values['stride']}" if (values.get("stride") or 1) != 1 else ""
    return f"{test} · {refit} · horizon {values.get('horizon', 1)}{stride} · {window}"


class WalkForwardStrip(QGroupBox):
    """The walk-forward box: summary line, WF1 button, fold toggle and (folded out) the form."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Walk-forward", parent)
        self.setObjectName("walkForwardStrip")
        self.line = QLabel("Loading the walk-forward settings…")
        self.line.setObjectName("walkForwardSummary")
        self.line.setWordWrap(True)
        self.toggle = QToolButton()
        self.toggle.setText("Edit")
        self.toggle.setCheckable(True)
        self.toggle.setToolTip("Show the walk-forward settings (test window, refits, horizon)")
        self.toggle.toggled.connect(self.set_unfolded)
        self.head = QHBoxLayout()
        self.head.setContentsMargins(0, 0, 0, 0)
        self.head.addWidget(self.line, 1)
        self.head.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignTop)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 0, 0)
        self.body.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(4)
        layout.addLayout(self.head)
        layout.addWidget(self.body)
        self.form: Any = None

    def add_to_body(self, widget: QWidget, alignment: Qt.AlignmentFlag | None = None) -> None:
        if alignment is None:
            self.body_layout.addWidget(widget)
        else:
            self.body_layout.addWidget(widget, 0, alignment)

    def follow(self, form: Any) -> None:
        """Summarise ``form`` (a ParamForm of WalkForwardSpec) and keep the line current."""
        self.form = form
        form.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        if self.form is not None:
            self.line.setText(summary(self.form.values()))

    def set_unfolded(self, on: bool) -> None:
        if self.toggle.isChecked() != on:
            self.toggle.setChecked(on)
            return
        self.body.setVisible(on)
        self.toggle.setText("Done" if on else "Edit")
