"""Risk-adjusted performance of per-bar strategy returns, and whether the best one is luck.

Conventions (unit-tested against hand-computed values in ``tests/unit/test_trading_metrics*``):

- returns are simple, per bar, fractions; the equity starts at 1 before the first bar;
- annualisation uses ``bpy`` = :func:`~cryptodesk.data.timeframes.bars_per_year` (crypto trades
  24/7, so a year is 365 days: 365 daily bars, 8,760 hourly bars); ``years = n / bpy``;
- the risk-free rate is 0 (there is no natural one for a coin; the number stays comparable with
  buy-and-hold, which carries the same omission);
- ``sharpe = mean(r) / sd(r, ddof=1) * sqrt(bpy)``; ``sortino = mean(r) / sqrt(mean(min(r,
  0)^2)) * sqrt(bpy)`` (target 0, downside over all bars); ``volatility = sd(r) * sqrt(bpy)``;
- ``total_return = prod(1 + r) - 1``; ``cagr = (1 + total_return) ** (1 / years) - 1``;
- ``max_drawdown`` is <= 0 (worst ``equity / running peak - 1``, the initial 1 counting as a
  peak); its ``duration`` is the longest run of bars spent below a previous peak (to the end if
  never recovered); ``calmar = cagr / |max_drawdown|``;
- ``hit_rate`` and ``profit_factor`` are per round-trip trade (additive P&L from
  :mod:`.strategy`); ``turnover`` = sum |position change| per year; ``exposure`` = share of bars
  with a non-zero position;
- a quantity that is undefined (Sharpe of a strategy that never trades) is NaN, shown as '-'.

Selection bias: :func:`probabilistic_sharpe` is the PSR of Bailey & López de Prado (2012),
``Phi((SR - SR*) sqrt(T - 1) / sqrt(1 - skew SR + (kurt - 1) / 4 SR^2))`` with the per-bar SR and
the (non-excess) kurtosis; :func:`deflated_sharpe` (Bailey & López de Prado 2014) is the PSR
against the Sharpe the best of N no-skill trials would reach by luck,
``SR0 = sqrt(V) ((1 - g) Phi^-1(1 - 1/N) + g Phi^-1(1 - 1/(N e)))``, g = Euler–Mascheroni, V the
variance of a trial's per-bar Sharpe estimate (by default 1 / (T - 1), see
:func:`deflated_sharpe`). Treating the N trials as independent makes the hurdle conservative
when they are correlated (models on the same data), which is the side to err on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd

NAN = float("nan")
EULER_GAMMA = 0.5772156649015329
METRIC_KEYS = (
    "total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown",
    "max_drawdown_bars", "calmar", "hit_rate", "profit_factor", "turnover", "exposure",
    "n_trades", "n_bars",
)


def total_return(r: np.ndarray) -> float:
    """Compounded return over the period."""
    r = np.asarray(r, dtype=np.float64)
    return float(np.prod(1.0 + r) - 1.0) if r.size else NAN


def cagr(r: np.ndarray, bpy: float) -> float:
    """Compound annual growth rate over ``len(r) / bpy`` years."""
    r = np.asarray(r, dtype=np.float64)
    if not r.size:
        return NAN
    growth = 1.0 + total_return(r)
    if growth <= 0:
        return -1.0
    return float(growth ** (bpy / r.size) - 1.0)


def volatility(r: np.ndarray, bpy: float) -> float:
    """Annualised standard deviation of per-bar returns (ddof = 1)."""
    r = np.asarray(r, dtype=np.float64)
    return float(np.std(r, ddof=1) * math.sqrt(bpy)) if r.size > 1 else NAN


def sharpe(r: np.ndarray, bpy: float = 1.0) -> float:
    """Annualised Sharpe ratio (risk-free 0); per-bar when ``bpy`` is 1. NaN without variance."""
    r = np.asarray(r, dtype=np.float64)
    if r.size < 2:
        return NAN
    sd = float(np.std(r, ddof=1))
    if not sd > 1e-15:
        return NAN
    return float(np.mean(r) / sd * math.sqrt(bpy))


def sortino(r: np.ndarray, bpy: float) -> float:
    """Annualised Sortino ratio: mean over the downside deviation below 0 (over all bars)."""
    r = np.asarray(r, dtype=np.float64)
    if not r.size:
        return NAN
    dd = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    if not dd > 1e-15:
        return NAN
    return float(np.mean(r) / dd * math.sqrt(bpy))


def drawdown(r: np.ndarray) -> np.ndarray:
    """Drawdown per bar (<= 0) of the equity built from ``r``, starting at 1."""
    equity = np.cumprod(1.0 + np.asarray(r, dtype=np.float64))
    peak = np.maximum.accumulate(np.concatenate([[1.0], equity]))[1:]
    return equity / peak - 1.0


def max_drawdown(r: np.ndarray) -> tuple[float, int]:
    """Worst drawdown (<= 0) and the longest number of bars spent below a previous peak."""
    r = np.asarray(r, dtype=np.float64)
    if not r.size:
        return NAN, 0
    dd = drawdown(r)
    under = dd < -1e-15
    longest = 0
    # Runs of consecutive underwater bars: lengths between the rising and falling edges.
    if under.any():
        edges = np.diff(np.concatenate([[0], under.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        longest = int((ends - starts).max())
    return float(dd.min()), longest


def hit_rate(pnl: np.ndarray) -> float:
    """Share of trades with a positive P&L."""
    pnl = np.asarray(pnl, dtype=np.float64)
    return float(np.mean(pnl > 0)) if pnl.size else NAN


def profit_factor(pnl: np.ndarray) -> float:
    """Gross profit over gross loss of the trades (inf without a losing trade)."""
    pnl = np.asarray(pnl, dtype=np.float64)
    if not pnl.size:
        return NAN
    gain, loss = float(pnl[pnl > 0].sum()), float(-pnl[pnl < 0].sum())
    if loss == 0:
        return math.inf if gain > 0 else NAN
    return gain / loss


@dataclass(frozen=True)
class TradingMetrics:
    """The metrics of one strategy over one period (fractions, not percent)."""

    total_return: float
    cagr: float
    volatility: float
    sharpe: float
    sortino: float
    max_drawdown: float
    max_drawdown_bars: int
    calmar: float
    hit_rate: float
    profit_factor: float
    turnover: float
    exposure: float
    n_trades: int
    n_bars: int

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-able form (non-finite as None)."""
        out: dict[str, float | int | None] = {}
        for k, v in asdict(self).items():
            out[k] = v if isinstance(v, int) or (isinstance(v, float) and math.isfinite(v)) \
                else None
        return out


def compute_metrics(
    returns: np.ndarray, bpy: float, *, positions: np.ndarray | None = None,
    trade_pnl: np.ndarray | None = None,
) -> TradingMetrics:
    """All metrics of per-bar ``returns``; ``positions`` (held per bar) give turnover and
    exposure, ``trade_pnl`` (per round trip) hit rate and profit factor."""
    r = np.asarray(returns, dtype=np.float64)
    n = int(r.size)
    mdd, mdd_bars = max_drawdown(r)
    growth = cagr(r, bpy)
    calmar = growth / abs(mdd) if n and mdd < 0 else NAN
    if positions is not None and n:
        q = np.asarray(positions, dtype=np.float64)
        change = np.abs(np.diff(np.concatenate([[0.0], q])))
        turnover = float(change.sum() / (n / bpy))
        exposure = float(np.mean(q != 0))
    else:
        turnover = exposure = NAN
    pnl = np.asarray([] if trade_pnl is None else trade_pnl, dtype=np.float64)
    return TradingMetrics(
        total_return=total_return(r), cagr=growth, volatility=volatility(r, bpy),
        sharpe=sharpe(r, bpy), sortino=sortino(r, bpy), max_drawdown=mdd,
        max_drawdown_bars=mdd_bars, calmar=calmar,
        hit_rate=hit_rate(pnl) if trade_pnl is not None else NAN,
        profit_factor=profit_factor(pnl) if trade_pnl is not None else NAN,
        turnover=turnover, exposure=exposure, n_trades=int(pnl.size), n_bars=n,
    )


def strategy_metrics(result: object, bpy: float) -> TradingMetrics:
    """Metrics of a :class:`~cryptodesk.evaluation.strategy.StrategyResult`."""
    bars: pd.DataFrame = result.bars  # type: ignore[attr-defined]
    trades: pd.DataFrame = result.trades  # type: ignore[attr-defined]
    return compute_metrics(bars["return"].to_numpy(), bpy, positions=bars["position"].to_numpy(),
                           trade_pnl=trades["pnl"].to_numpy(np.float64))


# -- selection bias -------------------------------------------------------------------------

def _moments(r: np.ndarray) -> tuple[float, float]:
    """Skewness and (non-excess) kurtosis, population moments as in Bailey & López de Prado."""
    r = np.asarray(r, dtype=np.float64)
    c = r - r.mean()
    m2 = float(np.mean(c**2))
    if not m2 > 0:
        return 0.0, 3.0
    return float(np.mean(c**3) / m2**1.5), float(np.mean(c**4) / m2**2)


def probabilistic_sharpe(r: np.ndarray, benchmark: float = 0.0) -> float:
    """P(true per-bar Sharpe > ``benchmark``) given the sample ``r`` (PSR, Bailey & LdP 2012).

    ``benchmark`` is a per-bar Sharpe. Accounts for sample length, skewness and fat tails.
    """
    r = np.asarray(r, dtype=np.float64)
    r = r[np.isfinite(r)]
    sr = sharpe(r, 1.0)
    if not math.isfinite(sr) or r.size < 3:
        return NAN
    skew, kurt = _moments(r)
    denom = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2
    if not denom > 0:
        return NAN
    from scipy.stats import norm

    return float(norm.cdf((sr - benchmark) * math.sqrt(r.size - 1) / math.sqrt(denom)))


def expected_max_sharpe(n_trials: int, variance: float, mean: float = 0.0) -> float:
    """Expected maximum of ``n_trials`` Sharpe estimates with mean ``mean`` and ``variance``
    when none has skill (false strategy theorem; exact enough for N >= 2)."""
    if n_trials < 2:
        return mean
    from scipy.stats import norm

    z = ((1 - EULER_GAMMA) * norm.ppf(1 - 1.0 / n_trials)
         + EULER_GAMMA * norm.ppf(1 - 1.0 / (n_trials * math.e)))
    return float(mean + math.sqrt(max(variance, 0.0)) * z)


@dataclass(frozen=True)
class DeflatedSharpe:
    """The best of ``n_trials`` configurations against what luck alone would give.

    ``sharpe`` and ``sr0`` (the best Sharpe expected from ``n_trials`` no-skill trials) are
    annualised; ``dsr`` is the probability that the best one's true Sharpe exceeds ``sr0``
    (significant at 95 % when > 0.95); ``psr`` the same against 0, i.e. ignoring the search.
    """

    best: str
    sharpe: float
    n_trials: int
    sr0: float
    dsr: float
    psr: float
    n_bars: int
    variance_source: str

    @property
    def significant(self) -> bool:
        """True when the deflated Sharpe probability exceeds 95 %."""
        return math.isfinite(self.dsr) and self.dsr > 0.95

    def to_dict(self) -> dict[str, object]:
        """JSON-able form."""
        out: dict[str, object] = {}
        for k, v in asdict(self).items():
            out[k] = None if isinstance(v, float) and not math.isfinite(v) else v
        out["significant"] = self.significant
        return out


def deflated_sharpe(
    best_returns: np.ndarray, trial_sharpes: Sequence[float], bpy: float,
    *, best: str = "best", n_trials: int | None = None,
    variance: Literal["sampling", "trials"] = "sampling",
) -> DeflatedSharpe:
    """Deflated Sharpe ratio of the selected strategy.

    ``trial_sharpes``: annualised Sharpe of every configuration tried (the best included; NaN
    ones count as tried). ``n_trials`` overrides their count.

    ``variance`` of the trials' Sharpe estimates under the null: ``sampling`` (default) uses
    1 / (T - 1), the sampling variance of a per-bar Sharpe estimate of a no-skill strategy over
    T bars; ``trials`` uses the spread of ``trial_sharpes`` as in Bailey & López de Prado
    (2014), which needs many trials, and which trading costs distort: a few configurations
    that churn get very negative Sharpes, widen the spread and inflate the hurdle.
    """
    r = np.asarray(best_returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    t = int(r.size)
    trials = np.asarray(trial_sharpes, dtype=np.float64)
    n = int(n_trials if n_trials is not None else trials.size)
    finite = trials[np.isfinite(trials)] / math.sqrt(bpy)  # per bar
    if variance == "trials" and finite.size > 1:
        var = float(np.var(finite, ddof=1))
    else:
        var, variance = (1.0 / (t - 1) if t > 1 else NAN), "sampling"
    sr0 = expected_max_sharpe(n, var) if math.isfinite(var) else NAN
    psr = probabilistic_sharpe(r, 0.0)
    dsr = probabilistic_sharpe(r, sr0) if math.isfinite(sr0) else NAN
    return DeflatedSharpe(best=best, sharpe=sharpe(r, bpy), n_trials=n,
                          sr0=sr0 * math.sqrt(bpy) if math.isfinite(sr0) else NAN, dsr=dsr,
                          psr=psr, n_bars=t, variance_source=variance)
