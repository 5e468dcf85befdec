"""The hyperparameter form is generated from a model's config: types, ranges, defaults, help."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from cryptodesk.errors import CryptoDeskError
from cryptodesk.gui.panels.param_form import ParamForm
from cryptodesk.models.lgbm import LightGBMConfig

pytestmark = pytest.mark.gui


def test_form_matches_config(qtbot) -> None:
    form = ParamForm(LightGBMConfig)
    qtbot.addWidget(form)
    trees = form.editor("n_estimators")
    assert isinstance(trees, QSpinBox)
    spec = {p.name: p for p in LightGBMConfig.params()}["n_estimators"]
    assert (trees.minimum(), trees.maximum(), trees.value()) == (spec.min, spec.max, spec.default)
    assert spec.help in trees.toolTip() and f"Default: {spec.default}" in trees.toolTip()
    lr = form.editor("learning_rate")
    assert isinstance(lr, QDoubleSpinBox) and lr.value() == pytest.approx(LightGBMConfig().learning_rate)
    assert isinstance(form.editor("quantiles"), QCheckBox)
    assert isinstance(form.editor("p_up"), QComboBox)
    assert form.editor("p_up").currentData() == LightGBMConfig().p_up
    # optional settings start switched off; advanced ones are hidden until asked for
    assert not form.editor("max_train_rows").isEnabled()
    assert form._fields["max_bin"].row.isHidden()
    form.set_show_advanced(True)
    assert not form._fields["max_bin"].row.isHidden()
    # the nested feature spec is a sub-form with list editors
    sub = form.editor("features")
    assert isinstance(sub, ParamForm)
    vol = sub.editor("volatility_windows")
    assert isinstance(vol, QLineEdit) and vol.text() == "5, 20"
    # defaults round-trip into the same config
    assert form.config() == LightGBMConfig()
    form.set_values({"n_estimators": 30, "max_train_rows": 500})
    vol.setText("3, 7, 30")
    cfg = form.config()
    assert cfg.n_estimators == 30 and cfg.max_train_rows == 500
    assert cfg.features.volatility_windows == (3, 7, 30)


def test_invalid_values_are_rejected_by_the_core(qtbot) -> None:
    form = ParamForm(LightGBMConfig)
    qtbot.addWidget(form)
    form.editor("features").editor("volatility_windows").setText("1, x")
    with pytest.raises(CryptoDeskError):
        form.config()
