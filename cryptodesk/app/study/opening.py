"""Opening a study spec without the runners: what the GUI process may import.

:func:`open_spec` and :func:`default_out` are re-exported by :mod:`cryptodesk.app.study.api`;
they live here because ``api`` also picks the runners (the local pool, Ray), whose modules
import the cell job and with it the compute libraries, and the GUI process validates specs
without ever importing those (an import-linter contract checks it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptodesk.app.study.spec import StudySpec, StudySpecError

STUDIES = "studies"


def open_spec(path: Path | None = None, builtin: str | None = None, text: str | None = None,
              base: Path | None = None, store: Any = None) -> tuple[StudySpec, str, list[str]]:
    """A validated spec from a file, a built-in name or TOML text (an editor's buffer;
    ``base``: the folder its CSV paths are relative to); returns (spec, its text, notes)."""
    if builtin is not None:
        from cryptodesk.app.study.builtin import builtin_spec

        return builtin_spec(builtin, store)
    if path is not None:
        spec = StudySpec.read(Path(path))
        return spec, Path(path).read_text(encoding="utf-8"), []
    if text is not None:
        return StudySpec.from_toml(text, base), text, []
    raise StudySpecError("no study spec given")


def default_out(name: str) -> Path:
    """Where a study writes unless told: ``<user data>/studies/<name>``."""
    from cryptodesk.paths import app_paths

    return app_paths().data / STUDIES / name
