"""The output folder of a study: what it holds and how it is written.

::

    study.toml           the spec as the user wrote it (when it came from a file or text)
    study.json           the validated spec (every default filled in)
    environment.json     app, Python and library versions, the machine, the runner
    cells/<id>/forecasts.parquet   every forecast of naive and the cell's model
    cells/<id>/report.json         the cell's JSON report (metrics, timings, fits, run spec)
    cells/<id>/cell.json           what the cell is, its key, where and how long it ran
    cells/<id>/failed.json         instead, when the cell failed (the one-line reason)
    summary.csv          mean ± std over seeds per series, target and model
    verdicts.json        every comparison's numbers and verdict
    forecasts.parquet    all cells' forecasts in one table (series, model, target, seed columns)
    report.html          the self-contained report: tables and charts
    status.json          cells in all, done, and the failed ones with their reasons

Every file is written atomically, and ``cell.json`` last: a cell counts as done only when its
record is there with the cell's key, so a study stopped at any point (Ctrl+C, Cancel, a power
cut) resumes by running exactly the cells that are missing or whose spec changed.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from cryptodesk.app.study.cells import Cell
from cryptodesk.atomic import write_bytes_atomic, write_text_atomic
from cryptodesk.errors import DataError
from cryptodesk.safejson import dumps

CELLS = "cells"
RECORD, REPORT, FORECASTS, FAILED = "cell.json", "report.json", "forecasts.parquet", "failed.json"


class StudyFolder:
    """Read and write one study's output folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def cell_dir(self, cell_id: str) -> Path:
        return self.root / CELLS / cell_id

    # ---------------------------------------------------------------- the study
    def write_spec(self, spec_dict: dict[str, Any], text: str | None) -> None:
        """Write the validated spec (and the original text when there is one)."""
        self.root.mkdir(parents=True, exist_ok=True)
        if text is not None:
            write_text_atomic(self.root / "study.toml", text)
        write_text_atomic(self.root / "study.json", dumps(spec_dict) + "\n")

    def write_json(self, name: str, data: Any) -> Path:
        path = self.root / name
        write_text_atomic(path, dumps(data) + "\n")
        return path

    def read_json(self, name: str) -> Any:
        path = self.root / name
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{self.root} is not a study folder (no {name})") from None
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read {path}: {exc}") from None

    # ---------------------------------------------------------------- cells
    def is_done(self, cell: Cell) -> bool:
        """True when the cell's record holds the cell's key and its files are there."""
        record = self.record(cell.id)
        folder = self.cell_dir(cell.id)
        return (record is not None and record.get("key") == cell.key
                and (folder / FORECASTS).is_file() and (folder / REPORT).is_file())

    def record(self, cell_id: str) -> dict[str, Any] | None:
        try:
            data = json.loads((self.cell_dir(cell_id) / RECORD).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def save_cell(self, cell: Cell, result: Any) -> None:
        """Write a finished cell: forecasts, report, then its record (the commit)."""
        folder = self.cell_dir(cell.id)
        folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            (folder / RECORD).unlink()  # a stale record must not vouch for new files
        write_bytes_atomic(folder / FORECASTS, parquet_bytes(result.forecasts))
        write_text_atomic(folder / REPORT, dumps(result.report) + "\n")
        with contextlib.suppress(FileNotFoundError):
            (folder / FAILED).unlink()
        write_text_atomic(folder / RECORD, dumps({**cell.describe(), "ran": result.info}) + "\n")

    def save_failure(self, cell: Cell, message: str, kind: str) -> None:
        folder = self.cell_dir(cell.id)
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(folder / FAILED, dumps({**cell.describe(), "error": message,
                                                  "kind": kind}) + "\n")

    def metrics(self, cell_id: str) -> dict[str, dict[str, Any]]:
        """Each model's metrics from a finished cell's report."""
        report = json.loads((self.cell_dir(cell_id) / REPORT).read_text(encoding="utf-8"))
        return {m["model"]: m["metrics"] for m in report["models"]}

    def forecasts(self, cell_id: str) -> pd.DataFrame:
        return pd.read_parquet(self.cell_dir(cell_id) / FORECASTS)

    def remove_cell(self, cell_id: str) -> None:
        shutil.rmtree(self.cell_dir(cell_id), ignore_errors=True)


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """A frame as Parquet bytes (zstd), index dropped."""
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False, compression="zstd")
    return buf.getvalue()
