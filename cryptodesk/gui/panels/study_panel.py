"""The Study panel: edit a study spec, run it here or on a Ray cluster, watch it settle.

A study (:mod:`cryptodesk.app.study`) runs hundreds of walk-forwards, so this panel only
describes it and draws it: the spec is TOML text in an editor (a built-in study, a file, or
typed), validated through the app layer (:func:`~cryptodesk.app.study.live.study_payload`:
one line naming the place that is wrong) before anything starts; the whole study then runs as
the ``study`` job in a worker process of the app's pool (that worker starts the cell workers,
or connects to the cluster: Ray is never imported here), and its events feed a Qt-free
:class:`~cryptodesk.app.study.live.StudyState` from which the progress line, the leaderboard
(mean ± std over seeds) and the verdicts (provisional until every cell they need is in) are
redrawn at most ten times a second. Cancel stops the study and keeps every finished cell (a
re-run resumes); the self-contained HTML report opens in the system browser.

The spec editor (:mod:`.study_spec_editor`) and the result tables (:mod:`.study_tables`) are
their own modules. The app's study modules import pandas: they are imported the first time the
panel is shown, never at start-up.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from cryptodesk.errors import CryptoDeskError
from cryptodesk.gui.compute import Compute, JobSlot
from cryptodesk.gui.panels.study_spec_editor import StudySpecEditor
from cryptodesk.gui.panels.study_tables import StudyTables
from cryptodesk.gui.session_view import redraw_timer
from cryptodesk.gui.tasks import format_eta

STUDY_JOB = "study"
CANCEL_GRACE_S = 30.0  # the study stops its own cell workers first: give it time


class StudyPanel(QWidget):
    """Signals: ``status(text)``, ``error(title, message, details)``, ``study_finished(state)``
    (the run ended however it ended), ``report_opened(path)``."""

    status = Signal(str)
    error = Signal(str, str, str)
    study_finished = Signal(object)
    report_opened = Signal(str)

    def __init__(self, compute: Compute, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slot = JobSlot(compute, "study", self)
        self.state: Any = None  # StudyState of the last run
        self.open_url = QDesktopServices.openUrl  # how the report is opened (the OS browser)
        self._dirty = False
        self.spec = StudySpecEditor()
        self.spec.status.connect(self.status)
        self.spec.error.connect(self.error)
        # the editor's parts, by the names the window and the tests use
        self.source, self.editor, self.check = self.spec.source, self.spec.editor, self.spec.check
        self.load_builtin, self.load_file = self.spec.load_builtin, self.spec.load_file
        self.save_spec, self.validate = self.spec.save_spec, self.spec.validate

        self.local = QRadioButton("This machine")
        self.local.setChecked(True)
        self.workers = QSpinBox()
        self.workers.setRange(0, 4 * (os.cpu_count() or 1))
        self.workers.setSpecialValueText("every core")
        self.workers.setPrefix("")
        self.workers.setToolTip("Cells run at once (worker processes); results are "
                                "bit-identical whatever the count")
        self.cluster = QRadioButton("Ray cluster")
        self.address = QLineEdit()
        self.address.setPlaceholderText("host:6379")
        self.address.setToolTip("The address of an existing Ray cluster (ray start --head); "
                                "its nodes need the same Python, CryptoDesk and libraries")
        self.local.toggled.connect(self._on_where)
        self.out = QLineEdit()
        self.out.setPlaceholderText("default: <data>/studies/<name>")
        self.out.setToolTip("The output folder; a study run again into it resumes")
        browse = QPushButton("…")
        browse.setMaximumWidth(32)
        browse.clicked.connect(self.choose_out)

        self.run_button = QPushButton("Run study")
        self.run_button.clicked.connect(self.run_study)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the study; finished cells are kept (a re-run "
                                      "resumes)")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.report_button = QPushButton("Open report")
        self.report_button.setToolTip("The study's self-contained HTML report, in the browser")
        self.report_button.setEnabled(False)
        self.report_button.clicked.connect(self.open_report)
        self.results_button = QPushButton("Open results…")
        self.results_button.setToolTip("Show a study folder's leaderboard and verdicts (as its "
                                       "last run left them) and its report")
        self.results_button.clicked.connect(self.choose_results)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress_label = QLabel("No study running.")
        self.progress_label.setMinimumWidth(100)  # long paths go to the tooltip, not the width

        self.tabs = StudyTables()

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.spec, 1)
        where = QHBoxLayout()
        for w in (self.local, self.workers, self.cluster):
            where.addWidget(w)
        where.addWidget(self.address, 1)
        ll.addLayout(where)
        out_row = QHBoxLayout()
        out_row.addWidget(QLabel("Output:"))
        out_row.addWidget(self.out, 1)
        out_row.addWidget(browse)
        ll.addLayout(out_row)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        for w in (self.run_button, self.cancel_button, self.report_button, self.results_button):
            buttons.addWidget(w)
        rl.addLayout(buttons)
        rl.addWidget(self.progress)
        rl.addWidget(self.progress_label)
        rl.addWidget(self.tabs, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(split)

        self.slot.events.connect(self._on_events)
        self.slot.finished.connect(lambda result: self._on_end(_done(result)))
        self.slot.failed.connect(self._on_failed)
        self.slot.cancelled.connect(lambda note: self._on_end(_cancelled(note)))
        self.slot.busy_changed.connect(self._on_busy)
        self._timer = redraw_timer(self, self._redraw)
        self._on_where()

    # ---------------------------------------------------------------- where it runs
    def choose_out(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Output folder of the study",
                                                self.out.text() or str(Path.home()))
        if path:
            self.out.setText(path)

    def _on_where(self) -> None:
        self.workers.setEnabled(self.local.isChecked())
        self.address.setEnabled(not self.local.isChecked())

    # ---------------------------------------------------------------- running
    @property
    def running(self) -> bool:
        return self.slot.busy

    def payload(self) -> dict[str, Any]:
        """The ``study`` job's payload for what the panel shows (raises the app layer's
        CryptoDeskError, one line, for a bad spec or a missing cluster address)."""
        from cryptodesk.app.study.live import study_payload
        from cryptodesk.app.study.spec import StudySpecError

        ray = None
        if self.cluster.isChecked():
            ray = self.address.text().strip()
            if not ray:
                raise StudySpecError("give the Ray cluster's address (host:port), or run the "
                                     "study on this machine")
        out = Path(self.out.text().strip()).expanduser() if self.out.text().strip() else None
        workers = self.workers.value() or None
        if self.spec.builtin is not None:
            return study_payload(builtin=self.spec.builtin, out=out, workers=workers, ray=ray)
        return study_payload(spec_text=self.spec.text(), base=self.spec.base, out=out,
                             workers=workers, ray=ray)

    def run_study(self) -> bool:
        """Validate and start the study in a worker (not while one runs: cancel it first)."""
        from cryptodesk.app.study.live import StudyState

        self.spec.ensure_loaded()
        if self.running:
            self.status.emit("A study is running: cancel it first (its finished cells are kept)")
            return False
        try:
            payload = self.payload()
        except CryptoDeskError as exc:
            self.spec.say(str(exc).splitlines()[0], False)
            self.status.emit(f"Study not started: {str(exc).splitlines()[0]}")
            return False
        self.state = StudyState()
        self.tabs.clear()
        self.report_button.setEnabled(False)
        where = f"on the Ray cluster at {payload['ray']}" if payload.get("ray") else (
            f"with {payload['workers']} worker(s)" if payload.get("workers")
            else "on every core")
        self.progress_label.setText(f"Starting the study {where}…")
        self.progress.setRange(0, 0)
        self.slot.start(STUDY_JOB, payload, "study")
        self.status.emit(f"Study started {where}")
        return True

    def cancel(self) -> bool:
        """Stop the study; every finished cell stays in its folder."""
        if self.slot.cancel(CANCEL_GRACE_S):
            self.progress_label.setText("Cancelling: finished cells are kept…")
            return True
        return False

    def shutdown(self) -> None:
        """Window closing: stop the study's job and wait for its thread."""
        self.slot.shutdown()

    def _on_busy(self, busy: bool) -> None:
        # one study at a time: a restart would cut the running one's grace period short
        self.run_button.setEnabled(not busy)
        self.results_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def _on_events(self, events: list) -> None:
        if self.state is None:
            return
        for event in events:
            self._dirty = self.state.apply(event) or self._dirty

    def _on_failed(self, failed: Any) -> None:
        self._on_end(failed)
        self.error.emit("The study failed", failed.message, failed.details)

    def _on_end(self, final: Any) -> None:
        if self.state is None:
            return
        self.state.apply(final)
        self._dirty = True
        self._redraw()
        self.report_button.setEnabled(self.report_path() is not None)
        self.status.emit(f"Study: {self.progress_label.text()}")
        self.study_finished.emit(self.state)

    # ---------------------------------------------------------------- a past study
    def choose_results(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "A study's output folder",
                                                self.out.text() or str(Path.home()))
        if path:
            self.load_results(Path(path))

    def load_results(self, folder: Path) -> bool:
        """Show a study folder's summary and verdicts (finished or stopped; not while a study
        runs here). A folder that is not a study says so in one line."""
        from cryptodesk.app.study.events import StudyVerdicts
        from cryptodesk.app.study.live import StudyState
        from cryptodesk.app.study.opening import find_study, load_study

        if self.running:
            self.error.emit("A study is running", "Cancel it or wait for it to end first.", "")
            return False
        try:
            view = load_study(find_study(Path(folder)))
        except (CryptoDeskError, KeyError, TypeError, ValueError) as exc:
            self.error.emit("Cannot open the study's results", str(exc).splitlines()[0], "")
            return False
        v = view.verdicts
        state = StudyState(name=view.name, out=str(view.out), total=view.cells)
        state.leaderboard = view.leaderboard
        state.verdicts = StudyVerdicts(v.get("comparisons", []), v.get("pairs", []),
                                       v.get("tests", []) + v.get("pooled", []),
                                       bool(v.get("final")))
        self.state = state
        self._dirty = True
        self._redraw()
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * (view.done + view.failed) / max(1, view.cells)))
        text = f"{view.name}: {view.done} of {view.cells} cells done"
        if view.failed:
            text += f", {view.failed} failed"
        self.progress_label.setText(" · ".join([text, *view.notes]))
        self.progress_label.setToolTip(f"Output folder: {view.out}")
        self.report_button.setEnabled(self.report_path() is not None)
        self.status.emit(f"Study results from {view.out}")
        return True

    # ---------------------------------------------------------------- the report
    def report_path(self) -> Path | None:
        """The last study's HTML report, once written."""
        if self.state is None or not self.state.out:
            return None
        path = Path(self.state.out) / "report.html"
        return path if path.is_file() else None

    def open_report(self) -> bool:
        path = self.report_path()
        if path is None:
            self.error.emit("No report yet", "Run a study first: its report is written when "
                            "it ends (also when it is cancelled).", "")
            return False
        self.open_url(QUrl.fromLocalFile(str(path)))
        self.report_opened.emit(str(path))
        return True

    # ---------------------------------------------------------------- drawing
    def _redraw(self) -> None:
        if not self._dirty or self.state is None:
            return
        self._dirty = False
        s = self.state
        self._draw_progress(s)
        self.tabs.show_leaderboard(s.leaderboard)
        self.tabs.show_verdicts(s.verdicts)

    def _draw_progress(self, s: Any) -> None:
        p = s.progress
        if s.error is not None:
            text = f"Failed: {s.error.splitlines()[0][:200]}"
        elif s.cancelled:
            done = sum(v == "done" for v in s.cells.values()) + s.skipped
            text = f"Cancelled: {done} of {s.total} cells finished and kept"
        elif s.outcome is not None:
            o = s.outcome
            text = (f"Finished: {o.done} of {o.cells} cells ({o.skipped} already done, "
                    f"{len(o.failed)} failed) in {o.seconds:.0f} s")
            for note in o.notes:
                text += f" · {note}"
        elif p is not None:
            bits = [f"{p.done} done", f"{p.running} running", f"{p.left} left"]
            if p.failed:
                bits.append(f"{p.failed} failed")
            eta = format_eta(p.eta_s)
            text = " · ".join(bits + ([eta] if eta else []))
            if s.runner:
                text = f"{s.name} ({s.runner}, {s.workers} worker(s)): {text}"
        else:
            text = f"{s.name or 'Study'}: starting…"
        if p is not None or s.finished:
            self.progress.setRange(0, 1000)
            fraction = 1.0 if s.outcome is not None else (p.fraction if p else 0.0)
            self.progress.setValue(int(fraction * 1000))
        self.progress_label.setText(text)
        tip = f"{text}\nOutput folder: {s.out}" if s.out else text
        self.progress_label.setToolTip(tip)
        self.report_button.setToolTip(f"Open {s.out}/report.html in the browser" if s.out
                                      else self.report_button.toolTip())

    # ---------------------------------------------------------------- reading (tests)
    def leaderboard_rows(self) -> list[dict[str, str]]:
        """The leaderboard as shown: one dict per row, header -> text."""
        return self.tabs.leaderboard_rows()

    def verdict_rows(self) -> list[dict[str, str]]:
        """The verdicts as shown: one dict per row, header -> text."""
        return self.tabs.verdict_rows()


def _done(result: Any) -> Any:
    from cryptodesk.app.jobs.events import Done

    return Done(result)


def _cancelled(note: str) -> Any:
    from cryptodesk.app.jobs.events import Cancelled

    return Cancelled(note)
