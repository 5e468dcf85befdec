"""Why a fitted model forecasts what it does: global importance and per-forecast contributions.

- **LightGBM**: exact SHAP values from LightGBM's own ``pred_contrib`` (TreeSHAP; no extra
  dependency) of the step-1 point model. For each bar t, the contributions of the features at t
  add up, with the base value, to the model's forecast log return from t to t+1. Global
  importance: the mean absolute contribution over the bars explained.
- **Nets**: permutation importance on the validation tail of the training window (the windows
  early stopping watched): how much the forecast's mean squared error grows when one input
  column is shuffled across windows (``repeats`` times, seeded). Per forecast: occlusion, the
  change of the forecast when that column is set to its training mean over the whole window
  (not additive, unlike SHAP).
- **Ensemble**: the members' step-1 weights; per forecast, each member's weighted forecast log
  return (these add up to the ensemble's forecast).

Every explanation reads only the frame it is given; explaining bar t uses rows up to t.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.errors import ModelError
from cryptodesk.models.base import Forecaster


@dataclass
class Importance:
    """A model's explanation. ``importance`` is per feature (order of ``features``);
    ``contributions`` ``(n, f)`` per forecast made at ``times`` (the origins), with ``base``
    and ``prediction`` ``(n,)`` where the method has them. ``unit`` says what the numbers are."""

    method: str
    unit: str
    features: list[str]
    importance: np.ndarray
    times: pd.DatetimeIndex | None = None
    contributions: np.ndarray | None = None
    base: np.ndarray | None = None
    prediction: np.ndarray | None = None


def explain(model: Forecaster, frame: pd.DataFrame, bars: int = 365, *,
            train: pd.DataFrame | None = None, repeats: int = 5, seed: int = 0) -> Importance:
    """Explain ``model``'s forecasts from the last ``bars`` rows of ``frame``. ``train`` is its
    training window (the nets' permutation importance uses its validation tail; default
    ``frame``)."""
    if not model.is_fitted:
        raise ModelError(f"{model.name}: explain() before fit()")
    if bars < 1:
        raise ModelError("explain at least one bar")
    if model.name == "lightgbm":
        return _lightgbm(model, frame, bars)
    if model.name == "ensemble":
        return _ensemble(model, frame, bars)
    if hasattr(model, "net"):
        return _net(model, frame, bars, train if train is not None else frame, repeats, seed)
    raise ModelError(f"{model.name} has no explanation (LightGBM, the nets and ensembles do)")


def _lightgbm(model: Any, frame: pd.DataFrame, bars: int) -> Importance:
    from cryptodesk.features.builders import feature_matrix

    cfg = model.config
    tf = model.timeframe or "1d"
    first = cfg.features.warmup() - 1
    if len(frame) <= first:
        raise ModelError(f"lightgbm: explaining needs more than {first} bars")
    start = max(first, len(frame) - bars)
    x = feature_matrix(frame.iloc[start - first:], cfg.features, tf)[first:]
    contrib = model.boosters["point_h1"].predict(x, pred_contrib=True, num_threads=1)
    f = x.shape[1]
    return Importance(
        method="shap", unit="log return (SHAP, step-1 point model)",
        features=cfg.features.columns(tf), importance=np.mean(np.abs(contrib[:, :f]), axis=0),
        times=frame.index[start:], contributions=contrib[:, :f], base=contrib[:, f],
        prediction=contrib.sum(axis=1),
    )


def _net(model: Any, frame: pd.DataFrame, bars: int, train: pd.DataFrame, repeats: int,
         seed: int) -> Importance:
    import torch

    from cryptodesk.features.targets import future_log_returns
    from cryptodesk.features.windows import SequenceDataset, sliding_windows
    from cryptodesk.models.torch_models import input_names

    cfg = model.config
    lookback = cfg.lookback

    def forecast(windows: np.ndarray) -> np.ndarray:
        with torch.no_grad(), model._threads():
            out = model.net(torch.from_numpy(windows.astype(np.float32))).numpy()
        return model.y_scaler.inverse(out[:, :, out.shape[-1] // 2])[:, 0]

    # permutation importance on the validation tail of the training window
    raw = model._inputs(train)
    close = train["close"].to_numpy(np.float64)
    actual = future_log_returns(close, 1)
    ds = SequenceDataset.build(raw, actual, lookback)
    _train_rows, val = ds.split(cfg.valid_fraction)
    if len(val) < 8:
        val = ds.rows[-max(8, len(ds) // 5):]
    scaled = model.x_scaler.transform(raw)
    windows = np.ascontiguousarray(sliding_windows(scaled, lookback)[val])
    truth = actual[ds.end_row(val), 0]
    level = cfg.target == "price"
    if level:  # a level net's output is a price: compare log returns all the same
        def as_return(w: np.ndarray) -> np.ndarray:
            ends = close[ds.end_row(val)]
            return np.log(np.maximum(forecast(w), 1e-6 * ends) / ends)
    else:
        as_return = forecast
    base_mse = float(np.mean((as_return(windows) - truth) ** 2))
    rng = np.random.default_rng(seed)
    names = input_names(cfg.inputs, cfg.target, cfg.external)
    importance = np.zeros(len(names))
    for j in range(len(names)):
        losses = []
        for _ in range(repeats):
            shuffled = windows.copy()
            shuffled[:, :, j] = windows[rng.permutation(len(windows)), :, j]
            losses.append(float(np.mean((as_return(shuffled) - truth) ** 2)))
        importance[j] = float(np.mean(losses)) - base_mse
    # per forecast: occlusion of each input column over the whole window
    recent = model._inputs(frame)
    recent_windows = sliding_windows(model.x_scaler.transform(recent), lookback)
    ok = np.isfinite(recent_windows).all(axis=(1, 2))
    idx = np.flatnonzero(ok)[-bars:]
    w = np.ascontiguousarray(recent_windows[idx])
    pred = forecast(w)
    contrib = np.empty((len(idx), len(names)))
    for j in range(len(names)):
        off = w.copy()
        off[:, :, j] = 0.0
        contrib[:, j] = pred - forecast(off)
    return Importance(
        method="permutation", unit="increase of squared log-return error when shuffled "
        "(validation tail); contributions: occlusion, forecast minus forecast without it",
        features=names, importance=importance, times=frame.index[idx + lookback - 1],
        contributions=contrib, prediction=pred,
    )


def _ensemble(model: Any, frame: pd.DataFrame, bars: int) -> Importance:
    members = model.members
    weights = model.weights[0]
    need = model.min_history()
    origins = range(max(need - 1, len(frame) - bars), len(frame))
    contrib = np.empty((len(origins), len(members)))
    for row, o in enumerate(origins):
        mean, _half = model.member_log_returns(frame.iloc[: o + 1], 1)
        contrib[row] = weights * mean[0]
    return Importance(
        method="weights", unit="member weight; contributions: weighted member forecast log "
        "return (they add up to the ensemble's)",
        features=[m.name for m in members], importance=np.abs(weights),
        times=frame.index[list(origins)], contributions=contrib,
        prediction=contrib.sum(axis=1),
    )
