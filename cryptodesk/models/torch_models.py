"""Deep forecasters: LSTM, GRU, CNN, CNN-GRU and Transformer behind the Forecaster protocol.

Each model is a config dataclass (drawn as a form by the GUI) plus a few lines choosing its
``nn.Module`` from :mod:`cryptodesk.models.torch_nets`; the data handling, the training loop
(:func:`cryptodesk.models.torch_train.train_network`) and persistence are shared by
:class:`TorchForecaster`, so the nets differ in architecture and nothing else.

Data flow of a fit on the training frame:

1. inputs per row (``inputs="close"``: the one-bar log return; ``"ohlcv"``: also the
   high/low range, the candle body and the log volume change) and targets per row (the log
   returns to the next 1..H closes, :func:`~cryptodesk.features.targets.future_log_returns`);
2. windows of ``lookback`` rows with finite inputs and targets
   (:class:`~cryptodesk.features.windows.SequenceDataset`), split in time: the last
   ``valid_fraction`` of windows validate (early stopping), with an H-window gap;
3. scaling statistics (mean, sd) from the rows the *training* windows cover only, never from
   the validation tail and never from anything after the training frame;
4. the shared training loop; then the residual sd on the validation tail per step, which
   turns MSE point forecasts into intervals and P(up). With the pinball loss the net outputs
   the 10/50/90 % quantiles itself.

``target="price"`` is the tutorial variant, kept so users can see its flaw for themselves:
inputs and targets are standardised price *levels*. Such a net mostly learns to repeat the last
close; its forecast line hugs the price on a chart, yet its errors are no better than the naive
model's (compare Theil's U). Forecasts are still reported as prices.

Prediction uses only the last ``lookback + 1`` rows of the history (one extra row for the
first return), so a forecast never depends on anything older or later. Saved as the net's
``state_dict`` (``net.pt``, read back with ``torch.load(..., weights_only=True)``) next to
``model.json`` with the config, scaler statistics and loss history: no pickled objects.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from cryptodesk.atomic import write_bytes_atomic
from cryptodesk.errors import ModelError
from cryptodesk.features.scaling import Standardizer
from cryptodesk.features.targets import future_log_returns, future_values
from cryptodesk.features.windows import SequenceDataset
from cryptodesk.jobs import TaskContext
from cryptodesk.models import torch_nets as nets
from cryptodesk.models.base import Z90, Forecast, Forecaster, normal_cdf
from cryptodesk.models.threads import available_cores
from cryptodesk.models.torch_configs import (
    CnnConfig,
    CnnGruConfig,
    GruConfig,
    LstmConfig,
    TorchConfig,
    TransformerConfig,
)
from cryptodesk.models.torch_train import (
    TrainResult,
    WindowSource,
    choose_device,
    cpu_threads,
    n_outputs,
    predict_windows,
    train_network,
)

WEIGHTS_FILE = "net.pt"
MIN_TRAIN_WINDOWS = 16
PARALLEL_REFITS = 2  # refits of a walk-forward training at once on the CPU (two cores: 1.8x)


@dataclass(frozen=True)
class Prepared:
    """One series ready for the training loop: scaled inputs ``x`` ``(n, f)``, targets and
    the no-change forecast ``(n, H)`` in target units, its windows and their split, and the
    scalers that made them."""

    x: np.ndarray
    y: np.ndarray
    naive: np.ndarray
    ds: SequenceDataset
    train_rows: np.ndarray
    val_rows: np.ndarray
    x_scaler: Standardizer
    y_scaler: Standardizer


# ---------------------------------------------------------------------- base forecaster
class TorchForecaster(Forecaster):
    """Shared data handling, training, prediction and persistence of the deep nets.

    Subclasses set ``name``/``config_cls`` and implement :meth:`build_net`.
    After a fit: ``net`` (CPU, eval mode), ``history_`` (one dict per epoch: the
    :class:`~cryptodesk.models.torch_train.EpochReport` fields), ``train_result``.
    """

    config: TorchConfig
    # Training is the costly part: calibrate by split (the net is fitted before the held-back
    # tail and scored on it) rather than fitting a second net.
    calibration_refit = False

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.net: nn.Module | None = None
        self.n_features = 0
        self.horizon = 0
        self.x_scaler = Standardizer()
        self.y_scaler = Standardizer()
        self.residual_sd: list[float] = []
        self.history_: list[dict[str, Any]] = []
        self.best_epoch = 0
        self.trained_on = ""
        self.train_result: TrainResult | None = None
        self.pretrained: dict[str, Any] = {}  # what pre-training did (fit_summary, manifest)

    @classmethod
    def fast_config(cls, **changes: Any) -> TorchConfig:
        """A tiny, fast configuration (tests, demos, smoke runs); ``changes`` override it."""
        small: dict[str, Any] = {"lookback": 16, "max_epochs": 3, "batch_size": 64, "num_threads": 1}
        fields = {p.name for p in cls.config_cls.params()}
        for key, value in (("hidden", (12,)), ("channels", (8,)), ("dense", (8,)),
                           ("d_model", 8), ("heads", 2), ("layers", 1), ("ff_size", 16)):
            if key in fields:
                small[key] = value
        small.update(changes)
        return cls.config_cls.from_dict(small)  # type: ignore[return-value]

    # ------------------------------------------------------------------ hooks for subclasses
    def build_net(self, n_features: int, horizon: int) -> nn.Module:
        """The untrained network for this config."""
        raise NotImplementedError

    # ------------------------------------------------------------------ sizes
    def min_train_bars(self) -> int:
        return max(self.capabilities.min_train_bars, self.config.lookback + MIN_TRAIN_WINDOWS + 2)

    def min_history(self) -> int:
        return self.config.lookback + 1

    # ------------------------------------------------------------------ data
    def _inputs(self, frame: pd.DataFrame) -> np.ndarray:
        """Raw ``(n, f)`` inputs of each row (row t uses rows t-1 and t only)."""
        return make_inputs(frame, self.config.inputs, self.config.target, self.config.external)

    def prepare(self, raw_x: np.ndarray, close: np.ndarray, horizon: int) -> Prepared:
        """Windows, chronological split and scaled arrays of one series (the target, or a
        pre-training asset): scaling statistics come from the rows the *training* windows
        cover, and their targets, nothing else."""
        cfg = self.config
        if cfg.target == "returns":
            raw_y = future_log_returns(close, horizon)
        else:
            raw_y = future_levels(close, horizon)
        ds = SequenceDataset.build(raw_x, raw_y, cfg.lookback)
        if len(ds) < MIN_TRAIN_WINDOWS:
            raise ModelError(
                f"{self.name}: only {len(ds)} usable windows; need {MIN_TRAIN_WINDOWS} "
                f"(lookback {cfg.lookback}, {len(close)} bars)"
            )
        train_rows, val_rows = ds.split(cfg.valid_fraction)
        if cfg.max_train_windows is not None:
            train_rows = train_rows[-cfg.max_train_windows:]
        if len(train_rows) < MIN_TRAIN_WINDOWS // 2:
            raise ModelError(f"{self.name}: only {len(train_rows)} training windows left "
                             f"after the validation split")
        first = int(ds.end_row(train_rows[0])) - cfg.lookback + 1
        last = int(ds.end_row(train_rows[-1]))
        x_scaler = Standardizer().fit(raw_x[first : last + 1])
        if cfg.target == "returns":
            y_scaler = Standardizer().fit(raw_y[ds.end_row(train_rows)])
            naive_raw = np.zeros_like(raw_y)  # no change: log return 0
        else:  # price levels: inputs and targets share the close's scale (tutorial MinMax)
            y_scaler = Standardizer(x_scaler.mean[:1].copy(), x_scaler.scale[:1].copy())
            naive_raw = np.repeat(close[:, None], horizon, axis=1)
        return Prepared(
            x=x_scaler.transform(raw_x).astype(np.float32),
            y=y_scaler.transform(raw_y).astype(np.float32),
            naive=y_scaler.transform(naive_raw).astype(np.float32),
            ds=ds, train_rows=train_rows, val_rows=val_rows, x_scaler=x_scaler,
            y_scaler=y_scaler,
        )

    def parallel_refits(self) -> int:
        """Refits side by side on the CPU: as many as the cores allow at the config's torch
        threads each, at most :data:`PARALLEL_REFITS` (each holds a net and its batches). Not
        on a GPU, and not with pre-training (it reads the store, and one pooled pre-training
        per refit is already the bulk of the work)."""
        cfg = self.config
        if cfg.pretrain or cfg.num_threads is None \
                or choose_device(cfg.device).type != "cpu":
            return 1
        return max(1, min(PARALLEL_REFITS, available_cores() // cfg.num_threads))

    def _threads(self) -> Any:
        """The config's CPU thread count around a fit or forecast (see ``cpu_threads``)."""
        on_cpu = choose_device(self.config.device).type == "cpu"
        return cpu_threads(self.config.num_threads if on_cpu else None)

    def _fit(self, train: pd.DataFrame, ctx: TaskContext, horizon: int) -> None:
        with self._threads():
            self._fit_net(train, ctx, horizon)

    def _fit_net(self, train: pd.DataFrame, ctx: TaskContext, horizon: int) -> None:
        cfg = self.config
        close = train["close"].to_numpy(dtype=np.float64)
        prep = self.prepare(self._inputs(train), close, horizon)
        n_features = prep.x.shape[1]
        build: Any = lambda: self.build_net(n_features, horizon)  # noqa: E731
        settings = cfg.train_settings()
        pretrained: dict[str, Any] = {}
        if cfg.pretrain:
            from cryptodesk.models.pretrain import pretrain

            net0, pretrained = pretrain(self, train, horizon, n_features,
                                        ctx.child(0.0, 0.6, "pre-training: "))
            build, settings = (lambda: net0), cfg.finetune_settings()
            ctx = ctx.child(0.6, 1.0, "fine-tuning: ")
        net, result = train_network(
            build, prep.x, prep.y, prep.train_rows, prep.val_rows, cfg.lookback, cfg.loss,
            settings, ctx, self.name, prep.naive,
        )
        # residual spread per step on the validation tail (training windows without one)
        rows = prep.val_rows if len(prep.val_rows) >= 8 else prep.train_rows
        out = predict_windows(net, WindowSource(prep.x, None, cfg.lookback, torch.device("cpu")),
                              rows)
        ends = prep.ds.end_row(rows)
        pred = self._to_log_returns(out[..., out.shape[-1] // 2], close[ends], prep.y_scaler)
        actual = future_log_returns(close, horizon)[ends]
        resid = actual - pred
        sd = [float(np.nanstd(resid[:, k], ddof=1)) if np.isfinite(resid[:, k]).sum() > 1
              else float("nan") for k in range(horizon)]
        # commit only now: a cancelled or failed fit leaves no half-set model behind
        self.x_scaler, self.y_scaler, self.net = prep.x_scaler, prep.y_scaler, net
        self.n_features, self.horizon = n_features, horizon
        self.residual_sd = [s if np.isfinite(s) and s > 0 else 1e-6 for s in sd]
        self.train_result = result
        self.history_ = [r.to_dict() for r in result.history]
        self.best_epoch = result.best_epoch
        self.trained_on = result.device
        self.pretrained = pretrained

    def fit_summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"epochs": len(self.history_), "best_epoch": self.best_epoch}
        if self.pretrained:
            out["pretrained"] = self.pretrained
        return out

    def _to_log_returns(
        self, scaled: np.ndarray, last_close: np.ndarray, y_scaler: Standardizer | None = None
    ) -> np.ndarray:
        """Scaled net outputs ``(m, H)`` -> cumulative log returns from ``last_close`` ``(m,)``."""
        raw = (y_scaler or self.y_scaler).inverse(scaled)
        if self.config.target == "returns":
            return raw
        # a price-level net can output a non-positive price; floor it to keep the log finite
        level = np.maximum(raw, 1e-6 * last_close[:, None])
        return np.log(level / last_close[:, None])

    # ------------------------------------------------------------------ predict
    def _predict(self, history: pd.DataFrame, horizon: int) -> Forecast:
        with self._threads():
            return self._predict_net(history, horizon)

    def _predict_net(self, history: pd.DataFrame, horizon: int) -> Forecast:
        if self.net is None:
            raise ModelError(f"{self.name}: no network (model not fitted or not loaded)")
        cfg = self.config
        tail = history.iloc[-(cfg.lookback + 1):]
        raw = self._inputs(tail)[-cfg.lookback:]
        if not np.isfinite(raw).all():
            raise ModelError(f"{self.name}: the last {cfg.lookback} bars hold missing values")
        x = torch.from_numpy(self.x_scaler.transform(raw).astype(np.float32)[None])
        self.net.eval()
        with torch.no_grad():
            out = self.net(x).numpy().astype(np.float64)  # (1, H, n_q)
        last = float(history["close"].iat[-1])
        lasts = np.array([last])
        cols = [self._to_log_returns(out[..., q], lasts)[0, :horizon] for q in range(out.shape[-1])]
        if len(cols) == 1:
            return Forecast.from_log_returns(last, cols[0], np.asarray(self.residual_sd[:horizon]))
        q = np.sort(np.stack(cols), axis=0)  # quantiles must not cross
        lo, mid, hi = q[0], q[len(cols) // 2], q[-1]
        sd = np.maximum((hi - lo) / (2 * Z90), 1e-12)
        return Forecast.from_log_returns(last, mid, q10=lo, q90=hi, p_up=normal_cdf(mid / sd))

    def calibration_paths(self, train: pd.DataFrame, origins: np.ndarray, horizon: int) -> np.ndarray:
        """Batch point paths for the conformal calibration: the windows ending at each origin
        go through the net in batches (the median output for quantile nets)."""
        if self.net is None:
            raise ModelError(f"{self.name}: no network (model not fitted or not loaded)")
        lookback = self.config.lookback
        raw = self.x_scaler.transform(self._inputs(train)).astype(np.float32)
        origins = np.asarray(origins, dtype=np.int64)
        windows = np.lib.stride_tricks.sliding_window_view(raw, lookback, axis=0)
        x = np.ascontiguousarray(windows[origins - lookback + 1].transpose(0, 2, 1))
        self.net.eval()
        outs = []
        with torch.no_grad():
            for start in range(0, x.shape[0], 1024):
                outs.append(self.net(torch.from_numpy(x[start:start + 1024])).numpy())
        out = np.concatenate(outs).astype(np.float64)  # (n, H, n_q)
        close = train["close"].to_numpy(dtype=np.float64)[origins]
        cols = [self._to_log_returns(out[..., q], close)[:, :horizon] for q in range(out.shape[-1])]
        return cols[0] if len(cols) == 1 else np.sort(np.stack(cols), axis=0)[len(cols) // 2]

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> dict[str, Any]:
        return {
            "n_features": self.n_features,
            "horizon": self.horizon,
            "x_scaler": self.x_scaler.to_dict(),
            "y_scaler": self.y_scaler.to_dict(),
            "residual_sd": self.residual_sd,
            "best_epoch": self.best_epoch,
            "trained_on": self.trained_on,
            "history": self.history_,
            "pretrained": self.pretrained,
            "torch_version": torch.__version__,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.n_features = int(state["n_features"])
        self.horizon = int(state["horizon"])
        self.x_scaler = Standardizer.from_dict(state["x_scaler"])
        self.y_scaler = Standardizer.from_dict(state["y_scaler"])
        self.residual_sd = [float(v) for v in state.get("residual_sd", [])]
        self.best_epoch = int(state.get("best_epoch", 0))
        self.trained_on = str(state.get("trained_on", ""))
        self.history_ = list(state.get("history", []))
        self.pretrained = dict(state.get("pretrained") or {})

    def save_native(self, directory: Path) -> list[str]:
        if self.net is None:
            raise ModelError(f"{self.name}: nothing to save")
        buffer = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in self.net.state_dict().items()}, buffer)
        write_bytes_atomic(directory / WEIGHTS_FILE, buffer.getvalue())
        return [WEIGHTS_FILE]

    def load_native(self, directory: Path) -> None:
        path = directory / WEIGHTS_FILE
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read {path}: {exc}") from exc
        try:
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises several types for a corrupt or foreign file
            # one line, and never torch's own advice to retry with weights_only=False
            raise ModelError(
                f"{WEIGHTS_FILE} is not a valid weights file (truncated, damaged or not a saved "
                f"state_dict: {type(exc).__name__}); refusing to load it"
            ) from exc
        net = self.build_net(self.n_features, self.horizon)
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ModelError(f"{path} does not match the saved configuration: {exc}") from exc
        self.net = net.float().eval()


# ---------------------------------------------------------------------- the nets
class LstmForecaster(TorchForecaster):
    """Stacked LSTM (default 64 then 32 units, dropout 0.2) with a linear head."""

    name = "lstm"
    config_cls = LstmConfig
    config: LstmConfig

    def build_net(self, n_features: int, horizon: int) -> nn.Module:
        cfg = self.config
        return nets.RecurrentNet("lstm", n_features, cfg.hidden, cfg.dropout, horizon,
                                 n_outputs(cfg.loss))


class GruForecaster(TorchForecaster):
    """Stacked GRU (default 64 then 32 units) with a linear head."""

    name = "gru"
    config_cls = GruConfig
    config: GruConfig

    def build_net(self, n_features: int, horizon: int) -> nn.Module:
        cfg = self.config
        return nets.RecurrentNet("gru", n_features, cfg.hidden, cfg.dropout, horizon,
                                 n_outputs(cfg.loss))


class CnnForecaster(TorchForecaster):
    """1-D convolutions with pooling and a dense head."""

    name = "cnn"
    config_cls = CnnConfig
    config: CnnConfig

    def build_net(self, n_features: int, horizon: int) -> nn.Module:
        cfg = self.config
        return nets.CnnNet(n_features, cfg.lookback, cfg.channels, cfg.kernel_size, cfg.pool,
                           cfg.dense, cfg.dropout, horizon, n_outputs(cfg.loss))


class CnnGruForecaster(TorchForecaster):
    """Conv feature extractor feeding stacked GRUs, then a dense head."""

    name = "cnn_gru"
    config_cls = CnnGruConfig
    config: CnnGruConfig

    def build_net(self, n_features: int, horizon: int) -> nn.Module:
        cfg = self.config
        return nets.CnnGruNet(n_features, cfg.lookback, cfg.channels, cfg.kernel_size, cfg.pool,
                              cfg.hidden, cfg.dense, cfg.dropout, horizon, n_outputs(cfg.loss))


class TransformerForecaster(TorchForecaster):
    """Causal Transformer encoder with positional encoding over the lookback window."""

    name = "transformer"
    config_cls = TransformerConfig
    config: TransformerConfig

    def build_net(self, n_features: int, horizon: int) -> nn.Module:
        cfg = self.config
        return nets.TransformerNet(n_features, cfg.lookback, cfg.d_model, cfg.heads, cfg.layers,
                                   cfg.ff_size, cfg.dropout, horizon, n_outputs(cfg.loss))


# ---------------------------------------------------------------------- helpers
def make_inputs(
    frame: pd.DataFrame, inputs: str, target: str, external: tuple[str, ...] = ()
) -> np.ndarray:
    """Raw input columns per row; row t depends on rows t-1 and t only (causal, local).

    Returns mode: log return (and for ``ohlcv`` log(high/low), log(close/open), the change of
    log(1 + volume)). Price mode: the close level (and for ``ohlcv`` open, high, low, log(1 +
    volume)), as tutorials feed them. ``external`` columns (already joined causally, e.g. by
    :func:`cryptodesk.sentiment.aggregate.sentiment_features`) follow as they are.
    """
    missing = [c for c in external if c not in frame.columns]
    if missing:
        raise ModelError(f"the data lack the external column(s) {', '.join(missing)}")
    close = frame["close"].to_numpy(dtype=np.float64)
    cols: list[np.ndarray] = []
    with np.errstate(divide="ignore", invalid="ignore"):
        if target == "price":
            cols.append(close)
            if inputs == "ohlcv":
                cols += [frame[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low")]
                cols.append(np.log1p(np.maximum(frame["volume"].to_numpy(dtype=np.float64), 0.0)))
        else:
            ret = np.full(close.shape[0], np.nan)
            ret[1:] = np.diff(np.log(close))
            cols.append(ret)
            if inputs == "ohlcv":
                high, low, open_ = (frame[c].to_numpy(dtype=np.float64) for c in ("high", "low", "open"))
                cols += [np.log(high / low), np.log(close / open_)]
                lv = np.log1p(np.maximum(frame["volume"].to_numpy(dtype=np.float64), 0.0))
                dv = np.full(close.shape[0], np.nan)
                dv[1:] = np.diff(lv)
                cols.append(dv)
    cols += [frame[c].to_numpy(dtype=np.float64) for c in external]
    out = np.column_stack(cols)
    out[~np.isfinite(out)] = np.nan
    return out


def input_names(inputs: str, target: str, external: tuple[str, ...] = ()) -> list[str]:
    """Names of the columns :func:`make_inputs` returns, in order (explanations, charts)."""
    if target == "price":
        names = ["close"] + (["open", "high", "low", "log_volume"] if inputs == "ohlcv" else [])
    else:
        names = ["log_return"] + (["log_range", "log_body", "log_volume_change"]
                                  if inputs == "ohlcv" else [])
    return names + list(external)


def future_levels(close: np.ndarray, horizon: int) -> np.ndarray:
    """``(n, horizon)``: column h-1 holds ``close[t + h]`` (NaN past the end)."""
    return future_values(close, horizon)
