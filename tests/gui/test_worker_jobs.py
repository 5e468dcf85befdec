"""Compute out of the GUI process, through the window: a worker that aborts fails only its run,
a GUI run replays bit for bit headless, "Copy as command", and the GUI process never imports
torch or LightGBM. Real worker processes, real runs."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from PySide6.QtWidgets import QApplication

from cryptodesk.app.jobs.runner import EXTRA_MODULES_ENV
from cryptodesk.app.run import execute_run
from cryptodesk.app.runspec import RunSpec
from cryptodesk.cli import main
from cryptodesk.evaluation.strategy import StrategySpec
from cryptodesk.paths import app_paths
from tests.gui.helpers import tiny_run
from tests.support.gui_child import GUI_CHILD_PREAMBLE

pytestmark = pytest.mark.gui
REPO = Path(__file__).resolve().parents[2]
LSTM_FAST = {"lookback": 16, "max_epochs": 2, "patience": 0, "batch_size": 64,
             "num_threads": 1, "hidden": [12]}


@pytest.fixture
def test_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers (started after this) may run the job functions of tests/support."""
    monkeypatch.setenv(EXTRA_MODULES_ENV, "tests.support")


def _statuses(window) -> dict[str, str]:
    return {r["model"]: r["status"] for r in window.results.rows()}


def test_a_worker_that_aborts_fails_only_its_run(test_jobs, window, qtbot) -> None:
    tiny_run(window, ["drift"], test_size=20)
    window.runs.run_job = "tests.support.jobs:abort"  # the run's worker dies natively
    with qtbot.waitSignal(window.run_failed, timeout=60_000) as failed:
        window.start_training()
    message = failed.args[0]
    assert "killed by SIGABRT" in message
    assert message.endswith("native library: fatal error, aborting")  # its last stderr line
    box = window.last_error
    assert box is not None and box.isVisible()
    assert box.windowTitle() == "Training failed: the worker process died"
    assert "native library: fatal error, aborting" in box.detailedText()
    assert _statuses(window) == {"naive": "failed", "drift": "failed"}
    assert window.training.progress_label.text().startswith("Failed: the worker process died")
    box.close()
    # the app is up; the next run gets a fresh worker and goes through
    window.runs.run_job = "run"
    with qtbot.waitSignal(window.run_finished, timeout=60_000):
        window.start_training()
    assert _statuses(window) == {"naive": "done", "drift": "done", "buy & hold": "benchmark"}


def test_a_run_that_ignores_cancel_is_terminated_and_the_user_told(test_jobs, window,
                                                                    qtbot) -> None:
    tiny_run(window, ["drift"], test_size=20)
    window.runs.run_job = "tests.support.jobs:stubborn"  # stuck in native code: never checks
    window.start_training()
    qtbot.waitUntil(lambda: window.runs.run_slot.relay is not None
                    and window.runs.run_slot.relay.worker_pid is not None, timeout=60_000)
    pid = window.runs.run_slot.relay.worker_pid
    with qtbot.waitSignal(window.run_cancelled, timeout=30_000) as blocker:
        window.runs.cancel(grace_s=0.5)
    note = blocker.args[0]
    assert "did not stop within 0.5 s" in note and "terminated" in note
    assert note in window.training.progress_label.text()
    assert note in window.status_label.text()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    window.runs.run_job = "run"  # and the next run goes through
    with qtbot.waitSignal(window.run_finished, timeout=60_000):
        window.start_training()


def test_a_gui_run_replays_bit_identically_headless(window, qtbot, tmp_path: Path) -> None:
    tp = window.training
    tiny_run(window, ["lightgbm", "drift"], test_size=30, refit_every=15)
    tp.select_model("lightgbm")
    tp.form("lightgbm").set_values({"n_estimators": 10, "num_leaves": 7})
    with qtbot.waitSignal(window.run_finished, timeout=120_000) as blocker:
        window.start_training()
    result = blocker.args[0]
    spec = result.spec
    assert RunSpec.from_json(spec.to_json()) == spec  # round trip through JSON
    assert spec == window.session.spec and spec.model_names() == ["naive", "drift", "lightgbm"]
    assert spec.seed == 0 and spec.model("lightgbm").config["seed"] == 0  # the settings' seed
    assert spec.model("lightgbm").config["n_estimators"] == 10
    assert spec.strategy == StrategySpec()  # the trading form's defaults
    assert spec.data.sha256 == window.data_panel.current.ref.sha256

    # the spec alone, run in this process, gives the GUI's forecasts bit for bit
    again = execute_run(RunSpec.from_json(spec.to_json())).result()
    assert sorted(again.forecasts) == sorted(result.forecasts)
    for name, frame in result.forecasts.items():
        pd.testing.assert_frame_equal(frame, again.forecasts[name], check_exact=True)

    # the GUI's export writes the spec beside the forecasts; the CLI replays it
    gui_csv = tmp_path / "gui.csv"
    with qtbot.waitSignal(window.runs.exported, timeout=30_000):
        window.runs.export(gui_csv)
    spec_path = tmp_path / "gui.spec.json"
    assert RunSpec.read(spec_path) == spec
    assert main(["run", str(spec_path), "--quiet", "--export", str(tmp_path / "cli.csv")]) == 0
    assert (tmp_path / "cli.csv").read_text() == gui_csv.read_text()
    out = subprocess.run(
        [sys.executable, "-m", "cryptodesk", "run", str(spec_path), "--quiet",
         "--export", str(tmp_path / "sub.csv")],
        env=dict(os.environ), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "sub.csv").read_text() == gui_csv.read_text()

    # "Copy as command" names the exported spec
    text = window.runs.copy_command()
    assert text == f"cryptodesk run {spec_path}"
    assert QApplication.clipboard().text() == text


def test_copy_as_command_saves_the_spec_for_replay(window, qtbot) -> None:
    assert window.runs.copy_command() is None  # no run yet: the user is told
    assert window.last_error.windowTitle() == "No run to copy"
    window.last_error.close()
    tiny_run(window, ["drift"], test_size=20)
    with qtbot.waitSignal(window.run_finished, timeout=60_000):
        window.start_training()
    assert window.results.copy_button.isEnabled()
    window.results.copy_button.click()
    text = QApplication.clipboard().text()
    path = Path(shlex.split(text)[2])
    assert shlex.split(text)[:2] == ["cryptodesk", "run"]
    assert path.parent == app_paths().runs and path.name.endswith("-DEMO-USD-1d.spec.json")
    assert RunSpec.read(path) == window.session.spec
    assert window.runs.copy_command() == text  # saved once, named again


CHILD = GUI_CHILD_PREAMBLE + r"""
tp = win.training
tp.set_checked(["lightgbm", "lstm"])
tp.select_model("lightgbm")
tp.form("lightgbm").set_values({"n_estimators": 10})
tp.select_model("lstm")
tp.form("lstm").set_values(LSTM_FAST)
tp.set_spec(test_size=5, refit_every=0)
done = []
win.run_finished.connect(done.append)
win.run_failed.connect(done.append)
win.start_training()
spin(lambda: done, 600)
assert not isinstance(done[0], str), done
print("MODELS", sorted(done[0].metrics()))
print("HEAVY", sorted(m for m in ("torch", "lightgbm") if m in sys.modules))
win.close()
"""


def test_the_gui_process_never_imports_torch_or_lightgbm(tmp_path: Path) -> None:
    """A run of LightGBM and an LSTM from the window, in a fresh process: afterwards neither
    library is in that process's sys.modules (they ran in its workers)."""
    env = dict(os.environ, CRYPTODESK_HOME=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    code = CHILD.replace("LSTM_FAST", repr(LSTM_FAST))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines()
                 if line.startswith(("MODELS", "HEAVY")))
    assert lines["MODELS"] == "['lightgbm', 'lstm', 'naive']"
    assert lines["HEAVY"] == "[]"


@pytest.mark.slow  # the worker imports torch (seconds; far more on a busy machine)
def test_cancelling_an_lstm_run_takes_effect_within_a_second(window, qtbot) -> None:
    import time

    tp = window.training
    tiny_run(window, ["lstm"], test_size=20, refit_every=5)
    tp.select_model("lstm")
    tp.form("lstm").set_values({**LSTM_FAST, "max_epochs": 200, "batch_size": 16})
    window.start_training()
    qtbot.waitUntil(lambda: bool(window.session.current.models["lstm"].losses.epochs),
                    timeout=180_000)
    with qtbot.waitSignal(window.run_cancelled, timeout=30_000) as blocker:
        started = time.monotonic()
        window.cancel_all()
    took = time.monotonic() - started
    assert blocker.args == [""] and took < 1.0, f"cancel took {took:.2f} s"
    assert _statuses(window)["lstm"] == "cancelled"


def _show(window, qtbot, row: int) -> None:
    item = window.data_panel.tree.topLevelItem(row)
    with qtbot.waitSignal(window.data_panel.series_loaded, timeout=60_000):
        window.data_panel.tree.setCurrentItem(item)
        item.setSelected(True)


def test_results_stay_with_their_series_while_a_run_goes_on(window, qtbot) -> None:
    """A run keeps going when another series is shown; its results land on its own series.
    A run started on another series supersedes it, and what it left is marked cancelled."""
    tp = window.training
    tiny_run(window, ["lightgbm"], test_size=40, refit_every=5)
    tp.select_model("lightgbm")
    tp.form("lightgbm").set_values({"n_estimators": 10})
    window.start_training()
    daily = window.session.key
    with qtbot.waitSignal(window.run_finished, timeout=120_000):
        _show(window, qtbot, 1)  # the hourly demo series, while the daily run goes on
        assert window.session.key != daily and window.results.rows() == []
    assert window.results.rows() == [] and window.chart.overlays() == []
    assert window.session.results_for(daily).models["lightgbm"].status == "done"
    _show(window, qtbot, 0)
    assert _statuses(window)["lightgbm"] == "done" and window.chart.overlays() == ["lightgbm"]

    tp.set_spec(test_size=300, refit_every=1)  # slow: refit at every origin
    window.start_training()
    qtbot.waitUntil(lambda: _statuses(window).get("lightgbm") == "running", timeout=60_000)
    _show(window, qtbot, 1)
    tiny_run(window, ["drift"], test_size=20)
    with qtbot.waitSignal(window.run_finished, timeout=60_000):
        window.start_training()  # on the hourly series: the daily run is superseded
    assert _statuses(window)["drift"] == "done"
    assert window.session.results_for(daily).models["lightgbm"].status == "cancelled"
