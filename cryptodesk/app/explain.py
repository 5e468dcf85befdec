"""Explanations of saved models, for ``cryptodesk explain`` and the GUI's importance chart.

:func:`explain_bundle` loads a bundle, rebuilds its inputs like a forecast does, and returns an
:class:`Explanation`: the global importance of each input (LightGBM: mean |SHAP|; nets:
permutation importance on the validation tail of the training window; ensembles: member
weights) and, per forecast origin of the last ``bars`` bars, each input's contribution (what a
chart shows at the cursor). The ``explain`` job runs it in a worker; the result is plain arrays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.app.explanation import Explanation
from cryptodesk.errors import DataError
from cryptodesk.io.bundles import ModelLibrary
from cryptodesk.jobs import TaskContext


def explain_bundle(ref: str, candles: pd.DataFrame, ctx: TaskContext, bars: int = 365,
                   library: ModelLibrary | None = None, *, repeats: int = 5,
                   seed: int = 0) -> Explanation:
    """Explain saved model ``ref`` on ``candles`` (its own series, normally): the last
    ``bars`` forecast origins, and for the nets the validation tail of its training window."""
    from cryptodesk.app.forecast import bundle_inputs
    from cryptodesk.models.explain import explain

    library = library or ModelLibrary()
    ctx.progress(None, f"loading model {ref}")
    model, manifest = library.load(ref)
    candles, notes = bundle_inputs(candles, manifest)
    window = manifest.get("training_window") or {}
    train = candles
    if window.get("start") and window.get("end"):
        train = candles.loc[pd.Timestamp(window["start"]):pd.Timestamp(window["end"])]
        if len(train) < model.min_history():
            raise DataError(f"the data do not cover model {manifest['id']}'s training window "
                            f"({window['start'][:10]} .. {window['end'][:10]})")
    ctx.progress(None, f"explaining {manifest['model']['kind']}")
    ctx.check_cancelled()
    found = explain(model, candles, bars, train=train, repeats=repeats, seed=seed)
    order = np.argsort(-np.asarray(found.importance), kind="stable")
    times = found.times if found.times is not None else pd.DatetimeIndex([])
    return Explanation(
        ref=manifest["id"], label=manifest.get("label") or manifest["id"],
        kind=manifest["model"]["kind"], method=found.method, unit=found.unit,
        features=[found.features[i] for i in order],
        importance=np.asarray(found.importance, dtype=np.float64)[order],
        x=np.asarray(times.as_unit("ns").asi8 / 1e9),
        contributions=None if found.contributions is None else found.contributions[:, order],
        base=found.base, prediction=found.prediction, notes=notes,
    )


def explain_job(payload: dict[str, Any], ctx: TaskContext) -> Explanation:
    """Job ``explain``: ``{"ref": bundle id, "bars": n}`` plus optionally ``"data"`` (a data
    reference; default: the bundle's own series from the store)."""
    from cryptodesk.app.runspec import DataRef
    from cryptodesk.app.spec_candles import load_candles

    ref = str(payload.get("ref"))
    bars = payload.get("bars", 365)
    if not isinstance(bars, int) or isinstance(bars, bool) or bars < 1:
        raise DataError(f"bars must be a whole number >= 1, got {bars!r}")
    if payload.get("data") is not None:
        candles = load_candles(DataRef.from_dict(payload["data"]))
    else:
        candles = own_series((ModelLibrary()).resolve(ref).manifest)
    return explain_bundle(ref, candles, ctx, bars)


def own_series(manifest: dict[str, Any], store: Any = None) -> pd.DataFrame:
    """The stored series a bundle was trained on (newest bars included)."""
    from cryptodesk.data.store import CandleStore

    data = manifest.get("data") or {}
    store = store if store is not None else CandleStore()
    return store.load(store.find(str(data.get("symbol")), data.get("timeframe"),
                                 data.get("source")))


def write_explanation(expl: Explanation, importance_csv: Path,
                      contributions_csv: Path | None = None) -> list[Path]:
    """Write the importance table (and the per-forecast contributions) as CSV, atomically."""
    from cryptodesk.io.csv_export import write_frame_csv

    write_frame_csv(expl.importance_table(), Path(importance_csv))
    paths = [Path(importance_csv)]
    if contributions_csv is not None and expl.contributions is not None:
        write_frame_csv(expl.contributions_table(), Path(contributions_csv))
        paths.append(Path(contributions_csv))
    return paths
