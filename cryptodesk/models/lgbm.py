"""LightGBM on causal features: direct multi-step forecasts of the h-bar log return.

For each step h = 1..H the model trains, on the training window only:

- a point model (L2 regression) of ``log(close[t+h] / close[t])``;
- with ``quantiles`` (off by default): two quantile-objective models (alpha 0.1 and 0.9), the
  band used with ``interval="model"``. By default the 80 % interval and P(up) are conformal
  (:mod:`cryptodesk.models.conformal`): one extra point booster per step, fitted before the
  held-back tail of the window, instead of two quantile boosters on all of it;
- P(up) from a binary classifier of ``return > 0`` (``p_up="classifier"``, kept over the
  conformal one) or from the predicted distribution (``"distribution"``).

Features come from the config's :class:`~cryptodesk.features.spec.FeatureSpec`. Each feature at
row t depends only on rows up to t, and the targets of a training window are computed inside
that window (its last h rows have none and are dropped), so nothing after the training window's
end is ever seen. At prediction time features are computed on the last ``warmup`` rows of the
history only (:func:`~cryptodesk.features.builders.last_feature_row`): cheap, and identical to
the training computation. Saved as LightGBM's own text model format plus JSON; never pickle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from cryptodesk.errors import ModelError
from cryptodesk.features.builders import last_feature_row
from cryptodesk.features.matrix_cache import cached_feature_matrix
from cryptodesk.features.spec import FeatureSpec
from cryptodesk.features.targets import future_log_returns
from cryptodesk.features.volatility import HAR_WINDOWS, future_values, har_features
from cryptodesk.jobs import TaskContext
from cryptodesk.models.base import Z90, Forecast, Forecaster, normal_cdf
from cryptodesk.models.config import ModelConfig, param
from cryptodesk.models.threads import available_cores
from cryptodesk.models.volatility import realised
from cryptodesk.params import Range

HEADS = ("point", "q10", "q90", "up")
PROGRESS_ROUNDS = 10  # boosting rounds between progress reports inside one booster
AUTO_THREADS = 2  # default budget: the model and its calibration copy, one thread each


@dataclass(frozen=True)
class LightGBMConfig(ModelConfig):
    """Features and boosting settings. Defaults favour speed and heavy regularisation: on
    daily crypto returns there is little signal, and a big model mostly fits noise."""

    features: FeatureSpec = param(FeatureSpec(), label="Features",
                                  help="Which causal features the trees see.")
    n_estimators: int = param(100, min=1, max=10_000, label="Trees",
                              help="Boosting rounds per model.",
                              search=Range(50, 400, log=True))
    learning_rate: float = param(0.05, min=1e-4, max=1.0, log=True, label="Learning rate",
                                 search=Range(0.01, 0.2, log=True))
    num_leaves: int = param(15, min=2, max=1024, label="Leaves per tree",
                            search=Range(4, 63, log=True))
    min_data_in_leaf: int = param(50, min=1, max=10_000, label="Min rows per leaf",
                                  search=Range(10, 400, log=True))
    feature_fraction: float = param(0.8, min=0.05, max=1.0, label="Feature fraction",
                                    help="Share of features each tree may use.",
                                    search=Range(0.3, 1.0))
    bagging_fraction: float = param(0.8, min=0.05, max=1.0, label="Row subsample",
                                    search=Range(0.5, 1.0))
    lambda_l2: float = param(1.0, min=0.0, max=1000.0, label="L2 regularisation",
                             search=Range(1e-3, 100.0, log=True))
    max_bin: int = param(63, min=4, max=1023, advanced=True, label="Histogram bins")
    quantiles: bool = param(False, label="Quantile models",
                            help="Also train 10 % / 90 % quantile models (their band is used "
                                 "with Interval = 'model'; the default interval is conformal).")
    p_up: Literal["classifier", "distribution", "off"] = param(
        "distribution", label="P(up) from",
        help="A binary classifier, or the predicted distribution (faster).",
    )
    max_train_rows: int | None = param(None, min=50, max=10_000_000, advanced=True,
                                       label="Max training rows",
                                       help="Use only the most recent rows of each window.")
    num_threads: int | None = param(
        None, min=1, max=256, advanced=True, label="Threads",
        help="Threads a fit may use; empty: two where the machine has two cores (the "
             "calibration copy trains beside the model, one thread each: one is fastest on a "
             "few thousand rows). A number: each of the two fits uses half of it.",
    )
    seed: int = param(0, min=0, max=2**31 - 1, label="Seed")


class LightGBMForecaster(Forecaster):
    """Gradient-boosted trees on causal features, one model set per forecast step."""

    name = "lightgbm"
    config_cls = LightGBMConfig
    config: LightGBMConfig
    fit_releases_gil = True

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.boosters: dict[str, Any] = {}  # "<head>_h<step>" -> lightgbm.Booster
        self.residual_sd: list[float] = []
        self.smearing: list[float] = []  # volatility target: bias correction per step
        self.timeframe: str | None = None
        self._booster_keys: list[str] = []  # names read by set_state, loaded by load_native

    @classmethod
    def fast_config(cls) -> LightGBMConfig:
        return LightGBMConfig(n_estimators=15, num_leaves=7, min_data_in_leaf=10)

    # ------------------------------------------------------------------ fit
    def min_train_bars(self) -> int:
        return max(self.capabilities.min_train_bars, self.config.features.warmup() + 30)

    def min_history(self) -> int:
        return max(self.config.features.warmup(), HAR_WINDOWS[-1])

    def _design(self, frame: pd.DataFrame, last_only: bool = False) -> np.ndarray:
        """Feature rows (all, or the last one only); under the volatility target the log HAR
        components of the realised variance are appended."""
        cfg = self.config
        if last_only:
            x = last_feature_row(frame, cfg.features, self.timeframe)[None, :]
        else:
            x = cached_feature_matrix(frame, cfg.features, self.timeframe)
        if self.target != "volatility":
            return x
        rv = realised(frame, self.name)
        har = har_features(rv[-HAR_WINDOWS[-1]:] if last_only else rv)
        with np.errstate(divide="ignore", invalid="ignore"):
            har = np.log(np.where(har > 0, har, np.nan))
        return np.hstack([x, har[-1:] if last_only else har])

    def _targets(self, train: pd.DataFrame, horizon: int) -> np.ndarray:
        if self.target != "volatility":
            return future_log_returns(train["close"].to_numpy(dtype=np.float64), horizon)
        future = future_values(realised(train, self.name), horizon)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(np.where(future > 0, future, np.nan))  # log variance: tame tails

    def _fit(self, train: pd.DataFrame, ctx: TaskContext, horizon: int) -> None:
        import lightgbm as lgb

        cfg = self.config
        self.timeframe = str(train.attrs.get("timeframe") or _infer_tf(train))
        x_all = self._design(train)
        y_all = self._targets(train, horizon)
        first = cfg.features.warmup() - 1
        heads = self._heads()
        self.boosters, self.residual_sd, self.smearing = {}, [], []
        total = horizon * len(heads)
        done = 0
        for h in range(1, horizon + 1):
            y = y_all[first:, h - 1]
            x = x_all[first:]
            ok = np.isfinite(y)
            x, y = x[ok], y[ok]
            if cfg.max_train_rows is not None:
                x, y = x[-cfg.max_train_rows:], y[-cfg.max_train_rows:]
            if y.shape[0] < 20:
                raise ModelError(f"lightgbm: only {y.shape[0]} usable training rows for step {h}")
            shared = None  # one binned Dataset serves every regression head of this step
            for head in heads:
                ctx.check_cancelled()
                if head == "up":
                    dataset = self._dataset(x, (y > 0).astype(np.float64))
                else:
                    if shared is None:
                        shared = self._dataset(x, y)
                    dataset = shared
                booster = lgb.train(
                    self._params(head), dataset, num_boost_round=cfg.n_estimators,
                    callbacks=[_round_callback(ctx, done, total, f"LightGBM step {h} {head}")],
                    keep_training_booster=True,  # skips a string round trip of the model
                )
                self.boosters[f"{head}_h{h}"] = booster
                if head == "point" and self.target == "volatility":
                    # Duan's smearing: E[v] = exp(log forecast) * mean(exp(residual))
                    resid = y - booster.predict(x, num_threads=1)
                    self.smearing.append(float(np.mean(np.exp(resid))))
                    self.residual_sd.append(0.0)
                elif head == "point":
                    # spread for P(up) when there are no quantile models (in-sample, optimistic)
                    self.residual_sd.append(
                        0.0 if cfg.quantiles or cfg.interval == "conformal"
                        else float(np.std(y - booster.predict(x, num_threads=1), ddof=1))
                    )
                done += 1
                ctx.progress(done / total, f"LightGBM step {h} {head}")

    def _dataset(self, x: np.ndarray, label: np.ndarray) -> Any:
        import lightgbm as lgb

        # binning runs on the boosters' threads too (OpenMP's default is every core: two
        # fits binning at once would each start a team of them)
        params = {"max_bin": self.config.max_bin, "verbose": -1,
                  "num_threads": self._booster_threads()}
        return lgb.Dataset(x, label=label, params=params, free_raw_data=False)

    def _heads(self) -> list[str]:
        heads = ["point"]
        if self.target == "volatility":
            return heads
        if self.config.quantiles:
            heads += ["q10", "q90"]
        if self.config.p_up == "classifier":
            heads.append("up")
        return heads

    def thread_budget(self) -> int:
        return self.config.num_threads or min(AUTO_THREADS, available_cores())

    def _booster_threads(self) -> int:
        """One by default (fastest on a few thousand rows, and the same sums on any machine);
        with ``num_threads`` set, half of it when the calibration copy trains beside this model
        (each of the two fits gets its share), all of it otherwise."""
        budget = self.config.num_threads
        if budget is None:
            return 1
        beside = self.calibrates(self.target) and self.calibrates_beside()
        return max(1, budget // 2) if beside else budget

    def _params(self, head: str) -> dict[str, Any]:
        cfg = self.config
        params: dict[str, Any] = {
            "learning_rate": cfg.learning_rate,
            "num_leaves": cfg.num_leaves,
            "min_data_in_leaf": cfg.min_data_in_leaf,
            "feature_fraction": cfg.feature_fraction,
            "lambda_l2": cfg.lambda_l2,
            "max_bin": cfg.max_bin,
            "num_threads": self._booster_threads(),
            "seed": cfg.seed,
            "deterministic": True,
            "force_col_wise": True,
            "verbose": -1,
        }
        if cfg.bagging_fraction < 1.0:
            params.update(bagging_fraction=cfg.bagging_fraction, bagging_freq=1)
        if head == "point":
            params["objective"] = "regression"
        elif head in ("q10", "q90"):
            params.update(objective="quantile", alpha=0.1 if head == "q10" else 0.9)
        else:
            params["objective"] = "binary"
        return params

    # ------------------------------------------------------------------ predict
    def _predict(self, history: pd.DataFrame, horizon: int) -> Forecast:
        cfg = self.config
        x = self._design(history, last_only=True)
        if self.target == "volatility":
            return Forecast(point=np.array([
                math.exp(self._raw(f"point_h{k + 1}", x)) * self.smearing[k]
                for k in range(horizon)]))
        last = float(history["close"].iat[-1])
        point = np.empty(horizon)
        lo = np.empty(horizon) if cfg.quantiles else None
        hi = np.empty(horizon) if cfg.quantiles else None
        p_up = None if cfg.p_up == "off" else np.empty(horizon)
        for k in range(horizon):
            h = k + 1
            point[k] = self._raw(f"point_h{h}", x)
            if lo is not None and hi is not None:
                a, b = self._raw(f"q10_h{h}", x), self._raw(f"q90_h{h}", x)
                lo[k], hi[k] = min(a, b, point[k]), max(a, b, point[k])  # no crossing
            if p_up is not None:
                if cfg.p_up == "classifier":
                    p_up[k] = self._raw(f"up_h{h}", x)
                else:
                    sd = (hi[k] - lo[k]) / (2 * Z90) if lo is not None and hi is not None \
                        else self.residual_sd[k]
                    p_up[k] = float(normal_cdf(point[k] / max(sd, 1e-12)))
        return Forecast.from_log_returns(last, point, q10=lo, q90=hi, p_up=p_up)

    def calibration_paths(self, train: pd.DataFrame, origins: np.ndarray, horizon: int) -> np.ndarray:
        """Batch form of the point forecasts: one feature matrix, one booster call per step
        (each feature row depends only on rows up to it, so row o equals the forecast made
        from ``train.iloc[:o+1]``)."""
        x = self._design(train)[np.asarray(origins)]
        return np.column_stack([self.boosters[f"point_h{h}"].predict(x, num_threads=1)
                                for h in range(1, horizon + 1)])

    def _predict_many(self, history: pd.DataFrame, origins: np.ndarray,
                      horizon: int) -> list[Forecast] | None:
        """One feature matrix for the block and one booster call per step. Only for the
        default heads (point model, P(up) from the calibration); other set-ups go origin by
        origin."""
        cfg = self.config
        if self.target != "price" or cfg.quantiles or cfg.p_up != "distribution" \
                or self.calibration is None:
            return None
        x = self._design(history)[origins]
        points = np.column_stack([self.boosters[f"point_h{h}"].predict(x, num_threads=1)
                                  for h in range(1, horizon + 1)])
        close = history["close"].to_numpy(dtype=np.float64)
        return [Forecast.from_log_returns(float(close[o]), points[i])
                for i, o in enumerate(origins)]

    def keeps_own_p_up(self) -> bool:
        return self.config.p_up == "classifier"

    def _raw(self, key: str, x: np.ndarray) -> float:
        # predict on a numpy row; num_threads=1: a single row gains nothing from threads
        return float(self.boosters[key].predict(x, num_threads=1)[0])

    def fit_summary(self) -> dict[str, Any]:
        return {"boosters": len(self.boosters),
                "features": len(self.config.features.columns(self.timeframe or "1d"))}

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> dict[str, Any]:
        return {"residual_sd": self.residual_sd, "timeframe": self.timeframe,
                "boosters": sorted(self.boosters), "smearing": self.smearing}

    def set_state(self, state: dict[str, Any]) -> None:
        self.residual_sd = [float(v) for v in state.get("residual_sd", [])]
        self.smearing = [float(v) for v in state.get("smearing", [])]
        self.timeframe = state.get("timeframe")
        self._booster_keys = list(state.get("boosters", []))

    def save_native(self, directory: Path) -> list[str]:
        from cryptodesk.atomic import write_text_atomic

        files = []
        for key, booster in sorted(self.boosters.items()):
            name = f"lgb_{key}.txt"
            write_text_atomic(directory / name, booster.model_to_string())
            files.append(name)
        return files

    def load_native(self, directory: Path) -> None:
        import lightgbm as lgb

        from cryptodesk.models.lgbm_payload import check_booster_keys, read_lgbm_model

        # every file is validated first: LightGBM aborts the process on a damaged model
        keys = check_booster_keys(self._booster_keys, self._heads(), self.fitted_horizon)
        if len(self.residual_sd) != self.fitted_horizon:
            raise ModelError("model.json: residual_sd does not hold one value per step")
        n_features = len(self.config.features.columns(self.timeframe or "1d"))
        if self.target == "volatility":
            n_features += len(HAR_WINDOWS)  # the log HAR components of the realised variance
        self.boosters = {}
        for key in keys:
            text = read_lgbm_model(directory / f"lgb_{key}.txt", n_features=n_features)
            try:
                self.boosters[key] = lgb.Booster(model_str=text)
            except (lgb.basic.LightGBMError, ValueError) as exc:
                raise ModelError(f"lgb_{key}.txt: LightGBM refused it ({exc})") from None

    def feature_importance(self) -> dict[str, float]:
        """Gain importance of each feature in the step-1 point model (for the GUI)."""
        booster = self.boosters.get("point_h1")
        if booster is None:
            return {}
        names = self.config.features.columns(self.timeframe or "1d")
        gains = booster.feature_importance(importance_type="gain")
        return {n: float(g) for n, g in zip(names, gains, strict=False)}


def _round_callback(ctx: TaskContext, done: int, total: int, message: str) -> Any:
    """A LightGBM callback that checks for cancellation every boosting round and reports
    progress every :data:`PROGRESS_ROUNDS` rounds (``done`` of ``total`` boosters trained
    before this one): a fit of one booster per step moves the bar while it trains."""

    def callback(env: Any) -> None:
        ctx.check_cancelled()
        rounds = env.end_iteration - env.begin_iteration
        if env.iteration % PROGRESS_ROUNDS == PROGRESS_ROUNDS - 1 and rounds > 0:
            ctx.progress((done + (env.iteration + 1) / rounds) / total, message)

    callback.order = 10  # type: ignore[attr-defined]
    return callback


def _infer_tf(frame: pd.DataFrame) -> str:
    from cryptodesk.data.timeframes import infer_timeframe

    return infer_timeframe(frame.index) or "1d"
