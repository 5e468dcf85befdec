"""The study's closing files: ``summary.csv``, ``verdicts.json``, ``forecasts.parquet`` (every
finished cell's forecasts in one table) and ``report.html``.

Written after every run of a study, finished or not, from what the output folder holds; each
file atomically, so a reader never sees half of one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from cryptodesk.app.study.folder import parquet_bytes
from cryptodesk.app.study.results import BASELINE, StudyResults, summary_frame
from cryptodesk.atomic import write_bytes_atomic, write_text_atomic

if TYPE_CHECKING:
    from cryptodesk.app.study.engine import Plan

SUMMARY, VERDICTS, FORECASTS, REPORT, STATUS = (
    "summary.csv", "verdicts.json", "forecasts.parquet", "report.html", "status.json")


def write_outputs(plan: Plan, leaderboard: list[dict[str, Any]],
                  verdicts: dict[str, Any]) -> list[str]:
    """Write the four files into the study folder; returns their names."""
    from cryptodesk.app.study.report_html import render_report
    from cryptodesk.io.csv_export import write_frame_csv

    root = plan.folder.root
    write_frame_csv(summary_frame(leaderboard), root / SUMMARY)
    plan.folder.write_json(VERDICTS, verdicts)
    frame = combined_forecasts(plan.results)
    write_bytes_atomic(root / FORECASTS, parquet_bytes(frame))
    status = {"cells": len(plan.cells), "done": len(plan.results.metrics),
              "failed": dict(plan.results.failed), "notes": list(plan.notes)}
    html = render_report(plan.spec, leaderboard, verdicts, seed_metrics(plan.results), status)
    write_text_atomic(root / REPORT, html)
    plan.folder.write_json(STATUS, status)
    return [SUMMARY, VERDICTS, FORECASTS, REPORT, STATUS]


def combined_forecasts(results: StudyResults) -> pd.DataFrame:
    """Every finished cell's forecasts, labelled with series, target, model and seed (naive's
    once per series and target)."""
    frames = []
    naive_done: set[tuple[str, str]] = set()
    for cell in results.cells:
        if cell.id not in results.metrics:
            continue
        frame = results.folder.forecasts(cell.id)
        own = frame[frame["model"] != BASELINE] if cell.model != BASELINE else frame
        parts = [own.assign(model=cell.model)] if len(own) else []
        if (cell.series_label, cell.target) not in naive_done:
            naive_done.add((cell.series_label, cell.target))
            if cell.model != BASELINE:
                parts.append(frame[frame["model"] == BASELINE])
        for part in parts:
            frames.append(part.assign(series=cell.series_label, target=cell.target,
                                      seed=-1 if cell.seed is None else cell.seed))
    if not frames:
        return pd.DataFrame(columns=["series", "target", "model", "seed"])
    out = pd.concat(frames, ignore_index=True)
    first = ["series", "target", "model", "seed"]
    return out[first + [c for c in out.columns if c not in first]]


def seed_metrics(results: StudyResults) -> list[dict[str, Any]]:
    """One row per finished cell: series, target, model, seed and its errors (the
    seed-spread chart)."""
    rows = []
    for cell in results.cells:
        if cell.id not in results.metrics:
            continue
        mine = results.model_metrics(cell, cell.model)
        rows.append({"series": cell.series_label, "target": cell.target, "model": cell.model,
                     "seed": cell.seed, "rmse": mine.get("rmse"), "mae": mine.get("mae"),
                     "qlike": mine.get("qlike")})
    return rows
