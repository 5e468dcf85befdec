"""Re-running without redoing: models of the last run whose work would be the same are carried
over instead of walked forward again.

A model's walk-forward depends on its full config (seed included), the bars (the data
fingerprint and range), the protocol, the target and the run's inputs (sentiment, other
assets). The trading strategy, monitoring and regimes only read the forecasts, so a run that
changes them, or adds a model, re-uses every finished model whose work is unchanged. The
carried-over forecasts travel to the worker in the job's payload (frames, no pickle) and come
back as :class:`~cryptodesk.evaluation.walkforward.WalkForwardResult` objects; the run then
scores, ranks and trades them with the new models as if they had been run again. The spec
still names every model, so ``cryptodesk run <spec>`` replays the whole run from scratch with
the same forecasts.
"""

from __future__ import annotations

from typing import Any

# RunSpec fields a model's forecasts depend on (besides its own entry)
WORK_FIELDS = ("protocol", "target", "rv_method", "sentiment", "cross")


def _work(spec: Any) -> dict[str, Any]:
    d = spec.to_dict()
    data = dict(d["data"])
    data.pop("csv", None)  # the same bars from another file are the same work
    return {"data": data, **{k: d.get(k) for k in WORK_FIELDS}}


def reusable(old_spec: Any, old_result: Any, finished: set[str], spec: Any) -> dict[str, Any]:
    """The models of ``spec`` that ``old_result`` (the last run, spec ``old_spec``) already
    walked forward identically, as the payload the ``run`` job takes: model key -> its
    forecasts frame and report entry. ``finished``: keys of the models that completed."""
    if old_spec is None or old_result is None or spec.data.sha256 is None:
        return {}
    if _work(old_spec) != _work(spec):
        return {}
    old_models = {m.key: m.to_dict() for m in old_spec.models}
    entries = {m["model"]: m for m in old_result.report.get("models", [])}
    run = old_result.report.get("run", {})
    out: dict[str, Any] = {}
    for model in spec.models:
        key = model.key
        if (key in finished and old_models.get(key) == model.to_dict() and key in entries
                and key in old_result.forecasts):
            out[key] = {"forecasts": old_result.forecasts[key], "entry": entries[key],
                        "test_start": run.get("test_start"),
                        "train_rows_first": run.get("train_rows_first_fit", 0)}
    return out


def reusable_scored(old_spec: Any, scored: dict[str, Any], spec: Any) -> dict[str, Any]:
    """Like :func:`reusable`, for a run that ended before its report (cancelled, failed): the
    models it finished, from their ``ModelScored`` events (``scored``: model key -> event)."""
    if old_spec is None or spec.data.sha256 is None or _work(old_spec) != _work(spec):
        return {}
    old_models = {m.key: m.to_dict() for m in old_spec.models}
    out: dict[str, Any] = {}
    for model in spec.models:
        event = scored.get(model.key)
        timings = getattr(event, "timings", None) or {}
        if (event is None or "test_start" not in timings
                or old_models.get(model.key) != model.to_dict()):
            continue
        entry = {"config": dict(model.config), "fits": list(event.fits),
                 "timings": {k: v for k, v in timings.items()
                             if k not in ("test_start", "train_rows_first")}}
        out[model.key] = {"forecasts": event.forecasts, "entry": entry,
                          "test_start": timings["test_start"],
                          "train_rows_first": timings.get("train_rows_first", 0)}
    return out


def restore(reuse: dict[str, Any], spec: Any) -> dict[str, Any]:
    """The carried-over models as walk-forward results (in the worker)."""
    import pandas as pd

    from cryptodesk.evaluation.walkforward import WalkForwardResult

    by_key = {m.key: m for m in spec.models}
    out = {}
    for key, item in (reuse or {}).items():
        model = by_key.get(key)
        if model is None:
            continue
        entry = item["entry"]
        timings = entry.get("timings", {})
        out[key] = WalkForwardResult(
            model=model.name, config=dict(entry.get("config") or model.config),
            spec=spec.protocol, forecasts=item["forecasts"],
            n_fits=int(timings.get("n_fits", 0)),
            fit_seconds=float(timings.get("fit_seconds", 0.0)),
            predict_seconds=float(timings.get("predict_seconds", 0.0)),
            total_seconds=float(timings.get("total_seconds", 0.0)),
            test_start=pd.Timestamp(item["test_start"]),
            train_rows_first=int(item.get("train_rows_first") or 0),
            cpu_seconds=float(timings.get("cpu_seconds", 0.0)),
            fits=list(entry.get("fits") or []), target=spec.target)
    return out
