"""Turn walk-forward forecasts into positions and an equity curve, honestly.

Only out-of-sample forecasts (the frame :func:`~cryptodesk.evaluation.walkforward.walk_forward`
produces) are accepted, so a signal can never come from an in-sample fit.

Timing convention (the whole look-ahead guarantee, tested in ``tests/unit/test_strategy*.py``):

- a decision is made **at the close of bar t** from the forecast whose ``origin`` is t (only
  forecasts issued at or before t exist then; with ``stride`` > 1 the last decision is held);
- it is **filled at the open of bar t+1**;
- bar j's return is marked close to close: the position held during bar j-1 earns the gap
  ``open_j / close_{j-1} - 1`` (zero in a 24/7 market, not always in daily files), then the fill
  is charged, then the new position earns ``close_j / open_j - 1``::

      1 + r_j = (1 + q_{j-1} gap_j) (1 - |q_j - q_{j-1}| (fee + slippage)) (1 + q_j intra_j)
                (1 - max(-q_j, 0) funding)

Positions ``q`` are fractions of equity (1 = fully long, -1 = fully short), reset to target at
each open; the small trades that keep a short's fraction constant as prices move are not
charged. Fees and slippage (basis points of traded notional) are charged on every change of
position; the optional funding cost (basis points per bar) on the short part only. The last
position is marked to the last close, not closed out.

Signal rules (``expected return`` r = forecast / last close - 1 of the horizon-1 forecast):
``sign`` (long if r > 0; short if r < 0 when shorts are allowed), ``prob`` (long if P(up) >
threshold, short if P(up) < 1 - threshold), ``hurdle`` (long if r > hurdle, short if r <
-hurdle; the default hurdle is the round-trip cost). A NaN input gives a flat position.

Sizing: ``fixed`` (|q| = fraction) or ``voltarget`` (|q| = annual target / predicted annual
volatility, capped at ``max_leverage``). The predicted volatility comes from the model's own
10–90 % interval (log width / 2.563, the normal q10–q90 span) or, where the model has none,
from the realised volatility of the last ``vol_window`` log returns up to the decision bar.
Annualisation uses :func:`~cryptodesk.data.timeframes.bars_per_year` (365 days, 24/7).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import ClassVar, Literal

import numpy as np
import pandas as pd

from cryptodesk.data.timeframes import bars_per_year
from cryptodesk.errors import CryptoDeskError, DataError
from cryptodesk.features.indicators import rolling_volatility
from cryptodesk.models.base import Z90
from cryptodesk.params import Params, param

Rule = Literal["sign", "prob", "hurdle"]
Sizing = Literal["fixed", "voltarget"]
BPS = 1e-4


@dataclass(frozen=True)
class StrategySpec(Params):
    """How forecasts become positions and what trading costs.

    ``threshold``: P(up) threshold of ``prob`` (default 0.55) or the hurdle of ``hurdle`` as a
    fraction (None = round-trip cost). ``tune``: pick the threshold on earlier folds only (see
    :mod:`cryptodesk.evaluation.trading_report`). A :class:`~cryptodesk.params.Params`, so the
    GUI draws it as a form and a run spec stores it as JSON.
    """

    error_cls: ClassVar[type[CryptoDeskError]] = DataError

    rule: Rule = param("sign", label="Rule",
                       help="sign: long when the forecast is above the last close; prob: when "
                            "P(up) clears the threshold; hurdle: when the expected return "
                            "clears the hurdle.")
    threshold: float | None = param(None, min=0.0, max=1.0, label="Threshold",
                                    help="P(up) threshold (prob) or hurdle as a fraction "
                                         "(hurdle); empty: 0.55 / the round-trip cost.")
    tune: bool = param(False, label="Tune threshold",
                       help="Pick the threshold on earlier folds only.")
    long_short: bool = param(False, label="Long/short", help="Off: long or flat.")
    sizing: Sizing = param("fixed", label="Sizing")
    fraction: float = param(1.0, min=1e-6, max=100.0, label="Fraction",
                            help="Share of equity per position (fixed sizing).")
    vol_target: float = param(0.4, min=1e-6, max=100.0, label="Vol target (annual)",
                              advanced=True)
    vol_source: Literal["interval", "realised"] = param("interval", label="Vol source",
                                                        advanced=True)
    vol_window: int = param(30, min=2, max=100_000, label="Vol window (bars)", advanced=True)
    max_leverage: float = param(1.0, min=1e-6, max=100.0, label="Max leverage", advanced=True)
    fee_bps: float = param(10.0, min=0.0, max=10_000.0, label="Fee (bps)")
    slippage_bps: float = param(5.0, min=0.0, max=10_000.0, label="Slippage (bps)")
    funding_bps: float = param(0.0, min=0.0, max=10_000.0, label="Short funding (bps/bar)",
                               advanced=True)
    horizon: int = param(1, min=1, max=1000, label="Horizon traded", advanced=True)

    def __post_init__(self) -> None:
        super().__post_init__()  # types and ranges
        if self.rule == "prob" and self.threshold is not None and not 0.5 <= self.threshold < 1:
            raise DataError("the P(up) threshold must be in [0.5, 1)")

    @property
    def cost(self) -> float:
        """Cost of trading one unit of equity, as a fraction (fee + slippage)."""
        return (self.fee_bps + self.slippage_bps) * BPS

    def effective_threshold(self) -> float:
        """The threshold the rule uses (defaults filled in)."""
        if self.rule == "prob":
            return 0.55 if self.threshold is None else float(self.threshold)
        if self.rule == "hurdle":
            return 2 * self.cost if self.threshold is None else float(self.threshold)
        return 0.0

    def label(self) -> str:
        """Short human description, e.g. ``prob>0.55 long/flat fixed:1 fee 10+5 bps``."""
        if self.rule == "sign":
            rule = "sign"
        elif self.tune:
            rule = f"{self.rule}:tuned"
        elif self.rule == "prob":
            rule = f"prob>{self.effective_threshold():g}"
        else:
            rule = f"hurdle {self.effective_threshold() / BPS:g} bps"
        side = "long/short" if self.long_short else "long/flat"
        size = (f"fixed:{self.fraction:g}" if self.sizing == "fixed"
                else f"voltarget:{self.vol_target:g}")
        text = f"{rule} {side} {size}; fee {self.fee_bps:g} + slippage {self.slippage_bps:g} bps"
        if self.funding_bps:
            text += f"; short funding {self.funding_bps:g} bps/bar"
        return text



def parse_strategy(text: str) -> dict[str, object]:
    """``sign`` | ``prob[:0.55|:auto]`` | ``hurdle[:BPS|:auto]`` -> StrategySpec fields."""
    name, _, arg = str(text).strip().lower().partition(":")
    if name not in ("sign", "prob", "hurdle"):
        raise DataError(f"--strategy {text!r}: use sign, prob:0.55 or hurdle[:bps]")
    if name == "sign":
        if arg:
            raise DataError("--strategy sign takes no argument")
        return {"rule": "sign"}
    if arg in ("", "default"):
        return {"rule": name}
    if arg == "auto":
        return {"rule": name, "tune": True}
    try:
        value = float(arg)
    except ValueError:
        raise DataError(f"--strategy {text!r}: {arg!r} is not a number") from None
    return {"rule": name, "threshold": value if name == "prob" else value * BPS}


def parse_sizing(text: str) -> dict[str, object]:
    """``fixed[:1]`` | ``voltarget[:0.4]`` -> StrategySpec fields."""
    name, _, arg = str(text).strip().lower().partition(":")
    if name not in ("fixed", "voltarget"):
        raise DataError(f"--sizing {text!r}: use fixed:1 or voltarget:0.4")
    out: dict[str, object] = {"sizing": name}
    if arg:
        try:
            value = float(arg)
        except ValueError:
            raise DataError(f"--sizing {text!r}: {arg!r} is not a number") from None
        out["fraction" if name == "fixed" else "vol_target"] = value
    return out


@dataclass
class StrategyResult:
    """One strategy run, as plain data a table or a chart can draw.

    ``bars``: one row per test bar (UTC index ``time``) with ``signal`` (target decided at this
    bar's close), ``position`` (held during this bar, filled at its open), ``trade`` (change at
    this bar's open), ``cost``, ``funding``, ``return``, ``equity`` (starts from 1 before the
    first bar) and ``drawdown`` (<= 0). ``fills``: one row per position change. ``trades``:
    one row per round trip (a run of same-sign positions) with its additive P&L.
    """

    name: str
    spec: StrategySpec
    timeframe: str
    bars: pd.DataFrame
    fills: pd.DataFrame
    trades: pd.DataFrame
    info: dict[str, object] = field(default_factory=dict)

    @property
    def returns(self) -> np.ndarray:
        """Per-bar returns (fractions)."""
        return self.bars["return"].to_numpy()


def one_step(forecasts: pd.DataFrame, horizon: int = 1) -> pd.DataFrame:
    """The forecasts of step ``horizon``, one row per origin, sorted by origin."""
    needed = {"origin", "horizon", "forecast", "last_close"}
    missing = needed - set(forecasts.columns)
    if missing:
        raise DataError(f"forecasts lack column(s): {', '.join(sorted(missing))}")
    f = forecasts[forecasts["horizon"] == horizon]
    if f.empty:
        raise DataError(f"no horizon-{horizon} forecasts to trade on")
    if f["origin"].duplicated().any():
        raise DataError("forecasts have duplicate origins for one horizon")
    return f.sort_values("origin", kind="stable")


def expected_return(f: pd.DataFrame) -> np.ndarray:
    """Forecast simple return from the close at the origin."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return f["forecast"].to_numpy(np.float64) / f["last_close"].to_numpy(np.float64) - 1.0


def direction(f: pd.DataFrame, spec: StrategySpec, threshold: float | None = None) -> np.ndarray:
    """-1/0/+1 per origin from the rule; NaN inputs give 0."""
    thr = spec.effective_threshold() if threshold is None else threshold
    if spec.rule == "prob":
        p = f["p_up"].to_numpy(np.float64) if "p_up" in f.columns else np.full(len(f), np.nan)
        up, down = p > thr, p < 1.0 - thr
    else:
        r = expected_return(f)
        cut = thr if spec.rule == "hurdle" else 0.0
        up, down = r > cut, r < -cut
    d = up.astype(np.float64)
    if spec.long_short:
        d -= down.astype(np.float64)
    return d


def size(
    f: pd.DataFrame, positions: np.ndarray, spec: StrategySpec, timeframe: str,
    realised: np.ndarray | None = None,
) -> tuple[np.ndarray, str]:
    """|q| per origin and the volatility source used (``fixed``, ``interval``, ``realised``).

    ``realised``: realised per-bar vol at each origin (needed for ``voltarget`` when the model
    has no interval, or when ``vol_source='realised'``).
    """
    if spec.sizing == "fixed":
        return np.full(len(f), spec.fraction), "fixed"
    target = spec.vol_target / math.sqrt(bars_per_year(timeframe))
    sigma = np.full(len(f), np.nan)
    source = "realised"
    if spec.vol_source == "interval" and {"lower", "upper"} <= set(f.columns):
        lo, hi = f["lower"].to_numpy(np.float64), f["upper"].to_numpy(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            sigma = np.log(hi / lo) / (2 * Z90) / math.sqrt(spec.horizon)
        if np.isfinite(sigma).any():
            source = "interval"
    if source == "realised":
        if realised is None:
            raise DataError("volatility targeting without an interval needs realised vol")
        sigma = realised
    with np.errstate(divide="ignore", invalid="ignore"):
        lev = np.where(sigma > 0, target / sigma, 0.0)
    lev = np.where(np.isfinite(lev), np.minimum(lev, spec.max_leverage), 0.0)
    return lev, source


def decisions(
    forecasts: pd.DataFrame, candles: pd.DataFrame, spec: StrategySpec,
    threshold: float | None = None,
) -> tuple[pd.Series, dict[str, object]]:
    """Target position decided at the close of each origin bar (index = origin times).

    Uses only the forecast issued at that origin (and, for realised-vol sizing, closes up to
    that bar); never ``actual``.
    """
    f = one_step(forecasts, spec.horizon)
    timeframe = str(candles.attrs.get("timeframe") or "1d")
    pos = candles.index.get_indexer(pd.DatetimeIndex(f["origin"]))
    if (pos < 0).any():
        raise DataError("forecast origins are not bars of these candles")
    d = direction(f, spec, threshold)
    realised = None
    if spec.sizing == "voltarget":
        realised = rolling_volatility(candles["close"].to_numpy(np.float64), spec.vol_window,
                                      spec.vol_window // 2)[pos]
    lev, source = size(f, d, spec, timeframe, realised)
    target = d * lev
    return (pd.Series(target, index=candles.index[pos], name="target"),
            {"vol_source": source, "origins": len(f)})


def simulate(
    candles: pd.DataFrame, targets: pd.Series, spec: StrategySpec, name: str = "strategy",
    info: dict[str, object] | None = None,
) -> StrategyResult:
    """Fill ``targets`` (decided at bar closes) at the next opens and build the equity curve.

    The test bars are those after the first decision bar, up to the last candle.
    """
    index = candles.index
    n = len(index)
    pos = index.get_indexer(targets.index)
    if (pos < 0).any():
        raise DataError("decision times are not bars of these candles")
    if len(pos) == 0:
        raise DataError("no decisions to trade")
    order = np.argsort(pos, kind="stable")
    pos, values = pos[order], targets.to_numpy(np.float64)[order]
    start = int(pos[0])
    if start >= n - 1:
        raise DataError("the first decision is at the last bar: nothing to trade")
    decided = np.full(n, np.nan)
    decided[pos] = np.where(np.isfinite(values), values, 0.0)
    held = pd.Series(decided).ffill().fillna(0.0).to_numpy()
    # Position during bar j = decision at close j-1; test bars are start+1 .. n-1.
    q = held[start : n - 1]
    q_prev = np.concatenate([[0.0], q[:-1]])
    close = candles["close"].to_numpy(np.float64)
    open_ = candles["open"].to_numpy(np.float64)
    c_prev, o, c = close[start : n - 1], open_[start + 1 :], close[start + 1 :]
    o = np.where(np.isfinite(o) & (o > 0), o, c_prev)  # a missing open: fill at the last close
    gap, intra = o / c_prev - 1.0, c / o - 1.0
    trade = q - q_prev
    cost = np.abs(trade) * spec.cost
    funding = np.maximum(-q, 0.0) * spec.funding_bps * BPS
    ret = (1 + q_prev * gap) * (1 - cost) * (1 + q * intra) * (1 - funding) - 1.0
    equity = np.cumprod(1.0 + ret)
    peak = np.maximum.accumulate(np.concatenate([[1.0], equity]))[1:]
    bars = pd.DataFrame(
        {"signal": held[start + 1 :], "position": q, "trade": trade, "cost": cost,
         "funding": funding, "return": ret, "equity": equity, "drawdown": equity / peak - 1.0},
        index=index[start + 1 :],
    )
    bars.index.name = "time"
    fills = _fills(bars, o)
    trades = _trades(q, q_prev, gap, intra, cost, funding, index[start + 1 :])
    return StrategyResult(name=name, spec=spec, timeframe=str(candles.attrs.get("timeframe") or
                                                                "1d"),
                          bars=bars, fills=fills, trades=trades, info=dict(info or {}))


def run_strategy(
    forecasts: pd.DataFrame, candles: pd.DataFrame, spec: StrategySpec, name: str = "strategy",
) -> StrategyResult:
    """Decisions from ``forecasts`` filled on ``candles``: :func:`decisions` + :func:`simulate`."""
    targets, info = decisions(forecasts, candles, spec)
    return simulate(candles, targets, spec, name, info)


def buy_and_hold(candles: pd.DataFrame, first_bar: pd.Timestamp, spec: StrategySpec,
                 name: str = "buy&hold") -> StrategyResult:
    """Fully long from the open of ``first_bar`` to the last close, charged one entry fill.

    Same engine and costs as the strategies, so the comparison is like for like.
    """
    i = int(candles.index.get_indexer([first_bar])[0])
    if i < 1:
        raise DataError("buy-and-hold needs a bar before the first test bar")
    targets = pd.Series(1.0, index=candles.index[i - 1 : i])
    plain = replace(spec, funding_bps=0.0)
    return simulate(candles, targets, plain, name, {"vol_source": "none"})


def _fills(bars: pd.DataFrame, open_: np.ndarray) -> pd.DataFrame:
    changed = bars["trade"].to_numpy() != 0
    return pd.DataFrame({
        "time": bars.index[changed], "price": open_[changed],
        "from": (bars["position"] - bars["trade"]).to_numpy()[changed],
        "to": bars["position"].to_numpy()[changed], "cost": bars["cost"].to_numpy()[changed],
    })


def _trades(q: np.ndarray, q_prev: np.ndarray, gap: np.ndarray, intra: np.ndarray,
            cost: np.ndarray, funding: np.ndarray, times: pd.DatetimeIndex) -> pd.DataFrame:
    """Round trips with additive P&L (fractions of equity).

    Bar j's parts go to the trade they belong to: the gap to the position held before the open,
    the rest to the one held after; on an exit or a flip the fill cost is split into the exit
    part (|q_{j-1}| x cost) and the entry part (|q_j| x cost).
    """
    s, s_prev = np.sign(q), np.sign(q_prev)
    starts = (s != 0) & (s != s_prev)
    ids = np.cumsum(starts) - 1
    ids = np.where(s != 0, ids, -1)
    ids_prev = np.concatenate([[-1], ids[:-1]])
    n_trades = int(starts.sum())
    cols = ["entry", "exit", "side", "bars", "pnl"]
    if n_trades == 0:
        return pd.DataFrame({c: [] for c in cols})
    unit = np.divide(cost, np.abs(q - q_prev), out=np.zeros_like(cost), where=(q != q_prev))
    same = (s == s_prev) & (s != 0)
    exit_cost = np.where(same, 0.0, np.abs(q_prev) * unit)
    entry_cost = np.where(same, cost, np.abs(q) * unit)
    pnl = np.zeros(n_trades)
    own = ids >= 0
    np.add.at(pnl, ids[own], (q * intra - entry_cost - funding)[own])
    before = ids_prev >= 0
    np.add.at(pnl, ids_prev[before], (q_prev * gap - exit_cost)[before])
    bars = np.bincount(ids[own], minlength=n_trades)
    first = np.flatnonzero(starts)
    last = first + bars - 1
    return pd.DataFrame({
        "entry": times[first], "exit": times[last], "side": s[first].astype(int),
        "bars": bars, "pnl": pnl,
    })
