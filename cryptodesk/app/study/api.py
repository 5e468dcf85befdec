"""The study workflows both front ends call: open a spec, pick a runner, find and load a
study's results. The GUI's Study panel uses these plus the ``study`` job
(:mod:`cryptodesk.app.study.job`); the CLI runs :func:`~cryptodesk.app.study.engine.run_study`
inline with the same runners.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptodesk.app.study.opening import STUDIES, default_out, open_spec
from cryptodesk.errors import DataError

__all__ = ["STUDIES", "StudyView", "default_out", "find_study", "load_study", "make_runner",
           "open_spec"]


def make_runner(workers: int | None = None, ray: str | None = None, threads: int = 1) -> Any:
    """The runner: a Ray cluster at ``ray``, else local worker processes (every core when
    ``workers`` is None)."""
    if ray:
        from cryptodesk.app.study.ray_runner import RayRunner

        return RayRunner(ray, threads)
    from cryptodesk.app.study.local import LocalRunner

    return LocalRunner(workers, threads)


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
