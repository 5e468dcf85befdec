"""What the model library shows of one saved bundle, without Qt: its score cells and its
details text (model, data, target, scores, libraries, config, lineage). The GUI's library panel
draws these; the texts are tested here, where no window is needed."""

from __future__ import annotations

import json
import math
from typing import Any

from cryptodesk.app.retrain_view import headline_scores, lineage_lines

DETAIL_METRICS = ("n", "mae", "rmse", "mape", "directional_accuracy", "theils_u", "dm_p_value")


def metric_text(metrics: dict[str, Any], key: str) -> str:
    """One score cell: Theil's U to 4 decimals, others to 4 significant digits, "—" if none."""
    value = metrics.get(key)
    if value is None:
        return "—"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(v):
        return "—"
    return f"{v:.4f}" if key == "theils_u" else f"{v:,.4g}"


def _scores_text(metrics: dict[str, Any]) -> str:
    shown = {k: v for k, v in metrics.items() if k in DETAIL_METRICS}
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, (int, float)) else f"{k} {v}"
                     for k, v in shown.items()) or "none recorded"


def manifest_summary(info: Any) -> str:
    """The details text of one bundle (a damaged one: its error)."""
    if info.error:
        return f"{info.id}\n\nDAMAGED: {info.error}\n\nFolder: {info.path}\nIt can only be deleted."
    m = info.manifest
    model = m.get("model", {})
    data = m.get("data", {})
    window = m.get("training_window", {})
    metrics = m.get("metrics") or {}
    rows = window.get("rows")
    span = f"{str(window.get('start', ''))[:10]} → {str(window.get('end', ''))[:10]}"
    target = m.get("target") or {}
    lines = [
        f"{info.label}  ({info.id})",
        f"Model: {model.get('kind')}    saved {info.created[:19].replace('T', ' ')} UTC",
        f"Data: {data.get('symbol')} {data.get('timeframe')} ({data.get('source')}"
        f"{', SYNTHETIC' if data.get('synthetic') else ''}), "
        f"{rows:,} bars {span}" if isinstance(rows, int) else f"Data: {data}",
        f"Target: {target.get('horizon', '?')}-bar-ahead {target.get('kind', '?')}",
        f"Seed: {m.get('seed')}    app {m.get('app_version')}",
    ]
    if m.get("external_columns"):
        lines.append("External columns: " + ", ".join(m["external_columns"]))
    newest, _scored_by = headline_scores(metrics)
    if newest is metrics:
        lines.append("Out-of-sample metrics: " + _scores_text(metrics))
    else:  # retrained: the scores the row shows first, then the first version's walk-forward
        lines.append("Out-of-sample metrics at its retrain (the challenger, on the new bars): "
                     + _scores_text(newest))
        lines.append("The first version's walk-forward: " + _scores_text(metrics))
    libs = m.get("libraries") or {}
    lines.append("Libraries: " + ", ".join(f"{k} {v}" for k, v in libs.items()))
    lines.append("")
    lines.append("Config: " + json.dumps(model.get("config"), default=str))
    lines.append(f"Folder: {info.path}")
    lineage = lineage_lines(m)
    return "\n".join(lines + (["", *lineage] if lineage else []))
