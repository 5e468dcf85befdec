"""The study report as one self-contained HTML page: tables and inline SVG charts, no script,
no external file, so it opens offline in any browser (and in the app) years later.

Sections: the verdicts with the numbers that decide them; every test (% change with its
bootstrap CI, mean ± std over seeds, DM and Holm p-values); the leaderboard; and three charts:
forecast error by model (RMSE relative to naive, mean ± std over seeds), % change with
confidence intervals, and the seed spread (one dot per seed).
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from cryptodesk import __version__
from cryptodesk.app.study.spec import StudySpec

COLORS = {"supported": "#1a7f37", "not supported": "#8c8c8c", "contradicted": "#c62828"}
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .55em;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}
.v{font-weight:600;color:#fff;padding:.1em .5em;border-radius:.3em;white-space:nowrap}
.note{color:#666;font-size:.9em}svg{font-size:11px;font-family:inherit}
"""


def render_report(spec: StudySpec, leaderboard: list[dict[str, Any]], verdicts: dict[str, Any],
                  seeds: list[dict[str, Any]], status: dict[str, Any]) -> str:
    """The whole page (see module docstring)."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(spec.name)}"
             f"</title><style>{CSS}</style></head><body>",
             f"<h1>Study: {escape(spec.name)}</h1>",
             f"<p>{escape(spec.description)}</p>" if spec.description else "",
             _status(spec, status, verdicts),
             "<h2>Verdicts</h2>", _verdicts(verdicts),
             "<h2>Tests</h2>", _tests(verdicts),
             "<h2>% change with confidence intervals</h2>", _change_chart(verdicts),
             "<h2>Forecast error by model</h2>", _error_chart(leaderboard),
             "<h2>Seed spread</h2>", _seed_chart(seeds, leaderboard),
             "<h2>Leaderboard (mean ± std over seeds)</h2>", _leaderboard(leaderboard),
             f"<p class='note'>CryptoDesk {escape(__version__)}. Verdict rules: "
             "docs/studies.md.</p></body></html>"]
    return "\n".join(p for p in parts if p)


def _status(spec: StudySpec, status: dict[str, Any], verdicts: dict[str, Any]) -> str:
    failed = status["failed"]
    seeds = ", ".join(str(s) for s in spec.seeds)
    text = (f"<p>{status['done']} of {status['cells']} cells finished"
            f"{f', {len(failed)} failed' if failed else ''}. Seeds: {escape(seeds)}. "
            f"Protocol: {escape(_protocol(spec.protocol))}. Targets: "
            f"{escape(', '.join(spec.targets))}. Significance level "
            f"{verdicts.get('alpha', spec.statistics.alpha)}, {100 * spec.statistics.level:g} % "
            f"bootstrap intervals ({spec.statistics.bootstrap} replicates).</p>")
    if not verdicts.get("final"):
        text += "<p class='note'>Not every cell has finished: the verdicts are provisional.</p>"
    for note in status.get("notes", []):
        text += f"<p class='note'>Note: {escape(note)}</p>"
    for cell, message in list(failed.items())[:20]:
        text += f"<p class='note'>Failed: {escape(cell)}: {escape(message)}</p>"
    return text


def _protocol(protocol: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in protocol.items())


def _badge(verdict: str) -> str:
    return (f"<span class='v' style='background:{COLORS.get(verdict, '#555')}'>"
            f"{escape(verdict)}</span>")


def _table(head: list[str], rows: list[list[str]], left: int = 1) -> str:
    cells = "".join(f"<th class='l'>{h}</th>" if i < left else f"<th>{h}</th>"
                    for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f"<td class='l'>{v}</td>" if i < left else f"<td>{v}</td>"
                                    for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def _verdicts(v: dict[str, Any]) -> str:
    rows = []
    for c in v.get("comparisons", []):
        rows.append([f"<b>{escape(c['comparison'])}</b>", escape(c["model"]),
                     escape(", ".join(c["baselines"])), _badge(c["verdict"]),
                     escape(c["because"])])
        for p in (p for p in v.get("pairs", []) if p["comparison"] == c["comparison"]):
            rows.append(["", escape(p["model"]), escape(p["baseline"]), _badge(p["verdict"]),
                         escape(p["because"])])
    if not rows:
        return "<p>No comparisons in this study.</p>"
    return _table(["comparison", "model", "vs", "verdict", "because"], rows, left=5)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}g}" if isinstance(value, float) else escape(str(value))


def _tests(v: dict[str, Any]) -> str:
    rows = []
    for t in [*v.get("tests", []), *v.get("pooled", [])]:
        seed = ("–" if t.get("seed_mean") is None else f"{t['seed_mean']:+.2f}"
                + ("" if t.get("seed_std") is None else f" ± {t['seed_std']:.2f}"))
        rows.append([escape(t["comparison"]), escape(f"{t['model']} vs {t['baseline']}"),
                     escape(t["series"]), t["metric"].upper(),
                     f"{t['estimate']:+.2f} [{t['low']:+.2f}, {t['high']:+.2f}]", seed,
                     _fmt(t.get("dm_p")), _fmt(t.get("dm_p_holm")), escape(t["decision"])])
    if not rows:
        return "<p>No test has settled yet.</p>"
    return _table(["comparison", "pair", "series", "metric", "% change [CI]",
                   "per seed mean ± std", "DM p", "Holm p", "decision"], rows, left=4)


def _leaderboard(rows: list[dict[str, Any]]) -> str:
    metrics = ("mae", "rmse", "theils_u", "qlike", "mz_r2")
    used = [m for m in metrics if any(r.get(f"{m}_mean") is not None for r in rows)]
    names = {"mae": "MAE", "rmse": "RMSE", "theils_u": "Theil's U", "qlike": "QLIKE",
             "mz_r2": "MZ R²"}
    out = [[escape(r["series"]), escape(r["target"]), escape(r["model"]), str(r["seeds"]),
            *[_pm(r, m) for m in used]] for r in rows]
    return _table(["series", "target", "model", "seeds", *[names[m] for m in used]], out,
                  left=3)


def _pm(row: dict[str, Any], metric: str) -> str:
    mean, std = row.get(f"{metric}_mean"), row.get(f"{metric}_std")
    if mean is None:
        return "–"
    return f"{mean:.5g}" + ("" if std is None else f" ± {std:.2g}")


# ---------------------------------------------------------------------- charts
def _chart(rows: list[tuple[str, list[tuple[float, str]], tuple[float, float] | None]],
           x_label: str, refs: list[float]) -> str:
    """Horizontal rows: a label, dots (value, colour) and an optional interval."""
    values = [x for _, dots, iv in rows for x in [*(d[0] for d in dots), *(iv or ())]
              if math.isfinite(x)] + refs
    if not values:
        return "<p>Nothing to draw yet.</p>"
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.05 or 1.0
    lo, hi = lo - pad, hi + pad
    left, width, row_h = 260, 560, 18
    height = row_h * len(rows) + 40

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * width

    svg = [f"<svg width='{left + width + 20}' height='{height}' role='img'>"]
    for ref in refs:
        svg.append(f"<line x1='{x(ref):.1f}' x2='{x(ref):.1f}' y1='5' y2='{height - 30}' "
                   "stroke='#999' stroke-dasharray='4 3'/>")
    for i, (label, dots, interval) in enumerate(rows):
        y = 14 + i * row_h
        svg.append(f"<text x='{left - 6}' y='{y + 4}' text-anchor='end'>{escape(label)}</text>")
        if interval is not None:
            svg.append(f"<line x1='{x(interval[0]):.1f}' x2='{x(interval[1]):.1f}' y1='{y}' "
                       f"y2='{y}' stroke='#444' stroke-width='2'/>")
        for value, colour in dots:
            if math.isfinite(value):
                svg.append(f"<circle cx='{x(value):.1f}' cy='{y}' r='4' fill='{colour}' "
                           "fill-opacity='0.8'/>")
    axis_y = height - 24
    svg.append(f"<line x1='{left}' x2='{left + width}' y1='{axis_y}' y2='{axis_y}' "
               "stroke='#444'/>")
    for v in nice_ticks(lo, hi):
        svg.append(f"<line x1='{x(v):.1f}' x2='{x(v):.1f}' y1='{axis_y}' y2='{axis_y + 4}' "
                   "stroke='#444'/>")
        svg.append(f"<text x='{x(v):.1f}' y='{axis_y + 14}' text-anchor='middle'>{v:g}</text>")
    svg.append(f"<text x='{left + width / 2}' y='{height - 1}' text-anchor='middle'>"
               f"{escape(x_label)}</text></svg>")
    return "".join(svg)


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) inside [lo, hi]."""
    raw = (hi - lo) / max(1, target)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if (hi - lo) / (m * power) <= target + 1)
    first = math.ceil(lo / step)
    return [round(k * step, 12) for k in range(first, math.floor(hi / step) + 1)]


def _error_metric(target: str) -> str:
    """The error charts' metric: RMSE for prices, QLIKE for volatility."""
    return "qlike" if target == "volatility" else "rmse"


def _naive_error(leaderboard: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    return {(r["series"], r["target"]): r[f"{_error_metric(r['target'])}_mean"]
            for r in leaderboard
            if r["model"] == "naive" and r.get(f"{_error_metric(r['target'])}_mean")}


def _label(row: dict[str, Any]) -> str:
    target = "" if row["target"] == "price" else f" ({row['target']})"
    return f"{row['series']} {row['model']}{target}"


def _error_chart(leaderboard: list[dict[str, Any]]) -> str:
    naive = _naive_error(leaderboard)
    rows = []
    for r in leaderboard:
        metric = _error_metric(r["target"])
        base = naive.get((r["series"], r["target"]))
        if not base or r.get(f"{metric}_mean") is None:
            continue
        mean, std = r[f"{metric}_mean"] / base, (r.get(f"{metric}_std") or 0.0) / base
        rows.append((_label(r), [(mean, PALETTE[0])], (mean - std, mean + std)))
    return _chart(rows, "error / naive's error: RMSE for prices, QLIKE for volatility (mean ± "
                        "std over seeds; < 1 beats naive)", [1.0])


def _change_chart(v: dict[str, Any]) -> str:
    rows = []
    for t in [*v.get("tests", []), *v.get("pooled", [])]:
        colour = {"supports": COLORS["supported"], "contradicts": COLORS["contradicted"]}.get(
            t["decision"], COLORS["not supported"])
        rows.append((f"{t['model']} vs {t['baseline']} {t['series']} {t['metric'].upper()}",
                     [(t["estimate"], colour)], (t["low"], t["high"])))
    return _chart(rows, "% change in error (negative: the model is better)", [0.0])


def _seed_chart(seeds: list[dict[str, Any]], leaderboard: list[dict[str, Any]]) -> str:
    naive = _naive_error(leaderboard)
    groups: dict[str, list[tuple[float, str]]] = {}
    for row in seeds:
        base = naive.get((row["series"], row["target"]))
        value = row.get(_error_metric(row["target"]))
        if not base or value is None:
            continue
        colour = PALETTE[(row["seed"] or 0) % len(PALETTE)]
        groups.setdefault(_label(row), []).append((value / base, colour))
    rows = [(label, dots, None) for label, dots in groups.items()]
    seeds_seen = sorted({row["seed"] or 0 for row in seeds})
    legend = " ".join(f"<span style='color:{PALETTE[s % len(PALETTE)]}'>&#9679; seed {s}</span>"
                      for s in seeds_seen)
    return (_chart(rows, "error / naive's error, one dot per seed", [1.0])
            + f"<p class='note'>{legend} (a deterministic model: one dot for every seed)</p>")
