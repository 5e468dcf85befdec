"""From a backtest's out-of-sample forecasts to a trading table: one strategy per model, plus
buy-and-hold over the same bars, regimes, monitoring and a selection-bias check.

:func:`trading_from_report` takes a :class:`~cryptodesk.evaluation.backtest.BacktestReport`
(or :func:`trading_from_forecasts` a dict of walk-forward forecast frames) and the candles, and
returns a :class:`TradingReport` of plain data: metrics per model, per-bar equity / drawdown /
positions, regime labels per bar, trading metrics per regime (regime known at decision time)
and, from a report, the forecast-accuracy metrics per regime (:func:`accuracy_by_regime`, regime
at the forecast origin), degradation flags. The CLI prints :func:`format_trading`;
the GUI draws :meth:`TradingReport.equity_frame` and :attr:`TradingReport.regimes`.

Threshold tuning (``prob:auto`` / ``hurdle:auto``): the test window's forecast origins are cut
into ``n_folds`` consecutive folds; the threshold used in fold i is the one with the best Sharpe
on the bars of folds 0..i-1 only (bars already closed when fold i's first decision is made);
fold 0 uses the default threshold. Every (model, threshold) pair run over the whole window counts
as a configuration tried: the best Sharpe among them is reported with that count and its
deflated Sharpe ratio, so a lucky pick is visible as such.

Annualisation: :func:`~cryptodesk.data.timeframes.bars_per_year` (365 days a year, 24/7).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.data.timeframes import bars_per_year
from cryptodesk.errors import DataError
from cryptodesk.evaluation.monitoring import MonitorSpec, MonitorStatus, monitor_model
from cryptodesk.evaluation.regimes import Regimes, decision_regime, regimes_for, split_by_regime
from cryptodesk.evaluation.strategy import (
    StrategyResult,
    StrategySpec,
    buy_and_hold,
    decisions,
    one_step,
    simulate,
)
from cryptodesk.evaluation.trading_metrics import (
    DeflatedSharpe,
    TradingMetrics,
    deflated_sharpe,
    sharpe,
    strategy_metrics,
)
from cryptodesk.safejson import to_jsonable

SCHEMA = "cryptodesk.trading/1"
BUY_HOLD = "buy&hold"
PROB_GRID = (0.5, 0.52, 0.55, 0.6, 0.65, 0.7)
HURDLE_MULTIPLES = (0.0, 0.5, 1.0, 2.0, 4.0)  # of the round-trip cost


@dataclass
class TradingReport:
    """Strategy results for every model and buy-and-hold over the same test bars."""

    spec: StrategySpec
    timeframe: str
    bpy: float
    results: dict[str, StrategyResult]
    metrics: dict[str, TradingMetrics]
    selection: DeflatedSharpe | None
    regimes: Regimes | None = None
    by_regime: dict[str, pd.DataFrame] = field(default_factory=dict)
    monitoring: dict[str, MonitorStatus] = field(default_factory=dict)
    tuning: dict[str, dict[str, Any]] = field(default_factory=dict)
    n_configs: int = 0
    accuracy_by_regime: pd.DataFrame | None = None

    @property
    def models(self) -> list[str]:
        """Strategy names in table order (models as given, buy-and-hold last)."""
        return [k for k in self.results if k != BUY_HOLD] + [BUY_HOLD]

    def table(self) -> pd.DataFrame:
        """One row per model and buy-and-hold: status plus every metric (fractions)."""
        rows = []
        for name in self.models:
            status = self.monitoring.get(name)
            rows.append({"model": name, "status": status.status if status else "",
                         **self.metrics[name].to_dict()})
        return pd.DataFrame(rows).set_index("model")

    def equity_frame(self) -> pd.DataFrame:
        """Long frame for charts and CSV: timestamp, model, position, return, equity,
        drawdown, regime (known when the bar's position was decided)."""
        frames = []
        for name in self.models:
            b = self.results[name].bars
            regime = (decision_regime(b.index, self.regimes).to_numpy() if self.regimes
                      else np.full(len(b), ""))
            frames.append(pd.DataFrame({
                "timestamp": b.index, "model": name, "position": b["position"].to_numpy(),
                "return": b["return"].to_numpy(), "equity": b["equity"].to_numpy(),
                "drawdown": b["drawdown"].to_numpy(), "regime": regime,
            }))
        return pd.concat(frames, ignore_index=True)

    def to_json(self, series: bool = True) -> dict[str, Any]:
        """JSON-able report (schema ``cryptodesk.trading/1``); ``series`` adds per-bar equity,
        drawdown and regime labels."""
        first = self.results[BUY_HOLD].bars.index
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "strategy": {**self.spec.to_dict(), "label": self.spec.label()},
            "timeframe": self.timeframe, "bars_per_year": self.bpy,
            "annualisation": "per-bar returns; 365-day year, 24/7 (bars_per_year)",
            "timing": "decided at the close of bar t from forecasts with origin <= t; "
                      "filled at the open of bar t+1",
            "test": {"first": first[0].isoformat(), "last": first[-1].isoformat(),
                     "bars": len(first)},
            "models": [
                {"model": name, "metrics": self.metrics[name].to_dict(),
                 "status": self.monitoring[name].to_dict() if name in self.monitoring else None,
                 "info": to_jsonable(self.results[name].info),
                 "tuning": to_jsonable(self.tuning.get(name))}
                for name in self.models
            ],
            "selection": self.selection.to_dict() if self.selection else None,
            "configurations_tried": self.n_configs,
            "regimes": None,
        }
        if self.regimes is not None:
            out["regimes"] = {
                **self.regimes.to_dict(),
                "by_model": {m: to_jsonable(f.to_dict(orient="index")) for m, f in
                             self.by_regime.items()},
                "accuracy": None if self.accuracy_by_regime is None else {
                    m: to_jsonable(self.accuracy_by_regime.loc[m].to_dict(orient="index"))
                    for m in self.accuracy_by_regime.index.get_level_values(0).unique()
                },
            }
        if series:
            out["series"] = {
                "time": [t.isoformat() for t in first],
                "equity": {m: _floats(self.results[m].bars["equity"]) for m in self.models},
                "drawdown": {m: _floats(self.results[m].bars["drawdown"]) for m in self.models},
                "position": {m: _floats(self.results[m].bars["position"]) for m in self.models},
                "regime": (decision_regime(first, self.regimes).tolist() if self.regimes
                           else None),
            }
        return out


def trading_from_report(
    report: Any, candles: pd.DataFrame, spec: StrategySpec, **kwargs: Any,
) -> TradingReport:
    """:func:`trading_from_forecasts` on every model of a backtest report."""
    forecasts = {name: res.forecasts for name, res in report.results.items()}
    order = list(report.ranking()) if hasattr(report, "ranking") else list(forecasts)
    tr = trading_from_forecasts({k: forecasts[k] for k in order}, candles, spec, **kwargs)
    if tr.regimes is not None:
        tr.accuracy_by_regime = accuracy_by_regime(report, candles, tr.regimes)
    return tr


def trading_from_forecasts(
    forecasts: Mapping[str, pd.DataFrame],
    candles: pd.DataFrame,
    spec: StrategySpec,
    *,
    regimes: str | None = "volatility",
    monitor: MonitorSpec | None = None,
    n_folds: int = 4,
    grid: Sequence[float] | None = None,
) -> TradingReport:
    """Run ``spec`` on each model's walk-forward ``forecasts`` and buy-and-hold beside them.

    ``regimes``: ``volatility``, ``markov`` or None; fit on the bars before the first test bar.
    ``monitor``: monitoring spec (default :class:`MonitorSpec`); needs a ``naive`` entry.
    """
    if not forecasts:
        raise DataError("no forecasts to trade on")
    tf = str(candles.attrs.get("timeframe") or "1d")
    bpy = bars_per_year(tf)
    results: dict[str, StrategyResult] = {}
    tuning: dict[str, dict[str, Any]] = {}
    trials: dict[str, np.ndarray] = {}
    for name, frame in forecasts.items():
        if spec.tune and spec.rule != "sign":
            res, tune_info, tried = tuned_strategy(frame, candles, spec, name, n_folds, grid)
            tuning[name] = tune_info
            trials.update({f"{name}@{k}": v for k, v in tried.items()})
        else:
            targets, info = decisions(frame, candles, spec)
            res = simulate(candles, targets, spec, name, info)
            trials[name] = res.returns
        results[name] = res
    reference = next(iter(results.values())).bars.index
    first_bar = reference[0]
    for name, res in results.items():
        if not res.bars.index.equals(reference):
            raise DataError(f"{name}: forecasts cover different bars from the other models")
    results[BUY_HOLD] = buy_and_hold(candles, first_bar, spec)
    metrics = {name: strategy_metrics(res, bpy) for name, res in results.items()}
    selection = _selection(trials, bpy)
    reg, by_regime = None, {}
    if regimes:
        train_end = int(candles.index.get_indexer([first_bar])[0])
        reg = regimes_for(candles, train_end, regimes)
        by_regime = {name: split_by_regime(res.bars, reg, bpy) for name, res in results.items()}
    statuses: dict[str, MonitorStatus] = {}
    if "naive" in forecasts:
        mspec = monitor or MonitorSpec()
        for name, frame in forecasts.items():
            statuses[name] = monitor_model(name, frame, forecasts["naive"], mspec)
    return TradingReport(spec=spec, timeframe=tf, bpy=bpy, results=results, metrics=metrics,
                         selection=selection, regimes=reg, by_regime=by_regime,
                         monitoring=statuses, tuning=tuning, n_configs=len(trials))


def accuracy_by_regime(report: Any, candles: pd.DataFrame, regimes: Regimes) -> pd.DataFrame:
    """The forecast-accuracy metrics of a backtest report (MAE, RMSE, Theil's U, directional
    accuracy, coverage, ...) split by the regime at each forecast's origin (known when it was
    issued). Rows are indexed by (model, regime); naive is scored on the same points."""
    from cryptodesk.evaluation import metrics as m
    from cryptodesk.evaluation.backtest import BASELINE, score_forecasts

    results = report.results
    first_test = int(candles.index.searchsorted(results[BASELINE].test_start))
    scale = m.naive_scale(candles["close"].to_numpy(np.float64)[:first_test])
    naive = results[BASELINE].forecasts
    rows = {}
    for name in (report.ranking() if hasattr(report, "ranking") else results):
        f = results[name].forecasts
        label = regimes.labels.reindex(pd.DatetimeIndex(f["origin"])).to_numpy()
        for regime in (*regimes.order, "n/a"):
            part = f[label == regime]
            if part.empty:
                continue
            scores = score_forecasts(part, naive, scale, 1)
            rows[(name, regime)] = {k: v for k, v in scores.items() if k != "per_horizon"}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["model", "regime"])
    return frame


def threshold_grid(spec: StrategySpec) -> tuple[float, ...]:
    """Thresholds tried when tuning: P(up) levels, or multiples of the round-trip cost."""
    if spec.rule == "prob":
        return PROB_GRID
    if spec.rule == "hurdle":
        return tuple(m * 2 * spec.cost for m in HURDLE_MULTIPLES)
    return (0.0,)


def tuned_strategy(
    forecasts: pd.DataFrame, candles: pd.DataFrame, spec: StrategySpec, name: str,
    n_folds: int = 4, grid: Sequence[float] | None = None,
) -> tuple[StrategyResult, dict[str, Any], dict[str, np.ndarray]]:
    """The strategy with its threshold re-chosen per fold from earlier folds only.

    Returns the result, the tuning record (threshold per fold) and the full-window returns of
    every threshold tried (the configurations that count against the best Sharpe).
    """
    grid = tuple(grid or threshold_grid(spec))
    tf = str(candles.attrs.get("timeframe") or "1d")
    bpy = bars_per_year(tf)
    origins = pd.DatetimeIndex(one_step(forecasts, spec.horizon)["origin"])
    folds = [f for f in np.array_split(np.arange(len(origins)), max(1, n_folds)) if f.size]
    runs = {}
    info: dict[str, object] = {}
    for thr in grid:
        targets, info = decisions(forecasts, candles, spec, threshold=thr)
        runs[thr] = (targets, simulate(candles, targets, spec, name))
    chosen: list[float] = []
    parts = []
    for i, fold in enumerate(folds):
        thr = spec.effective_threshold()
        if i > 0:
            cutoff = origins[fold[0]]  # bars up to this close are known at fold i's start
            scores = {t: sharpe(r.returns[r.bars.index <= cutoff], bpy)
                      for t, (_, r) in runs.items()}
            finite = {t: s for t, s in scores.items() if math.isfinite(s)}
            if finite:
                thr = max(finite, key=lambda t: (finite[t], -t))
        chosen.append(thr)
        if thr not in runs:
            runs[thr] = (decisions(forecasts, candles, spec, threshold=thr)[0], None)
        parts.append(runs[thr][0].iloc[fold])
    targets = pd.concat(parts)
    info = {**info, "tuned": True}
    result = simulate(candles, targets, spec, name, info)
    record = {"grid": list(grid), "folds": len(folds),
              "fold_starts": [origins[f[0]].isoformat() for f in folds],
              "thresholds": chosen}
    trials = {f"{t:g}": r.returns for t, (_, r) in runs.items() if r is not None}
    return result, record, trials


def _selection(trials: dict[str, np.ndarray], bpy: float) -> DeflatedSharpe | None:
    """The best of every configuration tried (by full-window Sharpe), deflated by their number.

    Buy-and-hold is the benchmark, not a configuration, so it is not among the trials.
    """
    sharpes = {k: sharpe(r, bpy) for k, r in trials.items()}
    finite = {k: v for k, v in sharpes.items() if math.isfinite(v)}
    if not finite:
        return None
    best = max(finite, key=lambda k: finite[k])
    return deflated_sharpe(trials[best], list(sharpes.values()), bpy, best=best)


def _floats(values: pd.Series) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in values.to_numpy(np.float64)]


# -- text -------------------------------------------------------------------------------------

TEXT_COLUMNS: tuple[tuple[str, str, str, float], ...] = (
    ("Return%", "total_return", "{:.1f}", 100.0),
    ("CAGR%", "cagr", "{:.1f}", 100.0),
    ("Vol%", "volatility", "{:.1f}", 100.0),
    ("Sharpe", "sharpe", "{:.2f}", 1.0),
    ("Sortino", "sortino", "{:.2f}", 1.0),
    ("MaxDD%", "max_drawdown", "{:.1f}", 100.0),
    ("DDbars", "max_drawdown_bars", "{:.0f}", 1.0),
    ("Calmar", "calmar", "{:.2f}", 1.0),
    ("Hit%", "hit_rate", "{:.1f}", 100.0),
    ("PF", "profit_factor", "{:.2f}", 1.0),
    ("Turn/yr", "turnover", "{:.1f}", 1.0),
    ("Expo%", "exposure", "{:.0f}", 100.0),
    ("Trades", "n_trades", "{:.0f}", 1.0),
)


def format_table(header: list[str], body: list[list[str]], left: int = 1) -> str:
    """Fixed-width table: the first ``left`` columns left-aligned, the rest right-aligned."""
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, body)])


def fmt(value: Any, pattern: str, scale: float = 1.0) -> str:
    """A number formatted, or '-' when missing/non-finite ('inf' stays visible)."""
    if value is None:
        return "-"
    v = float(value)
    if math.isinf(v):
        return "inf"
    if not math.isfinite(v):
        return "-"
    return pattern.format(v * scale)


def format_trading(tr: TradingReport, *, regimes: bool = True) -> str:
    """The trading table, the selection line and (optionally) the per-regime Sharpe table."""
    first = tr.results[BUY_HOLD].bars.index
    lines = [f"Trading: {tr.spec.label()}; {len(first)} bars {first[0]:%Y-%m-%d %H:%M} → "
             f"{first[-1]:%Y-%m-%d %H:%M}; decided at close t, filled at open t+1; "
             f"annualised with {tr.bpy:g} bars/year (24/7)"]
    header = ["model", *(c[0] for c in TEXT_COLUMNS), "status"]
    body = []
    for name in tr.models:
        m = tr.metrics[name].to_dict()
        st = tr.monitoring.get(name)
        body.append([name, *(fmt(m[k], p, s) for _, k, p, s in TEXT_COLUMNS),
                     st.status if st else ""])
    lines.append(format_table(header, body))
    sel = tr.selection
    if sel is not None:
        verdict = "significant" if sel.significant else "NOT significant"
        lines.append(
            f"Best Sharpe {sel.sharpe:.2f} ({sel.best}) of {sel.n_trials} configurations tried; "
            f"deflated Sharpe P = {fmt(sel.dsr, '{:.2f}')} (best expected from luck alone: "
            f"{fmt(sel.sr0, '{:.2f}')}) → {verdict} at 95 %")
    for name, st in tr.monitoring.items():
        if st.degraded:
            lines.append(f"{name}: {st.status}: {'; '.join(st.reasons)}")
    if regimes and tr.regimes is not None and tr.by_regime:
        lines.append(format_regime_table(tr))
    return "\n".join(lines)


def format_regime_table(tr: TradingReport) -> str:
    """Sharpe and return per regime (regime known at decision time) for every strategy, and
    Theil's U per regime (at the forecast origin) when the accuracy split is there."""
    assert tr.regimes is not None
    names = [r for r in (*tr.regimes.order, "n/a")
             if any(r in f.index for f in tr.by_regime.values())]
    header = ["model", *(f"{r} Sharpe" for r in names), *(f"{r} Ret%" for r in names)]
    body = []
    for model in tr.models:
        f = tr.by_regime.get(model)
        if f is None:
            continue

        def cell(r: str, k: str, f: pd.DataFrame = f) -> Any:
            return f.at[r, k] if r in f.index else None

        body.append([model, *(fmt(cell(r, "sharpe"), "{:.2f}") for r in names),
                     *(fmt(cell(r, "total_return"), "{:.1f}", 100.0) for r in names)])
    acc = tr.accuracy_by_regime
    if acc is not None:
        header += [f"{r} U" for r in names]
        for row in body:
            part = acc.loc[row[0]] if row[0] in acc.index.get_level_values(0) else None
            row += [fmt(part.at[r, "theils_u"] if part is not None and r in part.index
                        else None, "{:.3f}") for r in names]
    held = decision_regime(tr.results[BUY_HOLD].bars.index, tr.regimes)
    counts = ", ".join(f"{r} {int((held == r).sum())}" for r in names)
    title = f"By regime ({tr.regimes.method}, fit on the training window; test bars: {counts})"
    return title + "\n" + format_table(header, body)
