"""The Study panel: the spec is checked through the app layer before anything runs; a study
runs as the ``study`` job in a worker and its leaderboard (mean ± std over seeds) and verdicts
are drawn live; Cancel keeps the finished cells and a re-run resumes; the HTML report opens;
"Run › Study…" shows the dock. The GUI process never imports Ray."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.support.gui_child import GUI_CHILD_PREAMBLE
from tests.support.study_inputs import study_spec, write_study_inputs

SPEC = study_spec("gui-study", """
[[comparisons]]
name = "LightGBM beats drift and naive"
model = "lightgbm"
baselines = ["drift", "naive"]
""")


@pytest.fixture
def study_dir(tmp_path: Path) -> Path:
    """Two synthetic daily series as CSV files beside ``study.toml`` (2 series x (drift +
    lightgbm x 2 seeds): 6 cells)."""
    return write_study_inputs(tmp_path / "inputs", SPEC, bars=200)


@pytest.fixture
def panel(qtbot):
    from cryptodesk.gui.compute import Compute
    from cryptodesk.gui.panels.study_panel import StudyPanel

    compute = Compute()
    widget = StudyPanel(compute)
    qtbot.addWidget(widget)
    widget.resize(1280, 420)
    widget.show()
    yield widget
    widget.shutdown()
    compute.shutdown()


def _keep(widget, name: str) -> None:
    """Save a 1280-wide screenshot when CRYPTODESK_SCREENSHOT_DIR is set (for a look)."""
    if os.environ.get("CRYPTODESK_SCREENSHOT_DIR"):
        keep = Path(os.environ["CRYPTODESK_SCREENSHOT_DIR"])
        keep.mkdir(parents=True, exist_ok=True)
        widget.grab().toImage().save(str(keep / name))


def test_the_spec_is_checked_in_one_line_before_anything_runs(panel, qtbot,
                                                              study_dir: Path) -> None:
    # first shown (after a moment, so the window never waits for it): the built-in studies are
    # listed and the first one is in the editor
    qtbot.waitUntil(lambda: panel.source.count() > 0, timeout=10_000)
    names = [panel.source.itemText(i) for i in range(panel.source.count())]
    assert "Built-in: seed-claims" in names and names[-1] == "Open a file…"
    assert "[[comparisons]]" in panel.editor.toPlainText()
    assert panel.check.property("ok") is True and panel.check.text().startswith("✓ ")
    panel.load_builtin("seed-claims")
    assert "seed-claims" in panel.check.text() and "3 series" in panel.check.text()
    assert panel.payload() == {"builtin": "seed-claims"}  # unedited: resolved in the job
    # a file: its CSV paths are relative to its folder
    assert panel.load_file(study_dir / "study.toml")
    assert panel.check.text() == ("✓ gui-study: 2 series × 2 model(s) × 2 seed(s) × "
                                  "1 target(s), 1 comparison(s)")
    # a typo in the editor: one red line naming the place, checked as the user types
    panel.editor.setPlainText(SPEC.replace('name = "drift"', 'name = "drfit"'))
    qtbot.waitUntil(lambda: panel.check.property("ok") is False, timeout=5_000)
    assert "unknown model 'drfit'" in panel.check.text() and "\n" not in panel.check.text()
    assert not panel.run_study() and not panel.running  # nothing started
    # a cluster without an address is refused the same way
    panel.editor.setPlainText(SPEC)
    panel.cluster.setChecked(True)
    assert not panel.workers.isEnabled() and panel.address.isEnabled()
    assert not panel.run_study() and "Ray cluster's address" in panel.check.text()
    panel.address.setText("10.0.0.5:6379")
    assert panel.payload()["ray"] == "10.0.0.5:6379"
    # saving the edited spec writes it (atomically) and CSV paths then resolve from there
    saved = study_dir / "copy.toml"
    assert panel.save_spec(saved) and saved.read_text() == SPEC


def test_a_study_runs_with_a_live_leaderboard_cancels_keeping_cells_and_resumes(
        panel, qtbot, study_dir: Path, tmp_path: Path) -> None:
    ray_before = "ray" in sys.modules
    out = tmp_path / "out"
    assert panel.load_file(study_dir / "study.toml")
    panel.workers.setValue(1)
    panel.out.setText(str(out))
    seen_partial: list[int] = []
    panel.slot.events.connect(lambda _e: seen_partial.append(len(panel.leaderboard_rows())))
    # 1. cancel once the first cell is in
    with qtbot.waitSignal(panel.study_finished, timeout=300_000) as first:
        assert panel.run_study()
        assert panel.running and panel.cancel_button.isEnabled()
        assert not panel.run_button.isEnabled() and not panel.run_study()  # one at a time
        qtbot.waitUntil(lambda: panel.state is not None and "done" in panel.state.cells.values(),
                        timeout=240_000)
        assert panel.cancel()
    state = first.args[0]
    assert state.cancelled and not panel.running
    kept = [p for p in (out / "cells").glob("*/cell.json")]
    assert 1 <= len(kept) < 6
    assert panel.progress_label.text().startswith(f"Cancelled: {len(kept)} of 6 cells")
    # 2. the re-run skips the kept cells and draws the finished study
    with qtbot.waitSignal(panel.study_finished, timeout=300_000) as second:
        assert panel.run_study()
    state = second.args[0]
    assert state.outcome is not None and state.skipped == len(kept)
    assert (state.outcome.cells, state.outcome.done) == (6, 6)
    rows = panel.leaderboard_rows()
    assert {(r["Series"], r["Model"]) for r in rows} == {
        (s, m) for s in ("AAA-USD 1d", "BBB-USD 1d") for m in ("naive", "drift", "lightgbm")}
    summary = json.loads((out / "status.json").read_text())
    assert summary["done"] == 6
    lgbm = next(r for r in rows if r["Model"] == "lightgbm" and r["Series"] == "AAA-USD 1d")
    assert lgbm["Seeds"] == "2" and " ± " in lgbm["RMSE"] and " ± " in lgbm["MAE"]
    drift = next(r for r in rows if r["Model"] == "drift" and r["Series"] == "AAA-USD 1d")
    assert drift["RMSE"].endswith(" ± 0")  # deterministic: no spread over seeds
    verdicts = panel.verdict_rows()
    assert verdicts[0]["Claim"] == "LightGBM beats drift and naive"
    assert verdicts[0]["Verdict"] in {"supported", "not supported", "contradicted"}
    assert {v["Against"] for v in verdicts[1:]} == {"drift", "naive"}
    assert panel.tabs.verdicts_note.text().startswith("Final verdicts")
    assert panel.progress.value() == 1000 and panel.progress_label.text().startswith(
        "Finished: 6 of 6 cells")
    # 3. the report opens in the browser (the system's opener, recorded here)
    opened = []
    panel.open_url = opened.append
    assert panel.report_button.isEnabled() and panel.open_report()
    assert opened[0].toLocalFile() == str(out / "report.html")
    assert (out / "report.html").read_text().count("<svg") >= 2
    # 4. the folder's results, opened later, are what the run showed
    errors = []
    panel.error.connect(lambda _t, message, _d: errors.append(message))
    assert not panel.load_results(tmp_path)  # not a study folder: one line
    assert errors == [f"no study at {tmp_path} (a study folder holds study.json)"]
    panel.state = None
    panel.tabs.clear()
    assert panel.load_results(out)
    assert panel.leaderboard_rows() == rows and panel.verdict_rows() == verdicts
    assert panel.progress_label.text() == "gui-study: 6 of 6 cells done"
    assert panel.report_button.isEnabled()
    panel.tabs.setCurrentIndex(0)
    _keep(panel, "study_panel_leaderboard.png")
    assert "ray" in sys.modules or not ray_before  # nothing here imported Ray
    if not ray_before:
        assert "ray" not in sys.modules


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_run_menu_opens_the_study_dock_and_runs_a_study(window, qtbot, study_dir: Path,
                                                        tmp_path: Path, theme: str) -> None:
    parts = window.study_tune
    run_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Run")
    assert parts.study_action in run_menu.actions()
    assert not parts.study_dock.isVisible() or window.docks.results.isVisible()
    parts.study_action.trigger()
    qtbot.waitUntil(lambda: parts.study_dock.isVisible(), timeout=5_000)
    panel = parts.study
    qtbot.waitUntil(lambda: panel.source.count() > 1, timeout=15_000)
    assert panel.check.property("ok") is True
    assert panel.load_file(study_dir / "study.toml")
    assert panel.source.currentText() == "File: study.toml"
    panel.out.setText(str(tmp_path / "out"))
    with qtbot.waitSignal(panel.study_finished, timeout=300_000) as done:
        assert panel.run_study()
    assert done.args[0].outcome is not None and len(panel.leaderboard_rows()) == 6
    window.apply_theme(theme)
    window.resize(1280, 800)
    panel.tabs.setCurrentIndex(1)  # the verdicts
    qtbot.wait(200)
    image = window.grab().toImage()
    assert image.width() == 1280 and image.height() == 800
    _keep(window, f"study_panel_{theme}.png")


def test_an_unreachable_cluster_fails_the_study_in_one_line(panel, qtbot, study_dir: Path,
                                                            tmp_path: Path) -> None:
    """The Ray path end to end: the study job (in a worker) connects to the address given in
    the panel and reports the CLI's one line; this process never imports Ray."""
    import socket

    pytest.importorskip("ray")  # the cluster extra (the worker imports it, not this process)
    ray_before = "ray" in sys.modules
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert panel.load_file(study_dir / "study.toml")
    panel.cluster.setChecked(True)
    panel.address.setText(f"127.0.0.1:{port}")
    panel.out.setText(str(tmp_path / "out"))
    errors = []
    panel.error.connect(lambda _t, message, _d: errors.append(message))
    with qtbot.waitSignal(panel.study_finished, timeout=180_000) as done:
        assert panel.run_study()
    state = done.args[0]
    assert state.error is not None and state.error.startswith(
        f"no Ray cluster answers at 127.0.0.1:{port}")
    assert errors and panel.progress_label.text().startswith("Failed: no Ray cluster answers")
    assert not panel.report_button.isEnabled()
    assert ray_before or "ray" not in sys.modules


GUI_ONLY_DRAWS = GUI_CHILD_PREAMBLE + r"""
parts, tp = win.study_tune, win.training
# a tuned LightGBM run (Optuna runs in the worker)
tp.set_checked(["lightgbm"])
tp.select_model("lightgbm")
tp.form("lightgbm").set_values({"n_estimators": 10})
tp.set_spec(test_size=20, refit_every=0)
tp.tune.setChecked(True)
tp.tune.form.set_values({"trials": 3, "inner_folds": 2, "inner_fold_bars": 10})
done = []
win.run_finished.connect(done.append)
win.run_failed.connect(done.append)
win.start_training()
spin(lambda: done, 600)
assert not isinstance(done[0], str), done
print("TRIALS", len(parts.tuning.log.trials))
# explain it (saved first, then the explain job)
explained = []
parts.explain.explained.connect(explained.append)
parts.explain.slot.failed.connect(explained.append)
parts.explain.pick("run: lightgbm (")
parts.explain_action.trigger()
spin(lambda: explained, 600)
print("EXPLAINED", type(explained[0]).__name__)
# a study (its cells run in the study worker's own workers)
parts.study_action.trigger()
spin(lambda: parts.study.source.count() > 1, 60)
parts.study.load_file(Path(sys.argv[1]))
parts.study.workers.setValue(1)
parts.study.out.setText(sys.argv[2])
ended = []
parts.study.study_finished.connect(ended.append)
parts.study.run_study()
spin(lambda: ended, 600)
print("STUDY", ended[0].outcome.done if ended[0].outcome else ended[0].error)
print("HEAVY", sorted(m for m in ("torch", "lightgbm", "optuna", "ray") if m in sys.modules))
win.close()
"""


def test_study_tune_and_explain_leave_the_compute_libraries_out_of_the_gui(
        study_dir: Path, tmp_path: Path) -> None:
    """In a fresh GUI process: a tuned run, its explanation and a study; afterwards none of
    torch, LightGBM, Optuna or Ray is in that process's sys.modules (they ran in workers)."""
    import subprocess

    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, CRYPTODESK_HOME=str(tmp_path / "home"), QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", GUI_ONLY_DRAWS, str(study_dir / "study.toml"),
                          str(tmp_path / "out")], env=env, cwd=repo, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines()
                 if line.startswith(("TRIALS", "EXPLAINED", "STUDY", "HEAVY")))
    assert lines["TRIALS"] == "3" and lines["EXPLAINED"] == "Explanation"
    assert lines["STUDY"] == "6"
    assert lines["HEAVY"] == "[]"
