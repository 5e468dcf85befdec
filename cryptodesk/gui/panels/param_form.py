"""A form built from a config class's :meth:`~cryptodesk.models.config.ModelConfig.params`.

One editor per :class:`~cryptodesk.models.config.ParamSpec`: spin boxes with the declared
range for numbers, a check box for flags, a combo box for choices, a line edit for text and for
lists (comma-separated); an optional setting gets an "on" check box that enables its editor;
a nested config (kind ``group``) becomes a collapsible sub-form; ``advanced`` settings hide
until "Show advanced" is ticked. Labels and tooltips come from the spec. The form never
validates on its own: :meth:`ParamForm.config` builds the config through ``from_dict``, so the
rules are the core's.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

INT_LIMIT = 2**31 - 1


class _Field:
    """One spec, its editor widget and (for optional specs) its "on" box."""

    def __init__(self, spec: Any, editor: QWidget, row: QWidget, enable: QCheckBox | None,
                 sub: ParamForm | None = None) -> None:
        self.spec, self.editor, self.row, self.enable, self.sub = spec, editor, row, enable, sub

    def value(self) -> Any:
        if self.enable is not None and not self.enable.isChecked():
            return None
        kind = self.spec.kind
        ed = self.editor
        if self.sub is not None:
            return self.sub.values()
        if kind == "bool":
            return ed.isChecked()  # type: ignore[attr-defined]
        if kind == "int":
            return int(ed.value())  # type: ignore[attr-defined]
        if kind == "float":
            return float(ed.value())  # type: ignore[attr-defined]
        if kind == "choice":
            return ed.currentData()  # type: ignore[attr-defined]
        text = ed.text().strip()  # type: ignore[attr-defined]
        if kind == "str":
            return text
        items = [t.strip() for t in text.split(",") if t.strip()]
        elem = kind[: -len("_tuple")]
        conv = {"int": int, "float": float, "str": str}[elem]
        try:
            return [conv(t) for t in items]
        except ValueError:
            return items  # let the config's validation name the problem

    def set_value(self, value: Any) -> None:
        if self.enable is not None:
            self.enable.setChecked(value is not None)
            if value is None:
                value = self.spec.default if self.spec.default is not None else None
                if value is None:
                    return
        kind = self.spec.kind
        ed = self.editor
        if self.sub is not None:
            self.sub.set_values(value if isinstance(value, dict) else value.to_dict())
        elif kind == "bool":
            ed.setChecked(bool(value))  # type: ignore[attr-defined]
        elif kind in ("int", "float"):
            ed.setValue(value)  # type: ignore[attr-defined]
        elif kind == "choice":
            i = ed.findData(value)  # type: ignore[attr-defined]
            if i >= 0:
                ed.setCurrentIndex(i)  # type: ignore[attr-defined]
        elif kind == "str":
            ed.setText(str(value))  # type: ignore[attr-defined]
        else:
            ed.setText(", ".join(str(v) for v in value))  # type: ignore[attr-defined]


def _tooltip(spec: Any) -> str:
    bits = [spec.help] if spec.help else []
    if spec.min is not None or spec.max is not None:
        lo = "-∞" if spec.min is None else f"{spec.min:g}"
        hi = "∞" if spec.max is None else f"{spec.max:g}"
        bits.append(f"Range {lo} … {hi}.")
    default = spec.default
    if spec.kind == "group":
        default = None
    elif isinstance(default, tuple):
        default = ", ".join(str(v) for v in default) or "(none)"
    if default is not None or spec.optional:
        bits.append(f"Default: {'off' if default is None else default}.")
    return " ".join(bits)


class ParamForm(QWidget):
    """Editors for every field of a config class; :meth:`config` returns a validated config."""

    changed = Signal()

    def __init__(self, config_cls: type, parent: QWidget | None = None,
                 show_advanced: bool = False) -> None:
        super().__init__(parent)
        self.config_cls = config_cls
        self._fields: dict[str, _Field] = {}
        self._show_advanced = show_advanced
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # a narrow dock puts labels above their editors rather than scrolling sideways
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        specs = config_cls.params()
        if not specs:
            note = QLabel("This model has no settings.")
            note.setEnabled(False)
            self.form.addRow(note)
        for spec in specs:
            self._add(spec)
        self.set_show_advanced(show_advanced)

    # ---------------------------------------------------------------- building
    def _add(self, spec: Any) -> None:
        tip = _tooltip(spec)
        sub = None
        if spec.kind == "group":
            sub = ParamForm(spec.group, show_advanced=self._show_advanced)
            sub.changed.connect(self.changed)
            box = QGroupBox(spec.label)
            box.setCheckable(True)
            box.setChecked(False)  # collapsed until asked for
            box.setToolTip(tip)
            lay = QVBoxLayout(box)
            lay.setContentsMargins(8, 4, 4, 4)
            lay.addWidget(sub)
            sub.setVisible(False)
            box.toggled.connect(sub.setVisible)
            f = _Field(spec, sub, box, None, sub)
            self._fields[spec.name] = f
            self.form.addRow(box)
            return
        editor = self._editor(spec)
        editor.setToolTip(tip)
        enable = None
        row: QWidget = editor
        if spec.optional:
            row = QWidget()
            lay = QHBoxLayout(row)
            lay.setContentsMargins(0, 0, 0, 0)
            enable = QCheckBox()
            enable.setToolTip(f"Use {spec.label.lower()} (unticked: off)")
            enable.toggled.connect(editor.setEnabled)
            enable.toggled.connect(lambda _=False: self.changed.emit())
            lay.addWidget(enable)
            lay.addWidget(editor, 1)
        label = QLabel(spec.label)
        label.setToolTip(tip)
        f = _Field(spec, editor, row, enable)
        f.label = label  # type: ignore[attr-defined]
        self._fields[spec.name] = f
        self.form.addRow(label, row)
        f.set_value(spec.default)
        if enable is not None:
            editor.setEnabled(spec.default is not None)

    def _editor(self, spec: Any) -> QWidget:
        kind = spec.kind
        if kind == "bool":
            w = QCheckBox()
            w.toggled.connect(lambda _=False: self.changed.emit())
            return w
        if kind == "int":
            w = QSpinBox()
            w.setRange(int(spec.min) if spec.min is not None else -INT_LIMIT,
                       int(min(spec.max, INT_LIMIT)) if spec.max is not None else INT_LIMIT)
            if spec.step:
                w.setSingleStep(int(spec.step))
            w.setGroupSeparatorShown(True)
            w.valueChanged.connect(lambda _=0: self.changed.emit())
            return w
        if kind == "float":
            w = QDoubleSpinBox()
            lo = spec.min if spec.min is not None else -1e12
            hi = spec.max if spec.max is not None else 1e12
            decimals = 6 if spec.log or (spec.min is not None and 0 < spec.min < 0.01) else 4
            w.setDecimals(decimals)
            w.setRange(lo, hi)
            if spec.step:
                w.setSingleStep(spec.step)
            else:
                w.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
            w.valueChanged.connect(lambda _=0.0: self.changed.emit())
            return w
        if kind == "choice":
            w = QComboBox()
            for choice in spec.choices or ():
                w.addItem(str(choice), choice)
            w.currentIndexChanged.connect(lambda _=0: self.changed.emit())
            return w
        w = QLineEdit()
        if kind.endswith("_tuple"):
            w.setPlaceholderText("comma-separated, e.g. 5, 20")
        w.textChanged.connect(lambda _="": self.changed.emit())
        return w

    # ---------------------------------------------------------------- values
    def values(self) -> dict[str, Any]:
        """Raw values of every editor (not validated)."""
        return {name: f.value() for name, f in self._fields.items()}

    def set_values(self, values: dict[str, Any]) -> None:
        """Fill editors from a dict (unknown keys ignored)."""
        for name, value in values.items():
            if name in self._fields:
                self._fields[name].set_value(value)

    def config(self) -> Any:
        """A validated config instance (raises the core's ModelError/DataError when invalid)."""
        return self.config_cls.from_dict(self.values())

    def reset(self) -> None:
        """Back to the defaults."""
        self.set_values({s.name: s.default for s in self.config_cls.params()})

    def editor(self, name: str) -> QWidget:
        """The editor widget of one setting (tests, presets)."""
        return self._fields[name].editor

    def set_show_advanced(self, show: bool) -> None:
        self._show_advanced = show
        for f in self._fields.values():
            if f.sub is not None:
                f.sub.set_show_advanced(show)
            if f.spec.advanced:
                f.row.setVisible(show)
                label = getattr(f, "label", None)
                if label is not None:
                    label.setVisible(show)
