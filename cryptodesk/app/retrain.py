"""Keeping saved models current: retrain a bundle on the newest stored candles, as a challenger.

Why a challenger and not a plain refit: a refit on more data is usually better, but not always
(a regime change can make the older fit the better one for a while), and a user acting on a
saved model deserves to know. :func:`retrain_bundle`:

1. loads the bundle and the newest stored candles of its series; the bars after its training
   window are the *new* bars (none: nothing to do, say so);
2. scores, on those new bars only and out of sample, the **current** model (as saved, never
   refitted) and the **challenger** procedure (the same kind and settings walked forward over
   the new bars, refitted every ``refit_every`` bars on everything up to each origin), beside
   naive;
3. keeps the challenger unless a Diebold–Mariano test on squared errors says it is
   significantly worse (p < 0.05 with a higher loss). Kept: it is fitted on every bar and saved
   as a new bundle under the current label, the current bundle is relabelled ``"<label> (vN)"``
   and stays loadable. Rejected: the current bundle stays, with the attempt recorded;
4. records the lineage in the manifest (``lineage``: the previous versions with their data
   ranges and scores, and every retrain decision with its scores).

:func:`retrain_suggestions` lists the bundles worth retraining (monitoring said "degraded", or
newer bars are stored) for the library's badge and the start-up offer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.app.jobs import wire
from cryptodesk.errors import DataError
from cryptodesk.io.bundles import BundleInfo, ModelLibrary
from cryptodesk.jobs import TaskContext, null_context
from cryptodesk.safejson import to_jsonable

SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class RetrainResult:
    """What a retrain decided. ``decision``: ``"challenger"`` (saved as ``kept``) or
    ``"current"`` (``kept`` is the old id); ``scores``: per contender (``current``,
    ``challenger``, ``naive``) n, mae, rmse, theils_u, plus ``dm_statistic``/``dm_p_value`` of
    challenger vs current; ``lineage``: the manifest section written."""

    previous: str
    kept: str
    label: str
    decision: str
    reason: str
    new_bars: int
    new_range: tuple[str, str]
    scores: dict[str, Any]
    lineage: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RetrainSuggestion:
    """A bundle worth retraining and why (``degraded``, ``new_bars``)."""

    id: str
    label: str
    reasons: tuple[str, ...]
    new_bars: int


def frozen_forecasts(model: Any, candles: pd.DataFrame, first_origin: int,
                     horizon: int) -> pd.DataFrame:
    """Forecasts of a fitted model, never refitted, from every origin ``first_origin ..
    n-2`` (steps past the end of the data left out); the walk-forward's columns."""
    close = candles["close"].to_numpy(np.float64)
    n = len(candles)
    rows = []
    for o in range(first_origin, n - 1):
        fc = model.predict(candles.iloc[: o + 1], horizon)
        for k in range(min(horizon, n - 1 - o)):
            rows.append((candles.index[o], candles.index[o + k + 1], k + 1, fc.point[k],
                         close[o + k + 1], close[o]))
    return pd.DataFrame(rows, columns=["origin", "target_time", "horizon", "forecast",
                                       "actual", "last_close"])


def compare(current: pd.DataFrame, challenger: pd.DataFrame, naive: pd.DataFrame,
            horizon: int) -> dict[str, Any]:
    """Scores of the three on the (origin, step) points they share, and the DM test of the
    challenger against the current model (squared error, per-origin mean for H > 1)."""
    from cryptodesk.evaluation import metrics as m
    from cryptodesk.evaluation.significance import dm_test_differential

    keys = ["origin", "horizon"]
    j = current[[*keys, "forecast", "actual"]].rename(columns={"forecast": "current"})
    j = j.merge(challenger[[*keys, "forecast"]].rename(columns={"forecast": "challenger"}), on=keys)
    j = j.merge(naive[[*keys, "forecast"]].rename(columns={"forecast": "naive"}), on=keys)
    a = j["actual"].to_numpy(np.float64)
    out: dict[str, Any] = {}
    for who in ("current", "challenger", "naive"):
        f = j[who].to_numpy(np.float64)
        out[who] = {"n": int(np.isfinite(a - f).sum()), "mae": m.mae(a, f), "rmse": m.rmse(a, f),
                    "theils_u": m.theils_u(a, f, j["naive"].to_numpy(np.float64))}
    d = (a - j["challenger"].to_numpy()) ** 2 - (a - j["current"].to_numpy()) ** 2
    per_origin = pd.Series(d).groupby(j["origin"].to_numpy(), sort=True).mean().to_numpy()
    dm = dm_test_differential(per_origin, horizon)
    out["dm_statistic"], out["dm_p_value"] = dm.statistic, dm.p_value
    out["mean_loss_difference"] = float(np.mean(d)) if d.size else None
    return out


def decide(scores: dict[str, Any]) -> tuple[str, str]:
    """``("challenger" | "current", reason)``: the challenger unless significantly worse."""
    p, diff = scores.get("dm_p_value"), scores.get("mean_loss_difference")
    if p is not None and np.isfinite(p) and p < SIGNIFICANCE and diff is not None and diff > 0:
        return "current", (f"the challenger is significantly worse on the new bars "
                           f"(DM p = {p:.3f}); keeping the current model")
    shown = "n/a (too few new bars)" if p is None or not np.isfinite(p) else f"{p:.3f}"
    return "challenger", f"the challenger is not significantly worse (DM p = {shown}); keeping it"


def retrain_bundle(
    ref: str,
    ctx: TaskContext | None = None,
    *,
    library: ModelLibrary | None = None,
    store: Any = None,
    candles: pd.DataFrame | None = None,
    refit_every: int | None = None,
) -> RetrainResult:
    """Retrain bundle ``ref`` on the newest stored candles of its series (see the module
    docstring). ``candles``: the series when the caller has it (default: from the store);
    ``refit_every``: the challenger's refit cadence over the new bars (default: WF1's for
    the timeframe)."""
    from cryptodesk.app.forecast import inputs_for
    from cryptodesk.evaluation.presets import preset_spec
    from cryptodesk.evaluation.walkforward import walk_forward
    from cryptodesk.models.registry import create

    ctx = ctx or null_context()
    library = library or ModelLibrary()
    info = library.resolve(ref)
    manifest = info.manifest
    if candles is None:
        candles = _stored(info, store)
    candles, _notes = inputs_for(manifest, candles)
    end = pd.Timestamp(manifest["training_window"]["end"])
    first_new = int(candles.index.searchsorted(end, side="right"))
    new_bars = len(candles) - first_new
    if first_new == 0 or candles.index[first_new - 1] != end:
        raise DataError(f"the stored {info.symbol} {info.timeframe} bars do not contain the end "
                        f"of model {info.label!r}'s training window ({end:%Y-%m-%d %H:%M})")
    if new_bars < 1:
        raise DataError(f"model {info.label!r} is up to date: no {info.symbol} {info.timeframe} "
                        f"bars after {end:%Y-%m-%d %H:%M}; update the data first "
                        "(cryptodesk data fetch / data import)")
    kind, config = manifest["model"]["kind"], dict(manifest["model"]["config"])
    horizon = int((manifest.get("target") or {}).get("horizon") or 1)
    spec = preset_spec("wf1", info.timeframe).replace(
        horizon=horizon, test_size=new_bars, test_start=None,
        refit_every=refit_every if refit_every is not None else preset_spec(
            "wf1", info.timeframe).refit_every)
    ctx.progress(0.0, f"scoring the current model on {new_bars:,} new bars")
    current_model, _manifest = library.load(info.id)
    current = frozen_forecasts(current_model, candles, first_new - 1, horizon)
    ctx.check_cancelled()
    challenger = walk_forward(create(kind, config), candles, spec,
                              ctx.child(0.05, 0.6, "challenger: ")).forecasts
    naive = walk_forward(create("naive", {"interval": "model"}), candles, spec).forecasts
    scores = to_jsonable(compare(current, challenger, naive, horizon))  # NaN -> None
    decision, reason = decide(scores)
    record = {
        "at": pd.Timestamp.now(tz="UTC").isoformat(), "from": info.id,
        "new_bars": new_bars,
        "new_range": [candles.index[first_new].isoformat(), candles.index[-1].isoformat()],
        "refit_every": spec.refit_every, "scores": scores, "decision": decision,
        "reason": reason,
    }
    old = dict(manifest.get("lineage") or {})
    history = [*old.get("retrains", []), record]
    if decision == "current":
        lineage = {**old, "retrains": history}
        library.set_lineage(info.id, lineage)
        return RetrainResult(info.id, info.id, info.label, decision, reason, new_bars,
                             tuple(record["new_range"]), scores, lineage)
    ctx.progress(0.6, f"fitting the challenger on all {len(candles):,} bars")
    model = create(kind, config)
    model.fit(candles, ctx.child(0.6, 0.95, "final fit: "), horizon)
    versions = [*old.get("versions", []), _version(info)]
    lineage = {"parent": info.id, "versions": versions, "retrains": history}
    label = info.label
    library.rename(info.id, f"{label} (v{len(versions)})")
    try:
        # the previous version's monitoring verdict ("degraded") is not the challenger's
        metrics = {**{k: v for k, v in manifest.get("metrics", {}).items() if k != "monitoring"},
                   "retrain": scores["challenger"]}
        saved = library.save(model, candles, label=label, metrics=metrics,
                             evaluation=manifest.get("evaluation") or {},
                             seed=manifest.get("seed"), lineage=lineage)
    except BaseException:
        library.rename(info.id, label)  # put the label back: the current model stays current
        raise
    ctx.progress(1.0, f"saved {saved.id}")
    return RetrainResult(info.id, saved.id, label, decision, reason, new_bars,
                         tuple(record["new_range"]), scores, lineage)


def _version(info: BundleInfo) -> dict[str, Any]:
    """What the lineage keeps of a superseded version: id, when, its data range, its scores."""
    m = info.manifest
    return {"id": info.id, "created": m.get("created"), "training_window": m.get("training_window"),
            "data_sha256": (m.get("data") or {}).get("sha256"),
            "metrics": {k: v for k, v in (m.get("metrics") or {}).items() if k != "monitoring"}}


def _stored(info: BundleInfo, store: Any) -> pd.DataFrame:
    from cryptodesk.data.schema import SeriesKey
    from cryptodesk.data.store import CandleStore

    store = store if store is not None else CandleStore()
    return store.load(SeriesKey(info.source, info.symbol, info.timeframe))


def retrain_suggestions(library: ModelLibrary | None = None, store: Any = None) -> list[RetrainSuggestion]:
    """Bundles worth retraining: their evaluation ended "degraded", and/or the store holds
    bars after their training window. Bundles whose series is not stored are skipped."""
    from cryptodesk.errors import CryptoDeskError

    library = library or ModelLibrary()
    out = []
    for info in library.list():
        if not info.ok:
            continue
        reasons = []
        if (info.metrics.get("monitoring") or {}).get("degraded"):
            reasons.append("degraded")
        try:
            candles = _stored(info, store)
        except CryptoDeskError:
            candles = None
        end = (info.manifest.get("training_window") or {}).get("end")
        new = 0
        if candles is not None and end:
            new = len(candles) - int(candles.index.searchsorted(pd.Timestamp(end), side="right"))
            if new > 0:
                reasons.append("new_bars")
        if reasons:
            out.append(RetrainSuggestion(info.id, info.label, tuple(reasons), new))
    return out


def retrain_job(payload: dict[str, Any], ctx: TaskContext) -> RetrainResult:
    """Job ``retrain``: ``{"ref": bundle id or label, "refit_every": n or null}``."""
    refit = payload.get("refit_every")
    return retrain_bundle(str(payload.get("ref")), ctx,
                          refit_every=refit if isinstance(refit, int) else None)


def retrain_suggestions_job(payload: dict[str, Any], ctx: TaskContext) -> list[dict[str, Any]]:
    """Job ``retrain_suggestions``: the bundles worth retraining, as plain dicts."""
    del payload
    ctx.progress(None, "checking saved models against the store")
    return [{"id": s.id, "label": s.label, "reasons": list(s.reasons), "new_bars": s.new_bars}
            for s in retrain_suggestions()]


wire.register(RetrainResult)
