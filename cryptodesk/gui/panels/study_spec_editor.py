"""The Study panel's spec editor: a study spec as TOML text, checked as the user types.

The text comes from a built-in study (``resources/studies``), a file, or the keyboard; the line
under the editor says what the spec holds or, in red, the app layer's one-line message for what
is wrong (:func:`~cryptodesk.app.study.opening.open_spec`, the CLI's check). An unedited
built-in study is remembered by name (:attr:`builtin`): its series are resolved against the
store when it runs, like ``cryptodesk study run --builtin NAME``. A file's folder is the base
its CSV paths are relative to (:attr:`base`). The app's study modules import pandas, so the
built-in studies are listed the first time the editor is shown, never at start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cryptodesk.errors import CryptoDeskError

VALIDATE_MS = 400
FILE_ITEM = "Open a file…"
LOAD_DELAY_MS = 1000  # after the editor is first shown: the built-ins are listed and checked


class StudySpecEditor(QWidget):
    """Source list, TOML editor and check line. Signals ``status(text)``,
    ``error(title, message, details)``."""

    status = Signal(str)
    error = Signal(str, str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.builtins: dict[str, str] = {}  # name -> its text as shipped
        self.builtin: str | None = None  # the built-in the editor holds, while unedited
        self.base: Path | None = None  # the folder CSV paths are relative to
        self._loaded = False
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
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(VALIDATE_MS)
        self._timer.timeout.connect(self.validate)
        top = QHBoxLayout()
        top.addWidget(QLabel("Spec:"))
        top.addWidget(self.source, 1)
        top.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.check)

    def text(self) -> str:
        return self.editor.toPlainText()

    # ---------------------------------------------------------------- sources
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._loaded:  # first shown, maybe as the window opens: checking the spec
            # imports the app layer's study code and pandas, which the window must not wait for
            # (the data panel imports pandas in its I/O thread meanwhile)
            QTimer.singleShot(LOAD_DELAY_MS, self.ensure_loaded)

    def ensure_loaded(self) -> None:
        """List the built-in studies and put the first in the editor (first show)."""
        if self._loaded:
            return
        self._loaded = True
        from cryptodesk.app.study.builtin import builtin_names, builtin_text

        self.builtins = {name: builtin_text(name) for name in builtin_names()}
        self.source.addItems([f"Built-in: {name}" for name in self.builtins] + [FILE_ITEM])
        if not self.text().strip() and self.builtins:
            self.load_builtin(next(iter(self.builtins)))

    def load_builtin(self, name: str) -> None:
        """Put built-in study ``name`` in the editor (its series are found in the store when
        it runs; unedited, it runs on the demo series when none is stored)."""
        self.ensure_loaded()
        self.editor.setPlainText(self.builtins[name])
        self.builtin, self.base = name, None
        self.source.setCurrentIndex(list(self.builtins).index(name))
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
        self.builtin, self.base = None, Path(path).resolve().parent
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
            self.load_builtin(list(self.builtins)[index])

    def _on_edited(self) -> None:
        if self.builtin is not None and self.text() != self.builtins.get(self.builtin):
            self.builtin = None  # edited: it runs as the text it now is
        self._timer.start()

    # ---------------------------------------------------------------- checking
    def validate(self) -> Any:
        """Check the spec through the app layer; the line under the editor says what is
        wrong (one line) or what the study holds. Returns the spec or None."""
        from cryptodesk.app.study.opening import open_spec

        self._timer.stop()
        text = self.text()
        try:
            if self.builtin is not None:
                from cryptodesk.app.study.spec import StudySpec

                spec = StudySpec.from_toml(text, where=f"built-in study {self.builtin}")
            else:
                spec = open_spec(text=text, base=self.base)[0]
        except CryptoDeskError as exc:
            self.say(str(exc).splitlines()[0] if str(exc) else "invalid spec", False)
            return None
        self.say(f"{spec.name}: {len(spec.series)} series × {len(spec.models)} model(s) × "
                 f"{len(spec.seeds)} seed(s) × {len(spec.targets)} target(s), "
                 f"{len(spec.comparisons)} comparison(s)", True)
        return spec

    def say(self, text: str, ok: bool) -> None:
        """The check line: ✓ and what the study holds, or ✗ and the problem in red."""
        self.check.setText(("✓ " if ok else "✗ ") + text)
        self.check.setStyleSheet("" if ok else "color: #dc2626;")
        self.check.setProperty("ok", ok)

    # ---------------------------------------------------------------- saving
    def choose_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the study", str(Path.home() /
                                              "study.toml"), "Study specs (*.toml)")
        if path:
            self.save_spec(Path(path))

    def save_spec(self, path: Path) -> bool:
        """Write the editor's text to ``path`` atomically (CSV paths then resolve from there)."""
        from cryptodesk.atomic import write_text_atomic

        try:
            write_text_atomic(Path(path), self.text())
        except OSError as exc:
            self.error.emit("Cannot save the study", f"{path}: {exc}", "")
            return False
        self.base = Path(path).resolve().parent
        self.status.emit(f"Study spec saved as {path}")
        return True
