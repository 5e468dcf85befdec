"""The leaderboard: one row per model (naive included), as a text table, in the report's order
(tiers by significance against naive, then RMSE; QLIKE for volatility runs).

Used by the CLI and ``bench/wf1.py``; the GUI draws its own table from the same
:class:`~cryptodesk.evaluation.backtest.BacktestReport` metrics.
"""

from __future__ import annotations

import math
from typing import Any

from cryptodesk.evaluation.backtest import BacktestReport

# (header, metric key, format) - percentages already in percent
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("MAE", "mae", "{:.4g}"),
    ("RMSE", "rmse", "{:.4g}"),
    ("MAPE%", "mape", "{:.3f}"),
    ("sMAPE%", "smape", "{:.3f}"),
    ("MASE", "mase", "{:.4f}"),
    ("DirAcc%", "directional_accuracy", "{:.1f}"),
    ("TheilU", "theils_u", "{:.4f}"),
    ("Cov80%", "coverage", "{:.1f}"),
    ("Pinball", "pinball", "{:.4g}"),
    ("DM p", "dm_p_value", "{:.3f}"),
)
VOL_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("QLIKE", "qlike", "{:.4f}"),
    ("MSE(var)", "mse_var", "{:.4g}"),
    ("MZ R2", "mz_r2", "{:.3f}"),
    ("DM p", "dm_p_value", "{:.3f}"),
)


def leaderboard_rows(report: BacktestReport) -> list[dict[str, Any]]:
    """Rows in rank order: rank, tier, model, metrics, seconds, fits."""
    rows = []
    for rank, name, tier in report.ranked():
        res = report.results[name]
        rows.append({"rank": rank, "tier": tier, "model": name, **report.metrics[name],
                     "seconds": res.total_seconds, "fits": res.n_fits})
    return rows


def format_leaderboard(report: BacktestReport,
                       columns: tuple[tuple[str, str, str], ...] | None = None) -> str:
    """Fixed-width text table; '-' marks a metric a model does not have (e.g. naive's DM).
    The last column names the model's tier against naive."""
    if columns is None:
        columns = VOL_COLUMNS if report.target == "volatility" else COLUMNS
    header = ["#", "model", *(c[0] for c in columns), "fits", "sec", "vs naive"]
    body = []
    for row in leaderboard_rows(report):
        cells = [str(row["rank"]), row["model"]]
        cells += [_fmt(row.get(key), fmt) for _, key, fmt in columns]
        cells += [str(row["fits"]), f"{row['seconds']:.2f}",
                  "baseline" if row["model"] == "naive" else row["tier"]]
        body.append(cells)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    last = len(header) - 1

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < 2 or i == last else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    lines = [line(header), "  ".join("-" * w for w in widths)]
    lines += [line(cells) for cells in body]
    return "\n".join(lines)


def describe_run(report: BacktestReport) -> str:
    """One line naming the data and the protocol above the table."""
    d, s = report.data, report.spec
    what = f"{d.get('symbol')} {d.get('timeframe')} ({d.get('source')})"
    if d.get("synthetic"):
        what += " SYNTHETIC"
    preset = f"preset {report.preset}; " if report.preset else ""
    test = report.results["naive"]
    return (
        f"{what}: {d.get('rows')} bars; {preset}test from {test.test_start:%Y-%m-%d %H:%M} "
        f"({test.forecasts['origin'].nunique()} origins), horizon {s.horizon}, stride {s.stride}, "
        f"refit every {s.refit_every or 'never'}, {s.window} window"
        + ("; target: realised variance" if report.target == "volatility" else "")
    )


def _fmt(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return fmt.format(value)
