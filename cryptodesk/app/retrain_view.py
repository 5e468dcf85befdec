"""What the model library shows of retraining, without Qt: a bundle's health badge, its lineage
(previous versions and retrain decisions, from the manifest's ``lineage`` section written by
:func:`~cryptodesk.app.retrain.retrain_bundle`), one line per retrain decision, and the start-up
offer's text from :func:`~cryptodesk.app.retrain.retrain_suggestions`' rows.
"""

from __future__ import annotations

from typing import Any

DEGRADED_BADGE = "degraded — retrain suggested"
# Series sources that are not an exchange: their newer bars come from an import, not a fetch.
LOCAL_SOURCES = frozenset({"demo", "csv", "test"})


def health_text(metrics: dict[str, Any] | None, new_bars: int = 0) -> str:
    """The library's Health cell: the degraded badge, newer bars stored, or ""."""
    parts = []
    if ((metrics or {}).get("monitoring") or {}).get("degraded"):
        parts.append(DEGRADED_BADGE)
    if new_bars > 0:
        parts.append(f"{new_bars:,} new bar{'s' if new_bars != 1 else ''}")
    return " · ".join(parts)


def headline_scores(metrics: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
    """The scores a library row shows (RMSE, Theil's U), and where they come from.

    A retrained bundle keeps the walk-forward scores of the version first saved, but its
    newest out-of-sample figures are the challenger's on the bars that came since (under
    ``retrain``): those describe the model the row loads, so the row shows them."""
    metrics = metrics or {}
    retrain = metrics.get("retrain")
    if isinstance(retrain, dict) and retrain.get("rmse") is not None:
        return retrain, (f"the challenger's score on the bars new at its retrain "
                         f"({retrain.get('n', '?')} forecasts)")
    return metrics, "the walk-forward before it was saved"


def _day(value: Any) -> str:
    return str(value or "?")[:10]


def _rmse(scores: dict[str, Any], who: str) -> str:
    value = (scores.get(who) or {}).get("rmse")
    return "n/a" if value is None else f"{float(value):,.4g}"


def lineage_lines(manifest: dict[str, Any]) -> list[str]:
    """The lineage of a bundle in lines for its details ([] when it was never retrained)."""
    lineage = manifest.get("lineage") or {}
    lines = []
    versions = lineage.get("versions") or []
    if versions:
        lines.append(f"Lineage: {len(versions)} previous version{'s' if len(versions) != 1 else ''}"
                     " (still loadable)")
        for i, v in enumerate(versions, start=1):
            window = v.get("training_window") or {}
            rmse = (v.get("metrics") or {}).get("rmse")
            score = "" if rmse is None else f", RMSE {float(rmse):,.4g}"
            lines.append(f"  v{i}: {v.get('id')} trained on {_day(window.get('start'))} → "
                         f"{_day(window.get('end'))}{score}")
    for r in lineage.get("retrains") or []:
        lines.append("Retrain " + _day(r.get("at")) + ": " + decision_line(
            r.get("decision"), r.get("reason"), r.get("new_bars"), r.get("new_range"),
            r.get("scores") or {}))
    return lines


def decision_line(decision: Any, reason: Any, new_bars: Any, new_range: Any,
                  scores: dict[str, Any]) -> str:
    """One retrain decision: who was kept, why, on which bars, with the RMSEs."""
    kept = "kept the challenger" if decision == "challenger" else "kept the current model"
    span = ""
    if new_range and len(new_range) == 2:
        span = f" ({_day(new_range[0])} → {_day(new_range[1])})"
    return (f"{kept}: {reason} · scored on {new_bars} new bars{span} · RMSE current "
            f"{_rmse(scores, 'current')}, challenger {_rmse(scores, 'challenger')}, naive "
            f"{_rmse(scores, 'naive')}")


def result_line(result: Any) -> str:
    """A :class:`~cryptodesk.app.retrain.RetrainResult` as the one line the user reads."""
    n = len((result.lineage or {}).get("versions") or [])
    where = (f"saved as {result.kept}; the previous version is kept as "
             f"'{result.label} (v{n})'" if result.decision == "challenger"
             else f"{result.kept} stays")
    return (f"{result.label}: " + decision_line(result.decision, result.reason, result.new_bars,
                                                list(result.new_range), result.scores)
            + f" · {where}")


def offer_text(suggestions: list[dict[str, Any]]) -> str:
    """The start-up offer: how many saved models are worth retraining, and why."""
    if not suggestions:
        return ""
    parts = []
    for s in suggestions[:4]:
        why = []
        if "degraded" in s.get("reasons", ()):
            why.append("degraded")
        if s.get("new_bars"):
            why.append(f"{s['new_bars']:,} new bars")
        parts.append(f"{s.get('label') or s.get('id')} ({', '.join(why)})")
    more = f" and {len(suggestions) - 4} more" if len(suggestions) > 4 else ""
    n = len(suggestions)
    return (f"{n} saved model{'s are' if n != 1 else ' is'} worth retraining: "
            + ", ".join(parts) + more + ".")
