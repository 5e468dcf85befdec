"""The ensemble: several registry models combined into one forecaster.

Combiners, all in log-return space (each member's forecast ``r_i = log(point_i / last close)``,
combined ``r = sum_i w_i r_i``, per forecast step):

- ``mean``: ``w_i = 1 / m``.
- ``inverse_error``: ``w_i`` proportional to ``1 / MSE_i`` of member i's out-of-fold forecasts.
- ``stack``: weights fitted to the out-of-fold forecasts by non-negative least squares, or by
  ridge regression shrunk towards zero (towards "no change", the naive forecast). Neither has an
  intercept: a constant drift learned in-sample is the cheapest way to overfit daily returns.

Out-of-fold forecasts come from :func:`cryptodesk.models.folds.out_of_fold` on the *training
window only* (its last ``oof_folds * oof_bars`` rows, each block forecast by members fitted on
the rows before it), so the weights never see anything after the training window; then every
member is refitted on the whole window. The walk-forward slices the frame at each origin, so the
ensemble passes the same look-ahead contract as every model.

Intervals: the combined log return plus/minus a weighted mean of the members' interval
half-widths (normalised absolute weights; a member without quantiles counts with the training
window's sd of h-step log returns). P(up) from the normal with that spread.

Saved as ``model.json`` (member names, weights, spreads) plus one sub-folder per member under
``members/``, each written by the member's own ``save`` (its JSON and native payload): no pickle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.errors import ModelError
from cryptodesk.jobs import TaskContext
from cryptodesk.models.base import Z90, Forecast, Forecaster, normal_cdf, read_model_file
from cryptodesk.models.ensemble_config import EnsembleConfig
from cryptodesk.models.folds import out_of_fold
from cryptodesk.models.registry import create, model_class

MEMBERS_DIR = "members"


class EnsembleForecaster(Forecaster):
    """Members fitted on the same window, combined by learned or equal weights."""

    name = "ensemble"
    config_cls = EnsembleConfig
    config: EnsembleConfig

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.members: list[Forecaster] = []
        self.weights = np.empty((0, 0))  # (horizon, m)
        self.fallback_sd: list[float] = []
        self.oof_mse: list[list[float]] = []  # per step, per member (learned combiners)

    @classmethod
    def fast_config(cls) -> EnsembleConfig:
        names = ("arima", "lightgbm", "lstm")
        return EnsembleConfig(members=names, combiner="stack", oof_folds=1, oof_bars=20,
                              member_configs={n: model_class(n).fast_config().to_dict()
                                              for n in names})

    def _new_members(self) -> list[Forecaster]:
        cfg = self.config
        return [create(n, cfg.member_configs[n]) for n in cfg.members]

    # ------------------------------------------------------------------ sizes
    def _learned(self) -> bool:
        return self.config.combiner != "mean"

    def min_train_bars(self) -> int:
        need = max(max(m.min_train_bars(), m.min_history()) for m in self._new_members())
        return need + (self.config.oof_folds * self.config.oof_bars if self._learned() else 0)

    def min_history(self) -> int:
        return max(m.min_history() for m in (self.members or self._new_members()))

    # ------------------------------------------------------------------ fit
    def _fit(self, train: pd.DataFrame, ctx: TaskContext, horizon: int) -> None:
        cfg = self.config
        m = len(cfg.members)
        weights = np.full((horizon, m), 1.0 / m)
        mse: list[list[float]] = []
        share = 0.6 if self._learned() else 0.0
        if self._learned():
            oof = []
            for i, name in enumerate(cfg.members):
                # the inner folds' epochs and forecasts are not the run's: keep them inside
                sub = ctx.child(share * i / m, share * (i + 1) / m, f"{name} out-of-fold: ",
                                partial=_drop)
                oof.append(out_of_fold(lambda n=name: create(n, cfg.member_configs[n]), train,
                                       cfg.oof_folds, cfg.oof_bars, horizon, sub))
            actual = oof[0].actual_log_return
            preds = np.stack([o.log_return for o in oof], axis=-1)  # (rows, H, m)
            weights, mse = _weights(preds, actual, cfg)
        members = []
        for i, member in enumerate(self._new_members()):
            sub = ctx.child(share + (1 - share) * i / m, share + (1 - share) * (i + 1) / m,
                            f"{member.name}: ", partial=_drop)
            members.append(member.fit(train, sub, horizon))
        close = train["close"].to_numpy(dtype=np.float64)
        sd = []
        for h in range(1, horizon + 1):
            r = np.log(close[h:] / close[:-h]) if len(close) > h else np.array([])
            r = r[np.isfinite(r)]
            sd.append(float(np.std(r, ddof=1)) if r.size > 1 else 1e-6)
        self.members, self.weights, self.oof_mse, self.fallback_sd = members, weights, mse, sd

    # ------------------------------------------------------------------ predict
    def member_log_returns(self, history: pd.DataFrame, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """Each member's forecast log return and interval half-width, both ``(horizon, m)``
        (the contributions a chart shows at a forecast are ``weights * log returns``)."""
        last = float(history["close"].iat[-1])
        mean = np.empty((horizon, len(self.members)))
        half = np.empty_like(mean)
        for i, member in enumerate(self.members):
            fc = member.predict(history, horizon)
            mean[:, i] = np.log(fc.point / last)
            if fc.q10 is not None and fc.q90 is not None:
                half[:, i] = (np.log(fc.q90 / last) - np.log(fc.q10 / last)) / 2
            else:
                half[:, i] = Z90 * np.asarray(self.fallback_sd[:horizon])
        return mean, half

    def _predict(self, history: pd.DataFrame, horizon: int) -> Forecast:
        mean, half = self.member_log_returns(history, horizon)
        w = self.weights[:horizon]
        r = np.sum(w * mean, axis=1)
        a = np.abs(w)
        total = a.sum(axis=1, keepdims=True)
        norm = np.where(total > 0, a / np.where(total > 0, total, 1.0), 1.0 / w.shape[1])
        spread = np.maximum(np.sum(norm * half, axis=1), 1e-12)
        last = float(history["close"].iat[-1])
        return Forecast.from_log_returns(last, r, q10=r - spread, q90=r + spread,
                                         p_up=normal_cdf(r / (spread / Z90)))

    def fit_summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"combiner": self.config.combiner,
                               "weights": {n: round(float(w), 6) for n, w in
                                           zip(self.config.members, self.weights[0], strict=True)}}
        if self.oof_mse:
            out["oof_rmse"] = {n: float(np.sqrt(v)) for n, v in
                               zip(self.config.members, self.oof_mse[0], strict=True)}
        return out

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> dict[str, Any]:
        return {"weights": self.weights.tolist(), "fallback_sd": self.fallback_sd,
                "oof_mse": self.oof_mse, "members": list(self.config.members)}

    def set_state(self, state: dict[str, Any]) -> None:
        self.weights = np.asarray(state.get("weights", []), dtype=np.float64)
        self.fallback_sd = [float(v) for v in state.get("fallback_sd", [])]
        self.oof_mse = [[float(v) for v in row] for row in state.get("oof_mse", [])]
        if list(state.get("members", [])) != list(self.config.members):
            raise ModelError("ensemble state does not match its members")

    def member_dirs(self) -> list[str]:
        """Sub-folder of each member, relative to the ensemble's folder."""
        return [f"{MEMBERS_DIR}/{i:02d}-{n}" for i, n in enumerate(self.config.members)]

    def save_native(self, directory: Path) -> list[str]:
        files = []
        for sub, member in zip(self.member_dirs(), self.members, strict=True):
            path = member.save(directory / sub)
            files += [f.relative_to(directory).as_posix() for f in sorted(path.rglob("*"))
                      if f.is_file()]
        return files

    def load_native(self, directory: Path) -> None:
        members = []
        for sub, name in zip(self.member_dirs(), self.config.members, strict=True):
            doc = read_model_file(directory / sub)
            if doc["name"] != name:
                raise ModelError(f"{directory / sub} holds a {doc['name']!r} model, not {name!r}")
            members.append(model_class(name).load(directory / sub))
        self.members = members

    def manifest_sections(self) -> dict[str, Any]:
        """The bundle's ``members`` section: each member sub-bundle (kind, folder inside the
        payload, config, fitted horizon) and its weights."""
        return {"members": [
            {"kind": m.name, "dir": sub, "config": m.config.to_dict(),
             "fitted_horizon": m.fitted_horizon,
             "weights": [float(w) for w in self.weights[:, i]]}
            for i, (sub, m) in enumerate(zip(self.member_dirs(), self.members, strict=True))]}


def _drop(obj: Any) -> None:
    """Members' partial results (epochs) go nowhere: a run's loss curves and forecasts are
    keyed by model name, and a member is not the run's model of that name."""
    del obj


def _weights(preds: np.ndarray, actual: np.ndarray,
             cfg: EnsembleConfig) -> tuple[np.ndarray, list[list[float]]]:
    """Per-step member weights ``(H, m)`` and member MSEs from out-of-fold log returns."""
    horizon, m = preds.shape[1], preds.shape[2]
    weights = np.full((horizon, m), 1.0 / m)
    mses = []
    for k in range(horizon):
        x, y = preds[:, k, :], actual[:, k]
        ok = np.isfinite(y) & np.isfinite(x).all(axis=1)
        x, y = x[ok], y[ok]
        if y.size < 2:
            raise ModelError(f"ensemble: only {y.size} out-of-fold forecasts for step {k + 1}")
        mse = np.mean((x - y[:, None]) ** 2, axis=0)
        mses.append([float(v) for v in mse])
        if cfg.combiner == "inverse_error":
            inv = 1.0 / np.maximum(mse, 1e-18)
            weights[k] = inv / inv.sum()
        elif cfg.stack == "nnls":
            from scipy.optimize import nnls

            weights[k] = nnls(x, y)[0]
        else:
            scale = float(np.mean(np.sum(x * x, axis=0))) or 1.0
            a = x.T @ x + cfg.ridge_alpha * scale * np.eye(m)
            weights[k] = np.linalg.solve(a, x.T @ y)
    return weights, mses
