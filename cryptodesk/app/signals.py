"""Trading signals from a run's forecasts: equity curves, trading metrics, regimes and health.

:func:`signals_view` turns a backtest report into what a desk shows beside the forecasts: the
strategy's equity and drawdown per model with buy-and-hold, the headline trading metrics, the
degradation monitor's verdict per model, and the volatility regimes as shaded spans. The result
is plain arrays and dicts (:class:`SignalsView`), so it travels from a worker process as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.app.jobs import wire


@dataclass(frozen=True)
class SignalsView:
    """What a desk draws of a run's trading backtest.

    ``curves``: strategy name -> (x epoch seconds, equity, drawdown); ``metrics``: name ->
    sharpe / max_drawdown / total_return (fractions); ``monitoring``: model -> its verdict
    (``status``, ``degraded``, ``reasons``...); ``regime_x0/x1/level``: shaded spans of every
    label above the calmest, with ``regime_order`` from calm to turbulent; ``report``: the
    trading report JSON (schema ``cryptodesk.trading/1``).
    """

    strategy: str
    curves: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    metrics: dict[str, dict[str, float | None]]
    monitoring: dict[str, dict[str, Any]]
    regime_x0: np.ndarray
    regime_x1: np.ndarray
    regime_level: np.ndarray
    regime_order: tuple[str, ...]
    benchmark: str
    report: dict[str, Any]


wire.register(SignalsView)


def signals_view(trading: Any, candles: pd.DataFrame) -> SignalsView:
    """The view of a trading report (every model's forecasts traded by one strategy, with
    buy-and-hold, regimes and each model's health) on the candles it traded."""
    from cryptodesk.evaluation.trading_report import BUY_HOLD

    tr = trading
    curves, metrics = {}, {}
    for name in tr.models:
        bars = tr.results[name].bars
        x = bars.index.as_unit("ns").asi8 / 1e9
        curves[name] = (x, bars["equity"].to_numpy(np.float64),
                        bars["drawdown"].to_numpy(np.float64))
        values = tr.metrics[name].to_dict()
        metrics[name] = {k: values.get(k) for k in ("sharpe", "max_drawdown", "total_return")}
    monitoring = {name: st.to_dict() for name, st in tr.monitoring.items()}
    x0, x1, level, order = regime_spans(tr.regimes, candles)
    return SignalsView(tr.spec.label(), curves, metrics, monitoring, x0, x1, level, order,
                       BUY_HOLD, tr.to_json(series=False))


def regime_spans(regimes: Any, candles: pd.DataFrame) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray, tuple[str, ...]]:
    """Runs of bars labelled above the calmest regime, as (x0, x1, level) arrays."""
    empty = (np.array([]), np.array([]), np.array([], dtype=np.int64), ())
    if regimes is None:
        return empty
    from cryptodesk.data.timeframes import timeframe_seconds

    order = tuple(regimes.order)
    rank = {name: i for i, name in enumerate(order)}
    labels = regimes.labels.reindex(candles.index)
    level = np.array([rank.get(v, 0) for v in labels.to_numpy()], dtype=np.int64)
    if not level.size:
        return empty
    x = candles.index.as_unit("ns").asi8 / 1e9
    step = float(timeframe_seconds(str(candles.attrs.get("timeframe") or "1d")))
    change = np.flatnonzero(np.diff(level)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [level.size]])
    keep = level[starts] > 0
    starts, ends = starts[keep], ends[keep]
    return x[starts], x[ends - 1] + step, level[starts], order
