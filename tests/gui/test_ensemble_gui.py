"""The training panel's ensemble picker: ticked members and combiners become ``ensemble``
entries of the run spec (as ``ensemble:a+b`` does on the CLI), with each member's form settings,
and run beside the other models."""

from __future__ import annotations

import os
from pathlib import Path

from tests.gui.helpers import tiny_run


def test_the_picker_refuses_too_few_members_in_one_line(window) -> None:
    box = window.training.ensemble
    assert box.entries(lambda _n: None) == []  # off: no ensemble
    assert "ensemble" not in [box.members.item(i).text() for i in range(box.members.count())]
    box.setChecked(True)
    box.set_members(["drift"])
    errors = []
    window.error_shown.connect(errors.append)
    window.start_training()
    assert errors == ["the ensemble needs at least two members: tick them in its list"]
    box.set_members(["drift", "arima"], combiners=())
    assert box.label.text() == "Tick at least one combiner."
    window.start_training()
    assert errors[-1].startswith("tick at least one combiner")
    assert not window.runs.running


def test_an_ensemble_picked_in_the_panel_runs_like_the_cli_token(window, qtbot) -> None:
    from cryptodesk.app.ensemble import parse_model_token

    tp = window.training
    tiny_run(window, ["drift"], test_size=30, refit_every=0)
    tp.select_model("lightgbm")
    tp.form("lightgbm").set_values({"n_estimators": 12})
    box = tp.ensemble
    box.setChecked(True)
    box.set_members(["drift", "lightgbm"], combiners=("mean", "inverse_error"))
    assert box.token() == "ensemble:drift+lightgbm"
    assert box.label.text() == ("Runs 2 ensemble(s) of drift, lightgbm; on the CLI: --models "
                                "ensemble:drift+lightgbm")
    assert box.label.toolTip() == ("Runs ensemble:drift+lightgbm/mean, "
                                   "ensemble:drift+lightgbm/inverse_error")
    with qtbot.waitSignal(window.run_finished, timeout=240_000) as done:
        window.start_training()
    result = done.args[0]
    names = set(result.metrics())
    assert names == {"naive", "drift", "ensemble:drift+lightgbm/mean",
                     "ensemble:drift+lightgbm/inverse_error"}
    spec = result.spec.model("ensemble:drift+lightgbm/inverse_error")
    assert spec.name == "ensemble" and spec.config["combiner"] == "inverse_error"
    assert list(spec.config["members"]) == parse_model_token(box.token())[1]["members"]
    assert spec.config["member_configs"]["lightgbm"]["n_estimators"] == 12  # its form's
    for name in ("ensemble:drift+lightgbm/mean", "ensemble:drift+lightgbm/inverse_error"):
        assert result.metrics()[name]["rmse"] > 0
    rows = {r["model"] for r in window.results.rows()}
    assert "ensemble:drift+lightgbm/mean" in rows
    if os.environ.get("CRYPTODESK_SCREENSHOT_DIR"):
        from PySide6.QtWidgets import QScrollArea

        keep = Path(os.environ["CRYPTODESK_SCREENSHOT_DIR"])
        keep.mkdir(parents=True, exist_ok=True)
        window.resize(1280, 800)
        scroll = tp.findChild(QScrollArea)
        qtbot.wait(100)
        scroll.verticalScrollBar().setValue(box.y())
        scroll.horizontalScrollBar().setValue(0)
        window.docks.results.raise_()
        qtbot.wait(200)
        window.grab().toImage().save(str(keep / "ensemble_light.png"))
