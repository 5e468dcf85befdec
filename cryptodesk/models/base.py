"""The forecasting protocol every model implements, and the result it returns.

A model is a :class:`Forecaster` subclass with two class attributes and two hooks::

    class MyForecaster(Forecaster):
        name = "mymodel"                      # registry name, also written into saved models
        config_cls = MyConfig                 # a frozen ModelConfig dataclass (models/config.py)

        def _fit(self, train, ctx, horizon): ...        # learn from ``train`` only
        def _predict(self, history, horizon): ...       # -> Forecast

Its other facts (library, description, capabilities such as quantiles, P(up) or direct
multi-step) are declared once, in its registry entry (:mod:`cryptodesk.models.catalog`), and
``Forecaster.capabilities`` reads them from there.

The public :meth:`Forecaster.fit` / :meth:`Forecaster.predict` wrap the hooks with the checks
every model needs (canonical candles, enough rows, fitted, horizon within what was trained, the
result's shape), so models stay a few lines and behave alike.

Contract (checked over every registered model by ``tests/contract/test_models_contract.py``):

- ``fit(train, ctx, horizon)`` learns only from ``train`` (every scaler and feature statistic
  too) and replaces any earlier fit. ``train`` is a canonical candle frame
  (:mod:`cryptodesk.data.schema`), possibly with extra numeric columns (external features).
  ``horizon`` is the longest horizon ``predict`` will be asked for: direct multi-step models
  train one output per step, recursive ones ignore it. Long fits call
  ``ctx.check_cancelled()`` at safe points (each boosting round, each batch) and may report
  ``ctx.progress``.
- ``predict(history, horizon)`` forecasts the closes of the ``horizon`` bars after the last row
  of ``history`` (the *origin*). ``history`` holds every candle up to and including the origin
  and nothing after it; the model may use any of it as input (lags, indicators, its own state
  filter) but must not learn from it: parameters stay those of the last fit. Walk-forward calls
  ``predict`` once per origin between refits, so it must be cheap: use only the tail it needs
  (see :meth:`Forecaster.min_history`) instead of rebuilding features for the whole series.
- Neither call modifies its input frames.
- The same config (seed included) and data give identical forecasts.
- ``save(dir)`` / ``load(dir)`` round-trip a fitted model exactly: ``model.json`` (name,
  config, fitted horizon, JSON state from :meth:`get_state`) plus any native payload written by
  :meth:`save_native` (LightGBM text model, torch ``state_dict``). Never pickle.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from cryptodesk.atomic import write_text_atomic
from cryptodesk.errors import ModelError
from cryptodesk.jobs import TaskContext, null_context
from cryptodesk.models.capabilities import Capabilities
from cryptodesk.models.config import ModelConfig
from cryptodesk.models.conformal import Calibration, out_of_fold_scores
from cryptodesk.safejson import JsonInputError, dumps, read_json_bounded

MODEL_FILE = "model.json"
MODEL_FORMAT = 1
MAX_MODEL_FILE_BYTES = 64 * 1024**2  # fitted state (scalers, ARIMA params, histories) is small
MAX_MODEL_FILE_DEPTH = 64
# z-score of the 90 % quantile of a standard normal: q10/q90 = mean -/+ Z90 * sd.
Z90 = 1.2815515655446004


@dataclass(frozen=True)
class Forecast:
    """Forecasts from one origin for steps 1..h ahead (index 0 = the next bar).

    ``point`` is the forecast close. ``q10``/``q90`` are the 10 % and 90 % quantiles of the
    close (an 80 % interval); ``p_up`` is P(close at that step > close at the origin). Each is a
    float64 array of length h, or None when the model does not provide it.
    """

    point: np.ndarray
    q10: np.ndarray | None = None
    q90: np.ndarray | None = None
    p_up: np.ndarray | None = None

    def __post_init__(self) -> None:
        h = np.asarray(self.point).shape
        for name in ("point", "q10", "q90", "p_up"):
            value = getattr(self, name)
            if value is None:
                continue
            arr = np.array(value, dtype=np.float64, copy=True).reshape(-1)
            if arr.shape != (int(np.prod(h)),):
                raise ModelError(f"forecast {name} has shape {arr.shape}, point has {h}")
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    @property
    def horizon(self) -> int:
        """Number of steps ahead."""
        return int(self.point.shape[0])

    @classmethod
    def from_log_returns(
        cls,
        last_close: float,
        mean: np.ndarray,
        sd: np.ndarray | None = None,
        *,
        q10: np.ndarray | None = None,
        q90: np.ndarray | None = None,
        p_up: np.ndarray | None = None,
    ) -> Forecast:
        """Turn forecasts of the cumulative log return ``log(close[t+k] / close[t])`` into prices.

        ``mean`` is the point forecast of the cumulative log return per step. With ``sd`` (a
        normal predictive distribution of the cumulative log return) the quantiles and P(up) are
        derived from it unless given explicitly; ``q10``/``q90`` given here are cumulative log
        return quantiles too. ``exp`` is monotone, so log-return quantiles map to price
        quantiles exactly.
        """
        mean = np.asarray(mean, dtype=np.float64)
        if sd is not None:
            sd = np.maximum(np.asarray(sd, dtype=np.float64), 1e-12)
            if q10 is None:
                q10 = mean - Z90 * sd
            if q90 is None:
                q90 = mean + Z90 * sd
            if p_up is None:
                p_up = normal_cdf(mean / sd)
        return cls(
            point=last_close * np.exp(mean),
            q10=None if q10 is None else last_close * np.exp(np.asarray(q10, dtype=np.float64)),
            q90=None if q90 is None else last_close * np.exp(np.asarray(q90, dtype=np.float64)),
            p_up=None if p_up is None else np.clip(np.asarray(p_up, dtype=np.float64), 0.0, 1.0),
        )


class _RegisteredCapabilities:
    """``Forecaster.capabilities``: read from the model's registry entry, the one place a
    model's facts are declared. A class may still set its own ``capabilities`` attribute (a
    test double that is never registered)."""

    def __get__(self, obj: object, owner: type[Forecaster]) -> Capabilities:
        from cryptodesk.models.registry import default_registry

        return default_registry().entry(owner.name).capabilities


class Forecaster(abc.ABC):
    """Base class of every model. Subclasses implement ``_fit`` and ``_predict``.

    Attributes after a fit: ``fitted_horizon`` (the ``horizon`` passed to ``fit``),
    ``train_end`` (time of the last training row), ``train_rows``.
    """

    name: ClassVar[str] = ""
    config_cls: ClassVar[type[ModelConfig]] = ModelConfig
    capabilities: ClassVar[Capabilities] = _RegisteredCapabilities()  # type: ignore[assignment]
    # Conformal calibration (cryptodesk.models.conformal): True = a copy fitted before the
    # held-back tail scores it and the model itself is fitted on the whole window (two fits);
    # False = split: the model itself is fitted before the tail (one fit; for costly models).
    calibration_refit: ClassVar[bool] = True
    #: True for a wrapper whose forecasts come from an inner model it fits itself (a tuned
    #: model): the inner model calibrates its own band, so the wrapper does not calibrate again.
    inner_calibrates: ClassVar[bool] = False
    #: True when ``_fit`` spends its time in native code that releases the GIL (LightGBM):
    #: then the calibration copy may train in a second thread (see :meth:`calibrates_beside`).
    fit_releases_gil: ClassVar[bool] = False

    def __init__(self, config: ModelConfig | dict[str, Any] | None = None) -> None:
        if config is None:
            config = self.config_cls()
        elif isinstance(config, dict):
            config = self.config_cls.from_dict(config)
        elif not isinstance(config, self.config_cls):
            raise ModelError(
                f"{self.name}: expected a {self.config_cls.__name__}, got {type(config).__name__}"
            )
        self.config = config
        self.fitted_horizon = 0
        self.train_end: pd.Timestamp | None = None
        self.train_rows = 0
        self.calibration: Calibration | None = None
        self.target = "price"  # what the last fit learnt to forecast: price or volatility

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"

    # ------------------------------------------------------------------ public API
    @property
    def is_fitted(self) -> bool:
        """True once :meth:`fit` (or :meth:`load`) succeeded."""
        return self.fitted_horizon > 0

    def fit(
        self, train: pd.DataFrame, ctx: TaskContext | None = None, horizon: int = 1,
        target: str = "price",
    ) -> Forecaster:
        """Fit on ``train`` only, for forecasts up to ``horizon`` steps of ``target`` (``price``:
        closes; ``volatility``: the ``rv`` column's realised variance); returns self."""
        horizon = self._check_horizon(horizon)
        if target not in self.capabilities.targets:
            raise ModelError(f"{self.name} does not forecast {target}; it forecasts "
                             f"{' and '.join(self.capabilities.targets)}")
        _check_frame(train, "training data")
        need = self.min_train_bars()
        if len(train) < need:
            raise ModelError(f"{self.name}: needs at least {need} training bars, got {len(train)}")
        ctx = ctx or null_context()
        ctx.check_cancelled()
        self.fitted_horizon = 0
        self.calibration = None
        self.target = target
        fitted = False
        if self.calibrates(target) and self.calibrates_beside():
            from cryptodesk.models.calibrate_beside import fit_beside_calibration

            self.calibration = fit_beside_calibration(self, train, ctx, horizon)
            fitted = True
        elif self.calibrates(target):
            cal_ctx = ctx.child(0.0, 0.5 if self.calibration_refit else 1.0)
            self.calibration = out_of_fold_scores(self, train, horizon, cal_ctx)
        if not fitted and (self.calibration is None or self.calibration_refit):
            self._fit(train, ctx.child(0.5, 1.0) if self.calibration else ctx, horizon)
        self.fitted_horizon = horizon
        self.train_end = train.index[-1]
        self.train_rows = len(train)
        return self

    def calibrates(self, target: str = "price") -> bool:
        """True when a fit for ``target`` puts a conformal band on the forecasts."""
        return (self.config.interval == "conformal" and target == "price"
                and not self.inner_calibrates)

    def calibrates_beside(self) -> bool:
        """True when the calibration copy trains in a second thread beside the model's own
        fit (:mod:`cryptodesk.models.calibrate_beside`): a refitting model whose training
        runs outside the GIL, allowed two threads or more."""
        return self.calibration_refit and self.fit_releases_gil and self.thread_budget() >= 2

    def thread_budget(self) -> int:
        """Threads this model may keep busy while it fits (1 unless its config says more)."""
        return 1

    def parallel_refits(self) -> int:
        """How many refits of a walk-forward may train at once, each in its own thread on its
        own instance (:mod:`cryptodesk.evaluation.refits_ahead`): 1 unless the model's fit
        runs outside the GIL and draws no random numbers from a shared generator."""
        return 1

    def predict(self, history: pd.DataFrame, horizon: int) -> Forecast:
        """Forecast the ``horizon`` closes after the last row of ``history``."""
        horizon = self._check_predict(history, horizon)
        return self._finish(self._predict(history, horizon), history, horizon)

    def predict_many(self, history: pd.DataFrame, origins: np.ndarray, horizon: int) -> list[Forecast]:
        """Forecasts from several origins (ascending row numbers of ``history``, the last one
        its last row), each exactly what ``predict(history.iloc[:o + 1], horizon)`` gives.

        Walk-forward calls this once per refit block. The default calls :meth:`predict` per
        origin on the slice up to it; a model may override :meth:`_predict_many` with a batch
        path (LightGBM: one feature matrix and one booster call per step) when every input it
        computes at row o uses rows up to o only. The contract tests check both promises:
        identical to per-origin ``predict``, and unchanged when the rows after an origin change.
        """
        origins = np.asarray(origins, dtype=np.int64)
        horizon = self._check_predict(history.iloc[: int(origins[0]) + 1], horizon)
        if int(origins[-1]) != len(history) - 1:
            raise ModelError(f"{self.name}: predict_many's history must end at its last origin")
        points = self._predict_many(history, origins, horizon)
        if points is None:
            return [self.predict(history.iloc[: int(o) + 1], horizon) for o in origins]
        close = history["close"].to_numpy(dtype=np.float64)
        return [self._finish_closes(fc, close[: int(o) + 1], horizon)
                for o, fc in zip(origins, points, strict=True)]

    def _predict_many(self, history: pd.DataFrame, origins: np.ndarray,
                      horizon: int) -> list[Forecast] | None:
        """Batch hook of :meth:`predict_many`: the uncalibrated forecasts per origin, or None
        (the default) to predict origin by origin."""
        del history, origins, horizon
        return None

    def _check_predict(self, history: pd.DataFrame, horizon: int) -> int:
        if not self.is_fitted:
            raise ModelError(f"{self.name}: predict() before fit()")
        horizon = self._check_horizon(horizon)
        if self.capabilities.direct and horizon > self.fitted_horizon:
            raise ModelError(
                f"{self.name}: fitted for horizon {self.fitted_horizon}, asked for {horizon}"
            )
        _check_frame(history, "history")
        need = self.min_history()
        if len(history) < need:
            raise ModelError(f"{self.name}: needs at least {need} bars of history, got {len(history)}")
        return horizon

    def _finish(self, forecast: Forecast, history: pd.DataFrame, horizon: int) -> Forecast:
        return self._finish_closes(forecast, history["close"].to_numpy(dtype=np.float64),
                                   horizon)

    def _finish_closes(self, forecast: Forecast, close: np.ndarray, horizon: int) -> Forecast:
        """Check the forecast's length and put the calibrated band on it (``close``: the
        closes up to its origin)."""
        if forecast.horizon != horizon:
            raise ModelError(f"{self.name}: returned {forecast.horizon} steps, asked for {horizon}")
        if self.calibration is not None and self.calibration.horizon >= horizon:
            forecast = self.calibration.apply_to_closes(forecast, close, self.keeps_own_p_up())
        return forecast

    def calibration_paths(self, train: pd.DataFrame, origins: np.ndarray, horizon: int) -> np.ndarray:
        """Point forecasts of the cumulative log return, ``(len(origins), horizon)``, from each
        origin (a row number of ``train``) using rows up to it only: the out-of-fold forecasts
        the conformal calibration scores. One ``_predict`` per origin by default; models with
        a cheaper batch path (LightGBM: one feature matrix, one booster call) override it."""
        close = train["close"].to_numpy(dtype=np.float64)
        out = np.empty((len(origins), horizon))
        for i, o in enumerate(origins):
            point = self._predict(train.iloc[: int(o) + 1], horizon).point
            with np.errstate(divide="ignore", invalid="ignore"):
                out[i] = np.log(point / close[int(o)])
        return out

    def keeps_own_p_up(self) -> bool:
        """True when the model's own P(up) is kept over the calibrated one (a classifier)."""
        return False

    @classmethod
    def fast_config(cls) -> ModelConfig:
        """A small, quick config (few trees/epochs) for contract tests, demos and smoke runs.

        Override in slow models; the contract tests run every registered model with it.
        """
        return cls.config_cls()

    def min_train_bars(self) -> int:
        """Fewest training rows :meth:`fit` accepts (may depend on the config)."""
        return self.capabilities.min_train_bars

    def min_history(self) -> int:
        """Fewest history rows :meth:`predict` needs (e.g. the feature warm-up or lookback).

        Also what walk-forward may pass as ``history``: never less than this, and models must
        give the same forecast for any longer history with the same last rows.
        """
        return 1

    def history_window(self) -> int:
        """Rows the whole forecast depends on: the model's :meth:`min_history`, widened to the
        local-volatility window of the conformal band when the model is calibrated. A forecast
        from any history with the same last ``history_window()`` rows is identical."""
        from cryptodesk.models.conformal import VOL_WINDOW

        need = self.min_history()
        return max(need, VOL_WINDOW + 1) if self.calibration is not None else need
    def manifest_sections(self) -> dict[str, Any]:
        """Extra top-level sections for a saved bundle's manifest (an ensemble lists its member
        sub-bundles, a tuned model its studies); none by default."""
        return {}

    def fit_summary(self) -> dict[str, Any]:
        """A few JSON-able facts about the last fit (chosen order, trees, epochs run) that
        reports and the GUI show next to the metrics; empty by default."""
        return {}

    # ------------------------------------------------------------------ hooks
    @abc.abstractmethod
    def _fit(self, train: pd.DataFrame, ctx: TaskContext, horizon: int) -> None:
        """Learn parameters from ``train`` (already checked)."""

    @abc.abstractmethod
    def _predict(self, history: pd.DataFrame, horizon: int) -> Forecast:
        """Forecast ``horizon`` steps after ``history``'s last row (already checked)."""

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> dict[str, Any]:
        """Fitted parameters as a JSON-able dict (statistical params, feature statistics)."""
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_state` returned (nothing to restore by default)."""
        del state

    def save_native(self, directory: Path) -> list[str]:
        """Write native payload files into ``directory``; return their names (none by default)."""
        return []

    def load_native(self, directory: Path) -> None:
        """Read what :meth:`save_native` wrote (nothing by default)."""
        del directory

    def save(self, directory: str | Path) -> Path:
        """Save the fitted model into ``directory`` (created): ``model.json`` + native files.

        Model bundles (manifest with versions, data range, metrics) wrap this; it writes only
        what is needed to predict again.
        """
        if not self.is_fitted:
            raise ModelError(f"{self.name}: cannot save a model that was never fitted")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        files = self.save_native(directory)
        doc = {
            "format": MODEL_FORMAT,
            "name": self.name,
            "config": self.config.to_dict(),
            "fitted_horizon": self.fitted_horizon,
            "target": self.target,
            "train_end": None if self.train_end is None else self.train_end.isoformat(),
            "train_rows": self.train_rows,
            "state": self.get_state(),
            "calibration": None if self.calibration is None else self.calibration.to_state(),
            "files": files,
        }
        write_text_atomic(directory / MODEL_FILE, dumps(doc))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Forecaster:
        """Load a model saved by :meth:`save` (the class must match the saved name)."""
        doc = read_model_file(directory)
        if doc["name"] != cls.name:
            raise ModelError(f"{directory} holds a {doc['name']!r} model, not {cls.name!r}")
        model = cls(cls.config_cls.from_dict(doc["config"]))
        model.set_state(doc.get("state") or {})
        model.calibration = Calibration.from_state(doc.get("calibration"))
        model.target = str(doc.get("target") or "price")
        # set before the native payload loads, so load_native can check it against the payload
        model.fitted_horizon = int(doc["fitted_horizon"])
        model.load_native(Path(directory))
        model.train_end = pd.Timestamp(doc["train_end"]) if doc.get("train_end") else None
        model.train_rows = int(doc.get("train_rows", 0))
        return model

    # ------------------------------------------------------------------ internals
    def _check_horizon(self, horizon: int) -> int:
        if isinstance(horizon, bool) or int(horizon) != horizon or horizon < 1:
            raise ModelError(f"horizon must be a whole number >= 1, got {horizon!r}")
        cap = self.capabilities.max_horizon
        if cap is not None and horizon > cap:
            raise ModelError(f"{self.name}: supports horizons up to {cap}, asked for {horizon}")
        return int(horizon)


def read_model_file(directory: str | Path) -> dict[str, Any]:
    """Read and sanity-check ``model.json`` in ``directory``.

    Read through :func:`~cryptodesk.safejson.read_json_bounded` (a model file may come from a
    shared zip), and the fields :meth:`Forecaster.load` uses are type-checked here, so a damaged
    file is a one-line :class:`ModelError`, never a ``TypeError`` from deep inside a load.
    """
    path = Path(directory) / MODEL_FILE
    try:
        doc = read_json_bounded(path, MAX_MODEL_FILE_BYTES, MAX_MODEL_FILE_DEPTH)
    except FileNotFoundError:
        raise ModelError(f"no saved model in {directory} ({MODEL_FILE} missing)") from None
    except JsonInputError as exc:
        raise ModelError(f"{MODEL_FILE} in {directory} {exc}") from None
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str) \
            or not isinstance(doc.get("config"), dict):
        raise ModelError(f"{path} is not a CryptoDesk model file")
    version = doc.get("format", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelError(f"{path} has no valid format number")
    if version > MODEL_FORMAT:
        raise ModelError(f"{path} was written by a newer CryptoDesk (format {version})")
    horizon = doc.get("fitted_horizon")
    if isinstance(horizon, bool) or not isinstance(horizon, int) or not 1 <= horizon <= 100_000:
        raise ModelError(f"{path}: fitted_horizon must be a whole number from 1 to 100,000")
    if not isinstance(doc.get("state") or {}, dict):
        raise ModelError(f"{path}: state must be a JSON object")
    if not isinstance(doc.get("train_rows", 0), int) or \
            not isinstance(doc.get("train_end") or "", str):
        raise ModelError(f"{path}: train_rows/train_end are malformed")
    return doc


def normal_cdf(x: np.ndarray | float) -> np.ndarray:
    """Standard normal CDF without scipy (keeps model modules light)."""
    x = np.asarray(x, dtype=np.float64)
    flat = [math.erf(v / math.sqrt(2.0)) if math.isfinite(v) else math.copysign(1.0, v)
            if not math.isnan(v) else math.nan for v in x.reshape(-1).tolist()]
    return 0.5 * (1.0 + np.asarray(flat, dtype=np.float64).reshape(x.shape))


def _check_frame(frame: pd.DataFrame, what: str) -> None:
    if not isinstance(frame, pd.DataFrame) or "close" not in frame.columns:
        raise ModelError(f"{what} must be a candle frame with a close column")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise ModelError(f"{what} must have a DatetimeIndex")
    if len(frame) == 0:
        raise ModelError(f"{what} is empty")
