"""Walk-forward evaluation: the one path by which every model is tested, for CLI, GUI and bench.

The test window is the last ``test_size`` bars (or every bar from ``test_start``). Forecast
origins run from the bar just before the test window to the second-to-last bar, every
``stride`` bars. At origin t the model is refitted when due (first origin, then every
``refit_every`` origins; 0 = fit once) on the rows up to and including t (``expanding``), or
on the last ``train_size`` of them (``rolling``); then it forecasts from ``candles.iloc[:t+1]``.
Nothing after the origin is ever passed to the model: that slice is the whole guarantee against
look-ahead, and the contract tests check it by perturbing every later candle.

A model whose fits may run side by side (the nets on a machine with two cores or more:
:meth:`~cryptodesk.models.base.Forecaster.parallel_refits`) has its refits fitted ahead in
threads, each on its own instance (:mod:`cryptodesk.evaluation.refits_ahead`); the forecasts of
each block still come from that block's refit, and are the same as one refit after another.

Between refits a forecast is one ``predict`` call, which models keep cheap (features on the
needed tail only). Progress is reported per origin, cancellation is checked per origin and
inside fits, and each origin's forecasts are handed out as a :class:`ForecastBatch` partial
result, so the GUI can draw forecasts filling in while the run goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from cryptodesk.errors import CryptoDeskError, DataError
from cryptodesk.jobs import TaskContext, null_context
from cryptodesk.models.base import Forecaster
from cryptodesk.params import Params, param

BLOCK = 64  # most origins predicted in one predict_many call (cancellation, live drawing)
FORECAST_COLUMNS = (
    "origin", "target_time", "horizon", "forecast", "lower", "upper", "p_up", "actual",
    "last_close",
)


@dataclass(frozen=True)
class WalkForwardSpec(Params):
    """How to walk forward. JSON-able, validated, and drawable as a form like model configs."""

    error_cls: ClassVar[type[CryptoDeskError]] = DataError

    horizon: int = param(1, min=1, max=1000, label="Horizon (bars)",
                         help="Forecast steps ahead from each origin.")
    test_size: int | None = param(365, min=1, max=10_000_000, label="Test bars",
                                  help="Length of the test window (the last N bars).")
    test_start: str | None = param(None, label="Test start",
                                   help="ISO date of the first test bar (instead of a size).")
    stride: int = param(1, min=1, max=100_000, label="Stride",
                        help="Bars between consecutive forecast origins.")
    refit_every: int = param(30, min=0, max=10_000_000, label="Refit every (origins)",
                             help="Refit after this many origins; 0 = fit once.")
    window: Literal["expanding", "rolling"] = param(
        "expanding", label="Training window", help="Grow the training window, or slide it."
    )
    train_size: int | None = param(None, min=2, max=10_000_000, label="Rolling window bars",
                                   help="Rolling window length (default: all bars before the test).")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.test_size is None and self.test_start is None:
            raise DataError("walk-forward needs a test size or a test start date")
        if self.test_start is not None:
            try:
                pd.Timestamp(self.test_start)
            except (ValueError, TypeError) as exc:
                raise DataError(f"test start {self.test_start!r} is not a date") from exc


@dataclass(frozen=True)
class ForecastBatch:
    """Forecasts made at one origin (a partial result for live drawing)."""

    model: str
    origin: pd.Timestamp
    target_times: pd.DatetimeIndex
    forecast: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    p_up: np.ndarray | None
    actual: np.ndarray
    done: int
    total: int


@dataclass
class WalkForwardResult:
    """Every forecast of one model, with timings.

    ``forecasts`` has one row per (origin, horizon) with columns :data:`FORECAST_COLUMNS`;
    ``lower``/``upper`` are the 10 %/90 % quantiles and ``p_up`` P(up) (NaN when the model does
    not provide them); ``last_close`` is the close at the origin.
    """

    model: str
    config: dict[str, Any]
    spec: WalkForwardSpec
    forecasts: pd.DataFrame
    n_fits: int
    fit_seconds: float
    predict_seconds: float
    total_seconds: float
    test_start: pd.Timestamp
    train_rows_first: int
    cpu_seconds: float = 0.0  # process CPU time: comparable across machine load, unlike wall
    fits: list[dict[str, Any]] = field(default_factory=list)  # per refit: origin, rows, summary
    extra: dict[str, Any] = field(default_factory=dict)
    target: str = "price"  # what was forecast and scored: price or volatility


def value_column(target: str, candles: pd.DataFrame) -> str:
    """The column a walk-forward scores: ``close`` for prices, ``rv`` for volatility."""
    if target == "price":
        return "close"
    if target == "volatility":
        if "rv" not in candles.columns:
            raise DataError("a volatility walk-forward needs the realised-variance column; "
                            "build the frame with volatility_frame()")
        return "rv"
    raise DataError(f"unknown target {target!r}; known: price, volatility")


def first_test_row(candles: pd.DataFrame, spec: WalkForwardSpec) -> int:
    """Row number of the first test bar."""
    n = len(candles)
    if spec.test_start is not None:
        start = pd.Timestamp(spec.test_start)
        start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
        first = int(candles.index.searchsorted(start, side="left"))
    else:
        first = n - int(spec.test_size or 0)
    if first >= n:
        raise DataError("the test window is empty (test start after the last bar)")
    if first < 2:
        raise DataError(
            f"the test window ({n - max(first, 0)} bars) leaves no training data in {n} bars"
        )
    return first


def origins_of(candles: pd.DataFrame, spec: WalkForwardSpec) -> np.ndarray:
    """Row numbers of the forecast origins (each has at least its 1-step target in the data)."""
    first = first_test_row(candles, spec)
    return np.arange(first - 1, len(candles) - 1, spec.stride)


def _refits_at(step: int, spec: WalkForwardSpec) -> bool:
    """Whether the model is fitted at the ``step``-th origin: the first, then every
    ``refit_every`` origins (never again when it is 0)."""
    return step == 0 or bool(spec.refit_every and step % spec.refit_every == 0)


def _progress_at(forecasts: int, fits: int, total: int, n_fits: int, fit_share: float) -> float:
    """The model's progress after ``forecasts`` of ``total`` forecasts and ``fits`` of
    ``n_fits`` refits, the refits weighing ``fit_share``."""
    return fit_share * min(fits, n_fits) / n_fits + (1.0 - fit_share) * forecasts / total


def _refits_ahead(forecaster: Forecaster, candles: pd.DataFrame, windows: list[tuple[int, int]],
                  horizon: int, target: str, name: str) -> Any:
    """A :class:`~cryptodesk.evaluation.refits_ahead.RefitsAhead` when the model may fit
    several refits at once (:meth:`~cryptodesk.models.base.Forecaster.parallel_refits`) and
    there is more than one refit, else None (refit in place, one after the other)."""
    workers = min(forecaster.parallel_refits(), len(windows))
    if workers < 2:
        return None
    from cryptodesk.evaluation.refits_ahead import RefitsAhead

    config = forecaster.config
    return RefitsAhead(lambda: type(forecaster)(config), candles, windows, horizon, target,
                       workers, name)


def walk_forward(
    model: Forecaster | Callable[[], Forecaster],
    candles: pd.DataFrame,
    spec: WalkForwardSpec,
    ctx: TaskContext | None = None,
    target: str = "price",
    label: str | None = None,
    fit_share: float = 0.0,
) -> WalkForwardResult:
    """Run ``model`` through the walk-forward described by ``spec`` on ``candles``.

    ``target``: ``price`` scores the closes; ``volatility`` scores the realised variance of
    each target bar (the ``rv`` column of
    :func:`~cryptodesk.features.volatility.volatility_frame`): then ``actual`` is the realised
    variance at the target bar and ``last_close`` the one at the origin.

    ``model`` is an unfitted :class:`Forecaster` (refitted in place) or a factory returning a
    fresh one; ``label`` names its results and events (default: the model's name).
    ``fit_share``: the part of the run's time its refits are expected to take; that part of
    the progress moves inside the fits (a net's epochs) instead of standing still while they
    run (0: progress counts forecasts only).

    Raises :class:`DataError` when the data are too short for the spec, and
    :class:`~cryptodesk.jobs.Cancelled` when cancelled (partial results already handed out
    stay valid).
    """
    ctx = ctx or null_context()
    forecaster = model() if callable(model) and not isinstance(model, Forecaster) else model
    started, cpu_started = time.perf_counter(), time.process_time()
    n = len(candles)
    origins = origins_of(candles, spec)
    first_test = int(origins[0]) + 1
    train_size = spec.train_size or first_test
    need = max(forecaster.min_train_bars(), forecaster.min_history())
    if (first_test if spec.window == "expanding" else min(train_size, first_test)) < need:
        raise DataError(
            f"{forecaster.name} needs {need} training bars before the test window; "
            f"there are {first_test}"
        )
    index = candles.index
    close = candles[value_column(target, candles)].to_numpy(dtype=np.float64)
    h_max = spec.horizon
    total = len(origins)
    n_fits_expected = 1 if not spec.refit_every else -(-total // spec.refit_every)
    fit_share = min(max(float(fit_share), 0.0), 0.98)
    rows_o, rows_h = [], []
    values: dict[str, list[np.ndarray]] = {k: [] for k in ("forecast", "lower", "upper", "p_up")}
    n_fits, fit_s, pred_s = 0, 0.0, 0.0
    fits: list[dict[str, Any]] = []
    train_rows_first = 0
    name = label or forecaster.name
    pending: list[Any] = []  # forecasts of the current block, one per origin
    windows = [(0 if spec.window == "expanding" else max(0, int(o) + 1 - train_size), int(o) + 1)
               for step, o in enumerate(origins) if _refits_at(step, spec)]
    ahead = _refits_ahead(forecaster, candles, windows, h_max, target, name)
    try:
        for step, o in enumerate(origins):
            ctx.check_cancelled()
            o = int(o)
            refit = _refits_at(step, spec)
            if refit:
                lo = windows[n_fits][0]
                lo_frac = _progress_at(step, n_fits, total, n_fits_expected, fit_share)
                fit_ctx = ctx.child(lo_frac, lo_frac + fit_share / n_fits_expected, f"{name}: ")
                if ahead is not None:
                    forecaster, seconds = ahead.take(n_fits, fit_ctx)
                    fit_s += seconds
                else:
                    t0 = time.perf_counter()
                    forecaster.fit(candles.iloc[lo : o + 1], fit_ctx, horizon=h_max,
                                   target=target)
                    fit_s += time.perf_counter() - t0
                fits.append({"origin": index[o].isoformat(), "train_rows": o + 1 - lo,
                             **forecaster.fit_summary()})
                if n_fits == 0:
                    train_rows_first = o + 1 - lo
                n_fits += 1
            if refit or not pending:
                # one predict_many call per block of origins between refits (at most BLOCK): a
                # model with a batch path builds its inputs once; each forecast still uses rows
                # up to its own origin only (the contract tests perturb the rows after it)
                stop = min(len(origins), step + BLOCK)
                if spec.refit_every:
                    stop = min(stop, (step // spec.refit_every + 1) * spec.refit_every)
                block = origins[step:stop]
                t0 = time.perf_counter()
                pending = forecaster.predict_many(candles.iloc[: int(block[-1]) + 1], block, h_max)
                pred_s += time.perf_counter() - t0
            fc = pending.pop(0)
            steps = min(h_max, n - 1 - o)  # targets past the end of the data are not evaluated
            nan = np.full(steps, np.nan)
            parts = {
                "forecast": fc.point[:steps],
                "lower": nan if fc.q10 is None else fc.q10[:steps],
                "upper": nan if fc.q90 is None else fc.q90[:steps],
                "p_up": nan if fc.p_up is None else fc.p_up[:steps],
            }
            for key, arr in parts.items():
                values[key].append(arr)
            rows_o.append(np.full(steps, o))
            rows_h.append(np.arange(1, steps + 1))
            ctx.partial(
                ForecastBatch(
                    model=name, origin=index[o], target_times=index[o + 1 : o + 1 + steps],
                    forecast=parts["forecast"],
                    lower=None if fc.q10 is None else parts["lower"],
                    upper=None if fc.q90 is None else parts["upper"],
                    p_up=None if fc.p_up is None else parts["p_up"],
                    actual=close[o + 1 : o + 1 + steps], done=step + 1, total=total,
                )
            )
            ctx.progress(_progress_at(step + 1, n_fits, total, n_fits_expected, fit_share),
                         f"{name}: {step + 1}/{total} forecasts")
    finally:
        if ahead is not None:
            ahead.close()
    origin_pos = np.concatenate(rows_o)
    horizons = np.concatenate(rows_h)
    target_pos = origin_pos + horizons
    frame = pd.DataFrame(
        {
            "origin": index[origin_pos],
            "target_time": index[target_pos],
            "horizon": horizons.astype(np.int64),
            **{k: np.concatenate(v) for k, v in values.items()},
            "actual": close[target_pos],
            "last_close": close[origin_pos],
        }
    )
    return WalkForwardResult(
        model=name,
        config=forecaster.config.to_dict(),
        spec=spec,
        forecasts=frame,
        n_fits=n_fits,
        fit_seconds=fit_s,
        predict_seconds=pred_s,
        total_seconds=time.perf_counter() - started,
        test_start=index[first_test],
        train_rows_first=train_rows_first,
        cpu_seconds=time.process_time() - cpu_started,
        fits=fits,
        target=target,
    )
