"""The results panel's Calibration window: coverage per horizon, PIT histogram, Brier score and
reliability diagram of the selected model of a finished run, from the run's report."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.gui.helpers import tiny_run

pytestmark = pytest.mark.gui


def test_calibration_tab_follows_selection(window, qtbot) -> None:
    assert not window.results.calibration_button.isEnabled()  # nothing to show yet
    view = window.results.show_calibration().view
    assert view.display is None and "after a run" in view.summary.text()
    tiny_run(window, ["drift"], test_size=80)
    window.training.set_spec(horizon=3)
    with qtbot.waitSignal(window.run_finished, timeout=60_000) as blocker:
        window.start_training()
    result = blocker.args[0]
    assert window.results.calibration_button.isEnabled()
    window.results.select("drift")
    section = result.report["models"][[m["model"] for m in result.report["models"]]
                                      .index("drift")]["calibration"]
    d = view.display
    assert d is not None and d.model == "drift"
    assert d.steps.tolist() == [1, 2, 3]
    assert np.allclose(d.coverage, [section["coverage_by_horizon"][k] for k in ("1", "2", "3")])
    # the bars drawn are the report's numbers
    opts = view.cov_bars.opts
    assert np.allclose(opts["height"], d.coverage) and list(opts["x"]) == [1, 2, 3]
    assert np.allclose(view.pit_bars.opts["height"], section["pit_histogram"]["counts"])
    assert view.pit_flat.value() == pytest.approx(section["pit_histogram"]["n"] / 10)
    xs, ys = view.rel_points.getData()
    assert np.allclose(xs, [r["mean_p"] for r in section["reliability"]])
    assert np.allclose(ys, [r["observed"] for r in section["reliability"]])
    assert f"Brier {section['brier']:.3f}" in view.summary.text()
    assert f"Brier {section['brier']:.3f}" in view.reliability.titleLabel.text
    # another selection: naive's own numbers
    window.results.select("naive")
    assert view.display.model == "naive"
    assert view.summary.text().startswith("naive:")
    assert window.results.show_calibration().view is view  # one window, raised again
    assert not window.results.calibration_dialog.isModal()
    window.results.select("drift")
    dialog = window.results.calibration_dialog
    dialog.resize(980, 400)
    qtbot.wait(150)
    ticks = view.coverage.getAxis("bottom")._tickLevels
    assert [label for _v, label in ticks[0]] == ["1", "2", "3"]  # whole steps on the axis
    if os.environ.get("CRYPTODESK_SCREENSHOT_DIR"):
        keep = Path(os.environ["CRYPTODESK_SCREENSHOT_DIR"])
        keep.mkdir(parents=True, exist_ok=True)
        dialog.grab().toImage().save(str(keep / "calibration.png"))
