"""The training panel's Tune option: a tuning budget for the ticked models.

Ticked on, every ticked model whose config declares a search space is run twice: with the
settings of its form, and tuned (``<model>+tuned``: Optuna on inner folds of each outer
training window, :mod:`cryptodesk.evaluation.tuning`) with this budget, so the results table
scores the tuned model beside its defaults and naive on the same points. The budget is a
:class:`~cryptodesk.evaluation.tuning_spec.TuningSpec` drawn by :class:`ParamForm` (trials,
time limit, how often to tune, inner folds, pruning, seed; the rest under "advanced"); the run
spec is built the way ``cryptodesk tune`` builds it (:func:`cryptodesk.app.tune.with_tuning`),
so "Copy as command" replays a tuned GUI run headless.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget

from cryptodesk.errors import DataError
from cryptodesk.gui.panels.param_form import ParamForm


class TuneBox(QGroupBox):
    """A checkable group: off, nothing is tuned; on, :meth:`request` gives (models, budget)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Tune (Optuna)", parent)
        from cryptodesk.evaluation.tuning_spec import TuningSpec

        self.setObjectName("tuneBox")
        self.setCheckable(True)
        self.setChecked(False)
        self.setToolTip("Also run each ticked model tuned inside every walk-forward training "
                        "window (nested: the test block never reaches a trial), scored beside "
                        "its default settings and naive")
        self.form = ParamForm(TuningSpec)
        self.form.set_values({"trials": 10})
        self.models_label = QLabel("")
        self.models_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.models_label)
        layout.addWidget(self.form)
        self._ticked: list[str] = []
        self._tunable: list[str] | None = None
        self.toggled.connect(self._on_toggled)
        self._on_toggled(False)

    def _on_toggled(self, on: bool) -> None:
        self.form.setVisible(on)
        self.models_label.setVisible(on)
        if on:
            self._show_models()

    def tunable(self) -> list[str]:
        """Registry models with a declared search space (read once, when first needed)."""
        if self._tunable is None:
            from cryptodesk.app.tune import tunable_models

            self._tunable = tunable_models()
        return self._tunable

    def set_ticked(self, names: list[str]) -> None:
        """The training panel's ticked models (the line under the title follows them)."""
        self._ticked = list(names)
        if self.isChecked():
            self._show_models()

    def _show_models(self) -> None:
        chosen = [n for n in self._ticked if n in self.tunable()]
        if chosen:
            self.models_label.setText(f"Tuned: {', '.join(chosen)} (each also runs with its "
                                      "own settings)")
        else:
            self.models_label.setText("Tick a model to tune: " + ", ".join(self.tunable()))

    def request(self, ticked: list[str]) -> tuple[list[str], Any] | None:
        """(models to tune, TuningSpec) for the ticked models, or None when the option is
        off. Raises DataError (one line) when none of them can be tuned."""
        if not self.isChecked():
            return None
        chosen = [n for n in ticked if n in self.tunable()]
        if not chosen:
            raise DataError("Tune is on, but none of the ticked models has a search space; "
                            f"tick one of: {', '.join(self.tunable())}")
        return chosen, self.form.config()
