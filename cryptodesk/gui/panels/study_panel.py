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

The app's study modules import pandas: they are imported the first time the panel is shown,
never at start-up.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QFont, QFontDatabase, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cryptodesk.errors import CryptoDeskError
from cryptodesk.gui.compute import Compute, JobSlot
from cryptodesk.gui.session_view import redraw_timer
from cryptodesk.gui.tasks import format_eta

STUDY_JOB = "study"
CANCEL_GRACE_S = 30.0  # the study stops its own cell workers first: give it time
VALIDATE_MS = 400
FILE_ITEM = "Open a file…"
# leaderboard metrics, in order: (summary column stem, header)
METRICS = (("mae", "MAE"), ("rmse", "RMSE"), ("theils_u", "Theil's U"),
           ("directional_accuracy", "Direction"), ("qlike", "QLIKE"), ("mz_r2", "MZ R²"))
VERDICT_COLOURS = {"supported": "#16a34a", "contradicted": "#dc2626",
                   "not supported": "#b45309"}


def mean_std(mean: Any, std: Any) -> str:
    """``0.0123 ± 0.0004`` (4 significant digits; the std left out when it is unknown)."""
    if mean is None or mean != mean:
        return "–"
    if std is None or std != std:
        return f"{mean:.4g}"
    return f"{mean:.4g} ± {std:.2g}"


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
        self._builtins: dict[str, str] = {}  # name -> its text as shipped
        self._builtin: str | None = None  # the built-in the editor holds, while unedited
        self._base: Path | None = None  # the folder CSV paths are relative to
        self._loaded = False
        self._dirty = False

        self.source = QComboBox()
        self.source.setToolTip("A built-in study to start from, or a study file (TOML)")
        self.source.activated.connect(self._on_source)
        self.save_button = QPushButton("Save as…")
        self.save_button.setToolTip("Write the spec in the editor to a TOML file")
        self.save_button.clicked.connect(self.choose_save)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("studyEditor")
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setPlaceholderText("A study spec (TOML): series, models, seeds, "
                                       "comparisons. Pick a built-in study to start from.")
        self.editor.textChanged.connect(self._on_edited)
        self.check = QLabel("")
        self.check.setObjectName("studyCheck")
        self.check.setWordWrap(True)
        self._validate_timer = QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(VALIDATE_MS)
        self._validate_timer.timeout.connect(self.validate)

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

        self.leaderboard = _table(("Series", "Target", "Model", "Seeds", "Cells"))
        self.leaderboard.setObjectName("studyLeaderboard")
        self.verdicts = _table(("Claim", "Against", "Verdict", "Because"))
        self.verdicts.setObjectName("studyVerdicts")
        self.verdicts_note = QLabel("")
        self.tabs = QTabWidget()
        self.tabs.addTab(self.leaderboard, "Leaderboard")
        vbox = QWidget()
        vl = QVBoxLayout(vbox)
        vl.setContentsMargins(0, 0, 0, 0)
        vl.addWidget(self.verdicts_note)
        vl.addWidget(self.verdicts, 1)
        self.tabs.addTab(vbox, "Verdicts")

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(QLabel("Spec:"))
        top.addWidget(self.source, 1)
        top.addWidget(self.save_button)
        ll.addLayout(top)
        ll.addWidget(self.editor, 1)
        ll.addWidget(self.check)
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

    # ---------------------------------------------------------------- the spec
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.ensure_loaded()

    def ensure_loaded(self) -> None:
        """List the built-in studies and put the first in the editor (first show: the study
        modules import pandas, which start-up must not wait for)."""
        if self._loaded:
            return
        self._loaded = True
        from cryptodesk.app.study.builtin import builtin_names, builtin_text

        self._builtins = {name: builtin_text(name) for name in builtin_names()}
        self.source.addItems([f"Built-in: {name}" for name in self._builtins] + [FILE_ITEM])
        if not self.editor.toPlainText().strip() and self._builtins:
            self.load_builtin(next(iter(self._builtins)))

    def load_builtin(self, name: str) -> None:
        """Put built-in study ``name`` in the editor (its series are found in the store when
        it runs; unedited, it runs on the demo series when none is stored)."""
        self.ensure_loaded()
        self.editor.setPlainText(self._builtins[name])
        self._builtin, self._base = name, None
        self.source.setCurrentIndex(list(self._builtins).index(name))
        self.validate()

    def load_file(self, path: Path) -> bool:
        """Put the spec at ``path`` in the editor (its CSV paths are relative to its folder)."""
        self.ensure_loaded()
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.error.emit("Cannot open the study", f"{path}: {exc}", "")
            return False
        self.editor.setPlainText(text)
        self._builtin, self._base = None, Path(path).resolve().parent
        self._show_source(f"File: {Path(path).name}", str(path))
        self.validate()
        return True

    def _show_source(self, text: str, tip: str) -> None:
        """Name the file the editor holds in the source list (one such item at most)."""
        index = self.source.count() - 1  # the "Open a file…" item stays last
        if index > 0 and self.source.itemText(index - 1).startswith("File: "):
            self.source.removeItem(index - 1)
            index -= 1
        self.source.insertItem(index, text)
        self.source.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
        self.source.setCurrentIndex(index)

    def _on_source(self, index: int) -> None:
        if self.source.itemText(index).startswith("File: "):
            return
        if self.source.itemText(index) == FILE_ITEM:
            path, _ = QFileDialog.getOpenFileName(self, "Open a study", str(Path.home()),
                                                  "Study specs (*.toml);;All files (*)")
            if path:
                self.load_file(Path(path))
        else:
            self.load_builtin(list(self._builtins)[index])

    def _on_edited(self) -> None:
        if self._builtin is not None and self.editor.toPlainText() != self._builtins.get(
                self._builtin):
            self._builtin = None  # edited: it runs as the text it now is
        self._validate_timer.start()

    def validate(self) -> Any:
        """Check the editor's spec through the app layer; the line under the editor says
        what is wrong (one line) or what the study holds. Returns the spec or None."""
        from cryptodesk.app.study.opening import open_spec

        self._validate_timer.stop()
        text = self.editor.toPlainText()
        try:
            if self._builtin is not None:
                from cryptodesk.app.study.spec import StudySpec

                spec = StudySpec.from_toml(text, where=f"built-in study {self._builtin}")
            else:
                spec = open_spec(text=text, base=self._base)[0]
        except CryptoDeskError as exc:
            self._say_check(str(exc).splitlines()[0] if str(exc) else "invalid spec", False)
            return None
        models = len(spec.models)
        self._say_check(f"{spec.name}: {len(spec.series)} series × {models} model(s) × "
                        f"{len(spec.seeds)} seed(s) × {len(spec.targets)} target(s), "
                        f"{len(spec.comparisons)} comparison(s)", True)
        return spec

    def _say_check(self, text: str, ok: bool) -> None:
        self.check.setText(("✓ " if ok else "✗ ") + text)
        self.check.setStyleSheet("" if ok else "color: #dc2626;")
        self.check.setProperty("ok", ok)

    def choose_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the study", str(Path.home() /
                                              "study.toml"), "Study specs (*.toml)")
        if path:
            self.save_spec(Path(path))

    def save_spec(self, path: Path) -> bool:
        """Write the editor's text to ``path`` atomically (CSV paths then resolve from there)."""
        from cryptodesk.atomic import write_text_atomic

        try:
            write_text_atomic(Path(path), self.editor.toPlainText())
        except OSError as exc:
            self.error.emit("Cannot save the study", f"{path}: {exc}", "")
            return False
        self._base = Path(path).resolve().parent
        self.status.emit(f"Study spec saved as {path}")
        return True

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
        if self._builtin is not None:
            return study_payload(builtin=self._builtin, out=out, workers=workers, ray=ray)
        return study_payload(spec_text=self.editor.toPlainText(), base=self._base, out=out,
                             workers=workers, ray=ray)

    def run_study(self) -> bool:
        """Validate and start the study in a worker (a running one is cancelled first)."""
        from cryptodesk.app.study.live import StudyState

        self.ensure_loaded()
        try:
            payload = self.payload()
        except CryptoDeskError as exc:
            self._say_check(str(exc).splitlines()[0], False)
            self.status.emit(f"Study not started: {str(exc).splitlines()[0]}")
            return False
        self.state = StudyState()
        self._clear_tables()
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
        self.run_button.setText("Restart study" if busy else "Run study")
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
        self._draw_leaderboard(s.leaderboard)
        self._draw_verdicts(s.verdicts)

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

    def _draw_leaderboard(self, rows: list[dict[str, Any]]) -> None:
        shown = [(stem, head) for stem, head in METRICS
                 if any(_number(r.get(f"{stem}_mean")) is not None for r in rows)]
        headers = ["Series", "Target", "Model", "Seeds", "Cells", *(h for _s, h in shown)]
        table = self.leaderboard
        table.setSortingEnabled(False)
        table.setColumnCount(len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            failed = int(row.get("failed") or 0)
            cells = f"{row.get('cells', 0)}" + (f" ({failed} failed)" if failed else "")
            values = [row.get("series", ""), row.get("target", ""), row.get("model", ""),
                      str(row.get("seeds", "")), cells]
            values += [mean_std(_number(row.get(f"{stem}_mean")),
                                _number(row.get(f"{stem}_std"))) for stem, _h in shown]
            for j, value in enumerate(values):
                item = QTableWidgetItem(str(value))
                if j >= 5:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(i, j, item)
        table.resizeColumnsToContents()

    def _draw_verdicts(self, verdicts: Any) -> None:
        table = self.verdicts
        if verdicts is None:
            table.setRowCount(0)
            self.verdicts_note.setText("")
            return
        rows: list[tuple[str, str, str, str, bool]] = []
        for c in verdicts.comparisons:
            rows.append((c["comparison"], ", ".join(c.get("baselines", [])), c["verdict"],
                         c.get("because", ""), True))
            for pair in verdicts.pairs:
                if pair["comparison"] == c["comparison"]:
                    rows.append(("", pair["baseline"], pair["verdict"],
                                 pair.get("because", ""), False))
        table.setRowCount(len(rows))
        bold = QFont(table.font())
        bold.setBold(True)
        for i, (claim, against, verdict, because, top) in enumerate(rows):
            for j, value in enumerate((claim, against, verdict, because)):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                if top:
                    item.setFont(bold)
                if j == 2 and verdict in VERDICT_COLOURS:
                    item.setForeground(QColor(VERDICT_COLOURS[verdict]))
                table.setItem(i, j, item)
        table.resizeColumnsToContents()
        table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.verdicts_note.setText(
            "Final verdicts (every cell in, Holm family complete)." if verdicts.final else
            "Provisional: recomputed as cells finish; final once every cell is in.")

    def _clear_tables(self) -> None:
        self.leaderboard.setRowCount(0)
        self.verdicts.setRowCount(0)
        self.verdicts_note.setText("")

    # ---------------------------------------------------------------- reading (tests)
    def leaderboard_rows(self) -> list[dict[str, str]]:
        """The leaderboard as shown: one dict per row, header -> text."""
        return _rows(self.leaderboard)

    def verdict_rows(self) -> list[dict[str, str]]:
        """The verdicts as shown: one dict per row, header -> text."""
        return _rows(self.verdicts)


def _table(headers: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    return table


def _rows(table: QTableWidget) -> list[dict[str, str]]:
    headers = [table.horizontalHeaderItem(j).text() for j in range(table.columnCount())]
    return [{h: (table.item(i, j).text() if table.item(i, j) else "")
             for j, h in enumerate(headers)} for i in range(table.rowCount())]


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if out != out else out


def _done(result: Any) -> Any:
    from cryptodesk.app.jobs.events import Done

    return Done(result)


def _cancelled(note: str) -> Any:
    from cryptodesk.app.jobs.events import Cancelled

    return Cancelled(note)
