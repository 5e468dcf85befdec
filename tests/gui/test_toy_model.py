"""A model registered in one place (one registry entry, nothing else) shows up in the CLI's
model list and runs there, and is listed, described and drawn as a form in the GUI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cryptodesk.app.session import Session
from cryptodesk.cli import main
from cryptodesk.models.registry import available_models, register, unregister
from tests.support.toy_model import TOY_ENTRY

pytestmark = pytest.mark.gui


@pytest.fixture
def toy() -> Iterator[str]:
    register(TOY_ENTRY)
    yield TOY_ENTRY.name
    unregister(TOY_ENTRY.name)
    assert TOY_ENTRY.name not in available_models()


def test_toy_model_appears_in_the_cli_and_the_training_panel(toy: str, qtbot, capsys) -> None:
    assert main(["backtest", "--list-models"]) == 0
    listing = capsys.readouterr().out
    assert f"toy  [point only]  {TOY_ENTRY.description}" in listing
    assert "    shift = 0.0 [-1000000.0..1000000.0]  Added to the last close." in listing
    assert main(["data", "demo"]) == 0
    assert main(["backtest", "--symbol", "DEMO/USD", "--timeframe", "1d", "--models", "toy",
                 "--set", "toy.shift=5", "--test-size", "10", "--quiet"]) == 0
    assert "toy" in capsys.readouterr().out

    from cryptodesk.gui.panels.training_panel import TrainingPanel

    panel = TrainingPanel(Session())  # a panel alone: the session is all it needs
    qtbot.addWidget(panel)
    assert toy in panel.model_names()
    item = panel.models.item(panel.model_names().index(toy))
    assert item.toolTip() == TOY_ENTRY.description
    with qtbot.waitSignal(panel.forms_ready, timeout=30_000):
        pass
    panel.select_model(toy)
    form = panel.form(toy)
    assert form is not None and panel.stack.currentWidget() is form
    form.set_values({"shift": 2.5})
    panel.set_checked([toy])
    from cryptodesk.models.registry import config_class

    naive_defaults = config_class("naive")().to_dict()  # the interval settings every model has
    assert panel.runs() == [("naive", naive_defaults), (toy, {**naive_defaults, "shift": 2.5})]
