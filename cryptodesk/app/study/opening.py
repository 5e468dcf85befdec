"""Opening a study spec, and a study folder's results, without the runners: what the GUI
process may import.

:func:`open_spec`, :func:`default_out`, :func:`find_study` and :func:`load_study` are
re-exported by :mod:`cryptodesk.app.study.api`; they live here because ``api`` also picks the
runners (the local pool, Ray), whose modules import the cell job and with it the compute
libraries, and the GUI process validates specs and shows results without ever importing those
(an import-linter contract checks it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptodesk.app.study.spec import StudySpec, StudySpecError
from cryptodesk.errors import DataError

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


def find_study(where: str | Path) -> Path:
    """A study folder from a path or the name of a study under the default folder."""
    path = Path(where)
    if (path / "study.json").is_file():
        return path
    named = default_out(str(where))
    if (named / "study.json").is_file():
        return named
    raise DataError(f"no study at {where} (a study folder holds study.json)")


@dataclass(frozen=True)
class StudyView:
    """A study folder's results as data: summary rows, verdicts, counts and file paths."""

    name: str
    out: Path
    cells: int
    done: int
    failed: int
    leaderboard: list[dict[str, Any]]
    verdicts: dict[str, Any]
    notes: tuple[str, ...] = ()

    @property
    def report(self) -> Path:
        return self.out / "report.html"


def load_study(folder: Path) -> StudyView:
    """Read a study folder's summary and verdicts (as its last run wrote them)."""
    import math

    import pandas as pd

    from cryptodesk.app.study.folder import StudyFolder

    study = StudyFolder(folder)
    spec = study.read_json("study.json")
    verdicts = study.read_json("verdicts.json")
    try:
        frame = pd.read_csv(folder / "summary.csv")
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {folder / 'summary.csv'}: {exc}") from None
    rows = [{k: (None if isinstance(v, float) and math.isnan(v) else v)
             for k, v in row.items()} for row in frame.to_dict(orient="records")]
    status = study.read_json("status.json")
    return StudyView(str(spec.get("name", folder.name)), Path(folder), int(status["cells"]),
                     int(status["done"]), len(status.get("failed", {})), rows, verdicts,
                     tuple(status.get("notes", ())))
