"""Market regimes: a label per bar from a causal model fit on the training window only.

A model trained in a calm bull market may fail when volatility jumps; splitting every metric by
regime shows where the edge (or the loss) comes from.

- **Volatility regimes** (:func:`vol_regimes`): the realised volatility at bar t is the sd of the
  last ``window`` log returns ending at t (closes up to t only). Its quantiles (default terciles)
  are computed over the training bars only (before the test window), then every bar is labelled
  ``low`` / ``mid`` / ``high`` against those fixed cuts. Nothing after t changes the label at t.
- **Markov switching** (:func:`markov_regimes`, optional): a 2-state Markov-switching model of
  log returns with switching mean and variance (statsmodels ``MarkovRegression``) is fit on the
  training bars; the test bars are labelled ``calm`` / ``turbulent`` from the *filtered*
  probabilities (Hamilton filter: uses data up to t only), never the smoothed ones.

Bars without enough history are labelled ``n/a``. When splitting a strategy's returns, bar j is
put in the regime known at the close of bar j-1, when the position for bar j was decided
(:func:`split_by_regime`), so the split itself does not look ahead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cryptodesk.data.timeframes import timeframe_seconds
from cryptodesk.errors import DataError
from cryptodesk.evaluation.trading_metrics import compute_metrics
from cryptodesk.features.indicators import rolling_volatility

UNKNOWN = "n/a"


@dataclass
class Regimes:
    """Labels per bar (``labels``: a string Series on the candle index) and how they were made.

    ``order`` lists the labels from calm to turbulent (for legends and shading colours).
    """

    method: str
    labels: pd.Series
    order: tuple[str, ...]
    params: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """JSON-able summary (method, params, bars per label), without the per-bar series."""
        counts = self.labels.value_counts()
        return {"method": self.method, "order": list(self.order), "params": self.params,
                "bars": {k: int(counts.get(k, 0)) for k in (*self.order, UNKNOWN)}}


def default_vol_window(timeframe: str) -> int:
    """30 days of bars, at most 168 (a week of hours) and at least 20."""
    bars_30d = 30 * 86_400 / timeframe_seconds(timeframe)
    return int(max(20, min(round(bars_30d), 168)))


def vol_regimes(
    candles: pd.DataFrame, train_end: int, *, window: int | None = None,
    quantiles: tuple[float, ...] = (1 / 3, 2 / 3),
) -> Regimes:
    """Volatility regimes with cuts fit on rows ``[0, train_end)`` (the training window)."""
    tf = str(candles.attrs.get("timeframe") or "1d")
    window = window or default_vol_window(tf)
    if not 0 < train_end <= len(candles):
        raise DataError("the regime training window is empty")
    vol = rolling_volatility(candles["close"].to_numpy(np.float64), window)
    train = vol[:train_end]
    train = train[np.isfinite(train)]
    if train.size < 10:
        raise DataError(f"too few training bars ({train.size}) to fit volatility regimes")
    cuts = np.quantile(train, quantiles)
    names = _vol_names(len(cuts))
    codes = np.searchsorted(cuts, vol, side="right")
    labels = np.where(np.isfinite(vol), np.asarray(names, dtype=object)[codes], UNKNOWN)
    return Regimes(
        method="volatility", labels=pd.Series(labels, index=candles.index, name="regime"),
        order=names,
        params={"window": window, "quantiles": list(quantiles),
                "cuts_annualised": [float(c) * math.sqrt(365 * 86_400 / timeframe_seconds(tf))
                                    for c in cuts],
                "fit_until": candles.index[train_end - 1].isoformat()},
    )


def _vol_names(n_cuts: int) -> tuple[str, ...]:
    if n_cuts == 1:
        return ("low", "high")
    if n_cuts == 2:
        return ("low", "mid", "high")
    return tuple(f"q{i + 1}" for i in range(n_cuts + 1))


def markov_regimes(candles: pd.DataFrame, train_end: int, *, max_train: int = 3000) -> Regimes:
    """2-state Markov-switching regimes fit on (the last ``max_train`` of) rows before
    ``train_end``, applied with the filtered probabilities (causal)."""
    import warnings

    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    close = candles["close"].to_numpy(np.float64)
    logret = np.diff(np.log(close)) * 100.0  # percent: better conditioned likelihood
    lo = max(0, train_end - 1 - max_train)
    train = logret[lo : train_end - 1]
    train = train[np.isfinite(train)]
    if train.size < 50:
        raise DataError("too few training bars to fit a Markov-switching model")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = MarkovRegression(train, k_regimes=2, trend="c", switching_variance=True).fit(
            disp=False
        )
        params = np.asarray(fitted.params)
        full = MarkovRegression(np.nan_to_num(logret), k_regimes=2, trend="c",
                                switching_variance=True)
        probs = np.asarray(full.filter(params).filtered_marginal_probabilities)
    names = list(full.param_names)
    sig = [params[names.index(f"sigma2[{k}]")] for k in (0, 1)]
    hi = int(np.argmax(sig))
    p_turb = np.concatenate([[np.nan], probs[:, hi]])  # bar 0 has no return
    labels = np.where(np.isnan(p_turb), UNKNOWN, np.where(p_turb > 0.5, "turbulent", "calm"))
    return Regimes(
        method="markov", labels=pd.Series(labels, index=candles.index, name="regime"),
        order=("calm", "turbulent"),
        params={"sigma_pct": [float(math.sqrt(s)) for s in sorted(sig)],
                "fit_from": candles.index[lo].isoformat(),
                "fit_until": candles.index[train_end - 1].isoformat()},
    )


def regimes_for(candles: pd.DataFrame, train_end: int, method: str = "volatility") -> Regimes:
    """Regimes by name: ``volatility`` (or ``vol``) or ``markov``."""
    key = method.strip().lower()
    if key in ("volatility", "vol"):
        return vol_regimes(candles, train_end)
    if key == "markov":
        return markov_regimes(candles, train_end)
    raise DataError(f"unknown regime method {method!r}; use vol or markov")


def decision_regime(bars_index: pd.DatetimeIndex, regimes: Regimes) -> pd.Series:
    """The regime known when each bar's position was decided (the previous bar's label)."""
    shifted = regimes.labels.shift(1).fillna(UNKNOWN)
    return shifted.reindex(bars_index).fillna(UNKNOWN)


def split_by_regime(bars: pd.DataFrame, regimes: Regimes, bpy: float) -> pd.DataFrame:
    """Per-bar metrics of a strategy's ``bars`` (``return``, ``position``) in each regime.

    Rows follow ``regimes.order`` (plus ``n/a`` when present); columns are the
    :class:`~cryptodesk.evaluation.trading_metrics.TradingMetrics` fields without the per-trade
    ones (a trade can span regimes). Returns within a regime are compounded as if contiguous.
    """
    regime = decision_regime(bars.index, regimes).to_numpy()
    rows = {}
    for name in (*regimes.order, UNKNOWN):
        keep = regime == name
        if not keep.any():
            continue
        m = compute_metrics(bars["return"].to_numpy()[keep], bpy,
                            positions=bars["position"].to_numpy()[keep]).to_dict()
        for k in ("hit_rate", "profit_factor", "n_trades", "turnover", "max_drawdown_bars"):
            m.pop(k, None)
        rows[name] = m
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "regime"
    return frame
