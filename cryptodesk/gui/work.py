"""The GUI's jobs: plain functions ``fn(..., ctx)`` that run in a worker thread.

No Qt here (on purpose, though this module lives in the gui package): each function only calls
the core and returns plain data, so every one is testable without a window, and the panels only
start them and draw what comes back. Heavy libraries (torch, LightGBM, ccxt) are imported by
the core inside these jobs, never at import time of the GUI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cryptodesk.errors import CryptoDeskError
from cryptodesk.gui.charts.levels import OhlcPyramid, pyramid_from_frame
from cryptodesk.jobs import TaskContext

if TYPE_CHECKING:  # pandas and the data layer load in the first job, not at start-up
    import pandas as pd

    from cryptodesk.data.quality import QualityReport
    from cryptodesk.data.schema import CandleMeta, SeriesKey
    from cryptodesk.data.store import CandleStore, SeriesInfo, WriteResult


class LazyStore:
    """A :class:`~cryptodesk.data.store.CandleStore` created on first use.

    The store module imports pyarrow's Parquet reader (with ssl, ~0.15 s); the window does not
    need it to appear, so the first job (in a worker) pays for it instead.
    """

    def __init__(self, root: Path | None = None) -> None:
        import threading

        self._root = root
        self._store: CandleStore | None = None
        self._lock = threading.Lock()

    def get(self) -> CandleStore:
        with self._lock:
            if self._store is None:
                from cryptodesk.data.store import CandleStore

                self._store = CandleStore(self._root)
            return self._store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


# --------------------------------------------------------------------------- data
@dataclass(frozen=True)
class LoadedSeries:
    """A series ready to show: candles, quality report, chart pyramid and gap bands."""

    frame: pd.DataFrame
    meta: CandleMeta
    report: QualityReport
    pyramid: OhlcPyramid
    gaps_x0: np.ndarray
    gaps_x1: np.ndarray
    note: str = ""

    @property
    def key(self) -> SeriesKey:
        return self.meta.key


@dataclass(frozen=True)
class StoreListing:
    """The store's series (and whether the demo series was written just now)."""

    series: list[SeriesInfo]
    demo_written: bool = False


def list_store(store: CandleStore, ctx: TaskContext, ensure_demo: bool = False) -> StoreListing:
    """List stored series; with ``ensure_demo`` first write the demo series if missing."""
    written = False
    if ensure_demo:
        from cryptodesk.data.demo import ensure_demo as _ensure

        ctx.progress(None, "preparing the demo series")
        written = _ensure(store)
    ctx.check_cancelled()
    ctx.progress(None, "listing stored series")
    return StoreListing(store.list(), written)


def prepare_series(frame: pd.DataFrame, report: QualityReport | None = None,
                   note: str = "") -> LoadedSeries:
    """Quality report, chart pyramid and gap bands for a candle frame."""
    from cryptodesk.data.quality import check_quality
    from cryptodesk.data.schema import meta_of
    from cryptodesk.data.timeframes import timeframe_seconds

    meta = meta_of(frame)
    if report is None:
        report = check_quality(frame, meta.timeframe)
    step = float(timeframe_seconds(meta.timeframe))
    pyramid = pyramid_from_frame(frame, step)
    x0 = np.array([g.after.value / 1e9 + step for g in report.gaps], dtype=np.float64)
    x1 = np.array([g.before.value / 1e9 for g in report.gaps], dtype=np.float64)
    return LoadedSeries(frame, meta, report, pyramid, x0, x1, note)


def load_series(store: CandleStore, key: SeriesKey, ctx: TaskContext) -> LoadedSeries:
    """Load one stored series and prepare it for the chart."""
    ctx.progress(None, f"loading {key}")
    frame = store.load(key)
    ctx.check_cancelled()
    ctx.progress(None, f"checking {key}")
    return prepare_series(frame)


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did, and the imported series ready to show."""

    path: Path
    write: WriteResult
    loaded: LoadedSeries


def default_symbol_for(path: Path) -> str:
    """A symbol guessed from a file name: ``BTC-USDT-1h.csv`` -> ``BTC-USDT``."""
    stem = Path(path).stem.strip()
    parts = [p for p in stem.replace("_", "-").split("-") if p]
    from cryptodesk.data.timeframes import normalize_timeframe
    from cryptodesk.errors import DataError

    while len(parts) > 1:
        try:
            normalize_timeframe(parts[-1].lower())
        except DataError:
            break
        parts.pop()
    return "-".join(parts).upper() or "IMPORTED"


def import_csv(store: CandleStore, path: Path, symbol: str | None, ctx: TaskContext) -> ImportOutcome:
    """Read a CSV, write it into the store (atomically: on error nothing changes) and load the
    stored series. Raises :class:`~cryptodesk.errors.CsvImportError` for a bad file."""
    from cryptodesk.data.csv_import import read_candles_csv
    from cryptodesk.data.schema import meta_of

    path = Path(path)
    ctx.progress(None, f"reading {path.name}")
    frame, report = read_candles_csv(path, symbol=symbol or default_symbol_for(path))
    ctx.check_cancelled()
    ctx.progress(None, f"writing {len(frame):,} bars")
    result = store.write(frame)
    key = meta_of(frame).key
    stored = store.load(key)
    note = f"imported {path.name}: {result.added:,} new bars, {result.replaced:,} replaced"
    if len(stored) != len(frame):
        report = None  # merged with earlier data: report on the whole stored series
    return ImportOutcome(path, result, prepare_series(stored, report, note))


def download(store: CandleStore, request: dict[str, Any], ctx: TaskContext) -> LoadedSeries:
    """Download candles from an exchange into the store and load the series."""
    from cryptodesk.data.exchange import fetch_candles

    result = fetch_candles(store, ctx=ctx, **request)
    loaded = load_series(store, result.key, ctx)
    note = f"downloaded {result.received:,} bars ({result.added:,} new) from {result.key.source}"
    return LoadedSeries(loaded.frame, loaded.meta, loaded.report, loaded.pyramid,
                        loaded.gaps_x0, loaded.gaps_x1, note)


# --------------------------------------------------------------------------- models
@dataclass(frozen=True)
class ModelInfo:
    """What the training panel needs to draw a model's form."""

    name: str
    config_cls: type
    capabilities: Any
    doc: str


def model_info(name: str, ctx: TaskContext) -> ModelInfo:
    """Import a model's module (possibly torch: that is why this runs in a worker)."""
    from cryptodesk.models.registry import model_class

    ctx.progress(None, f"loading model {name}")
    cls = model_class(name)
    ctx.progress(None, f"preparing {name}")
    _warm_up_imports(cls.__module__)
    doc = (cls.__doc__ or "").strip().split("\n\n")[0]
    return ModelInfo(name, cls.config_cls, cls.capabilities, " ".join(doc.split()))


# Libraries a model's first fit imports lazily (LightGBM, SciPy's optimiser, torch's optimiser
# pulls in torch._dynamo). Imported when the model is picked, not during the run: an import
# executes module code in long stretches under the interpreter lock, and the GUI thread would
# wait for it (measured: up to 0.5 s stalls).
WARM_UP = {
    "cryptodesk.models.lgbm": ("lightgbm",),
    "cryptodesk.models.arima": ("scipy.optimize", "scipy.signal"),
    "cryptodesk.models.torch_models": ("torch._dynamo", "torch.optim"),
}


def _warm_up_imports(module: str) -> None:
    """Import what the first fit of a model from ``module`` would import (best effort)."""
    import importlib

    for name in WARM_UP.get(module, ()):
        try:
            importlib.import_module(name)
        except Exception:  # only an optimisation: the fit imports it again if needed
            pass


# --------------------------------------------------------------------------- backtests
@dataclass(frozen=True)
class ModelScored:
    """Partial result: one model finished its walk-forward and was scored against naive."""

    name: str
    metrics: dict[str, Any]
    result: Any  # WalkForwardResult


@dataclass(frozen=True)
class TradingView:
    """What the window draws of a run's trading backtest (computed in the worker).

    ``curves``: strategy name -> (x epoch seconds, equity, drawdown); ``metrics``: name ->
    sharpe / max_drawdown / total_return (fractions); ``monitoring``: model -> (degraded,
    status text, reasons); ``regimes``: shaded spans (x0, x1, level 1..k) of every label above
    the calmest, with ``regime_order`` from calm to turbulent.
    """

    strategy: str
    curves: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    metrics: dict[str, dict[str, float | None]]
    monitoring: dict[str, tuple[bool, str, list[str]]]
    regime_x0: np.ndarray
    regime_x1: np.ndarray
    regime_level: np.ndarray
    regime_order: tuple[str, ...]
    benchmark: str = "buy&hold"
    report: Any = None


# The strategy the GUI shows: long when the forecast says up, flat otherwise, with costs.
GUI_STRATEGY = {"rule": "sign", "fee_bps": 10.0, "slippage_bps": 5.0}


def trading_view(report: Any, candles: pd.DataFrame, ctx: TaskContext) -> TradingView:
    """Sign strategy (10 bps fee + 5 bps slippage) on every model's forecasts, buy-and-hold
    beside them, volatility regimes and degradation monitoring."""
    from cryptodesk.evaluation.strategy import StrategySpec
    from cryptodesk.evaluation.trading_report import BUY_HOLD, trading_from_report

    spec = StrategySpec(**GUI_STRATEGY)
    tr = trading_from_report(report, candles, spec, regimes="volatility")
    curves, metrics = {}, {}
    for name in tr.models:
        bars = tr.results[name].bars
        x = bars.index.as_unit("ns").asi8 / 1e9
        curves[name] = (x, bars["equity"].to_numpy(np.float64),
                        bars["drawdown"].to_numpy(np.float64))
        m = tr.metrics[name].to_dict()
        metrics[name] = {k: m.get(k) for k in ("sharpe", "max_drawdown", "total_return")}
    monitoring = {name: (st.degraded, st.status, list(st.reasons))
                  for name, st in tr.monitoring.items()}
    x0, x1, level, order = _regime_spans(tr.regimes, candles)
    return TradingView(spec.label(), curves, metrics, monitoring, x0, x1, level, order,
                       BUY_HOLD, tr)


def _regime_spans(regimes: Any, candles: pd.DataFrame) -> tuple[np.ndarray, np.ndarray,
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


@dataclass
class BacktestOutcome:
    """Everything one GUI run produced (a merged :class:`BacktestReport`), its trading view
    (None when it could not be computed: ``trading_note`` says why)."""

    report: Any
    order: list[str] = field(default_factory=list)
    trading: TradingView | None = None
    trading_note: str = ""
    candles: Any = None  # the frame the run used (with any joined external columns)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    dataset: str | None = None
    external_models: list[str] = field(default_factory=list)  # models that used the dataset


def backtest(candles: pd.DataFrame, runs: list[tuple[str, dict[str, Any]]], spec: Any,
             seed: int | None, ctx: TaskContext) -> BacktestOutcome:
    """Walk every queued model forward, one after the other, naive always included.

    Each model goes through :func:`cryptodesk.evaluation.backtest.run_backtest` (the one path
    the CLI uses too) with naive beside it, so its metrics are exactly the CLI's. As each model
    finishes, a :class:`ModelScored` partial result lets the results table fill in row by row.
    """
    from cryptodesk.evaluation.backtest import BASELINE, BacktestReport, ModelRun, run_backtest

    names: list[tuple[str, dict[str, Any]]] = []
    for name, config in runs:
        key = name.strip().lower()
        if key != BASELINE and key not in {n for n, _ in names}:
            names.append((key, dict(config)))
    # naive alone first (milliseconds), so its row is there even if a later model is cancelled
    todo: list[tuple[str, dict[str, Any]]] = [(BASELINE, {}), *names]
    merged: BacktestReport | None = None
    order: list[str] = []
    weights = [0.02 if name == BASELINE and names else 1.0 for name, _ in todo]
    total = sum(weights)
    start = 0.0
    for (name, config), weight in zip(todo, weights, strict=True):
        sub = ctx.child(start / total, (start + weight) / total)
        start += weight
        report = run_backtest(candles, [ModelRun(name, config)], spec, sub, seed=seed)
        order.append(name)
        ctx.partial(ModelScored(name, report.metrics[name], report.results[name]))
        if merged is None:
            merged = report
        else:
            merged.results[name] = report.results[name]
            merged.metrics[name] = report.metrics[name]
            merged.seconds += report.seconds
    assert merged is not None
    outcome = BacktestOutcome(merged, order)
    ctx.check_cancelled()
    ctx.progress(1.0, "trading backtest of the forecasts")
    try:
        outcome.trading = trading_view(merged, candles, ctx)
    except CryptoDeskError as exc:  # e.g. too few test bars: the forecasts stand on their own
        outcome.trading_note = f"no trading backtest: {exc}"
    return outcome


def export_results(outcome: BacktestOutcome, path: Path, ctx: TaskContext) -> list[Path]:
    """Write the forecasts CSV at ``path``, the metrics CSV (``<name>.metrics.csv``) and the
    JSON report beside it, with the same writers as ``cryptodesk backtest``; return the paths."""
    import json

    from cryptodesk.atomic import write_text_atomic
    from cryptodesk.io.exports import write_forecasts_csv, write_metrics_csv

    path = Path(path)
    ctx.progress(None, f"writing {path.name}")
    report = outcome.report
    write_forecasts_csv(report.forecasts_table(), path)
    metrics_path = path.with_name(f"{path.stem}.metrics.csv")
    write_metrics_csv(report.metrics, metrics_path, order=report.ranking())
    json_path = path.with_suffix(".json")
    write_text_atomic(json_path, json.dumps(report.to_json(), indent=2, default=str))
    return [path, metrics_path, json_path]


# --------------------------------------------------------------------------- model library
@dataclass(frozen=True)
class LibraryListing:
    """The saved bundles (newest first; damaged ones carry ``error``) and a note for the user."""

    bundles: list[Any]
    note: str = ""
    select: str | None = None


def list_bundles(ctx: TaskContext, note: str = "", select: str | None = None,
                 root: Path | None = None) -> LibraryListing:
    from cryptodesk.io.bundles import ModelLibrary

    ctx.progress(None, "listing saved models")
    return LibraryListing(ModelLibrary(root).list(), note, select)


def rename_bundle(ref: str, label: str, ctx: TaskContext, root: Path | None = None) -> LibraryListing:
    from cryptodesk.io.bundles import ModelLibrary

    info = ModelLibrary(root).rename(ref, label)
    return list_bundles(ctx, f"renamed {info.id} to {info.label!r}", info.id, root)


def delete_bundle(ref: str, ctx: TaskContext, root: Path | None = None) -> LibraryListing:
    from cryptodesk.io.bundles import ModelLibrary

    info = ModelLibrary(root).delete(ref)
    return list_bundles(ctx, f"deleted {info.label or info.id}", None, root)


def export_bundle(ref: str, out: Path, ctx: TaskContext, root: Path | None = None) -> LibraryListing:
    from cryptodesk.io.bundles import ModelLibrary

    ctx.progress(None, f"writing {Path(out).name}")
    path = ModelLibrary(root).export_zip(ref, Path(out))
    return list_bundles(ctx, f"exported to {path}", ref, root)


def import_bundle(path: Path, ctx: TaskContext, root: Path | None = None) -> LibraryListing:
    from cryptodesk.io.bundles import ModelLibrary

    ctx.progress(None, f"importing {Path(path).name}")
    info = ModelLibrary(root).import_zip(Path(path))
    return list_bundles(ctx, f"imported {info.label or info.id}", info.id, root)


@dataclass(frozen=True)
class BundleForecast:
    """A saved model's forecast after the last candle: the table (export layout), the chart
    arrays (target times in epoch seconds, point, band or None) and notes."""

    ref: str
    label: str
    table: Any  # pd.DataFrame
    x: np.ndarray
    point: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    notes: list[str]
    series_key: Any


def forecast_bundle(ref: str, candles: pd.DataFrame, horizon: int, ctx: TaskContext,
                    root: Path | None = None) -> BundleForecast:
    """Load a bundle (imports its library: torch, LightGBM) and forecast ``horizon`` bars."""
    from cryptodesk.app.forecast import forecast_from_bundle
    from cryptodesk.data.schema import meta_of
    from cryptodesk.io.bundles import ModelLibrary

    library = ModelLibrary(root)
    manifest = library.resolve(ref).manifest
    fitted = int((manifest.get("target") or {}).get("horizon") or 1)
    capped = ""
    if (manifest.get("model", {}).get("capabilities") or {}).get("direct") and horizon > fitted:
        capped = (f"a direct model fitted for {fitted} bar{'s' if fitted != 1 else ''} ahead "
                  f"forecasts at most {fitted}")
        horizon = fitted
    ctx.progress(None, f"loading model {ref}")
    table, manifest, notes = forecast_from_bundle(library, ref, candles, horizon)
    if capped:
        notes = [capped, *notes]
    ctx.check_cancelled()
    x = np.asarray(pd_times(table["timestamp"]), dtype=np.float64)
    point = table["forecast"].to_numpy(np.float64)
    lo, hi = table["lower"].to_numpy(np.float64), table["upper"].to_numpy(np.float64)
    band = np.isfinite(lo).any() and np.isfinite(hi).any()
    return BundleForecast(ref, manifest.get("label") or ref, table, x, point,
                          lo if band else None, hi if band else None, notes,
                          meta_of(candles).key)


def pd_times(values: Any) -> np.ndarray:
    """Epoch seconds of a timestamp column."""
    import pandas as pd

    return pd.DatetimeIndex(values).as_unit("ns").asi8 / 1e9


def save_bundle(candles: pd.DataFrame, kind: str, config: dict[str, Any], metrics: dict[str, Any],
                seed: int | None, ctx: TaskContext, root: Path | None = None,
                label: str | None = None, horizon: int = 1) -> Any:
    """Fit ``kind`` with ``config`` on all of ``candles`` and save it with the run's metrics."""
    from cryptodesk.app.library import train_and_save
    from cryptodesk.io.bundles import ModelLibrary

    result = train_and_save(candles, kind, config, evaluate=False, seed=seed, ctx=ctx,
                            library=ModelLibrary(root), metrics=metrics, label=label,
                            horizon=horizon)
    return result.bundle


# --------------------------------------------------------------------------- external features
@dataclass(frozen=True)
class DatasetChoice:
    """A sentiment dataset the training panel offers (``scored=False``: not usable yet)."""

    name: str
    rows: int
    scored: bool
    first: str = ""
    last: str = ""


def list_datasets(ctx: TaskContext) -> list[DatasetChoice]:
    """Stored sentiment datasets (Parquet footers only: no text is read)."""
    from cryptodesk.sentiment.datasets import TextDatasets

    ctx.progress(None, "listing sentiment datasets")
    out = []
    for info in TextDatasets().list():
        out.append(DatasetChoice(info.name, info.rows, info.scored,
                                 str(info.first)[:10] if info.first is not None else "",
                                 str(info.last)[:10] if info.last is not None else ""))
    return out


SENTIMENT_SHOWN = ("score", "neg_share")


@dataclass(frozen=True)
class SentimentView:
    """A dataset's per-bar features on one series, for the sentiment chart."""

    dataset: str
    series_key: Any
    columns: dict[str, tuple[np.ndarray, np.ndarray]]
    feature_columns: tuple[str, ...]


def with_sentiment(candles: pd.DataFrame, dataset: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The candles with ``dataset``'s sentiment features joined causally, and their names."""
    from cryptodesk.sentiment.aggregate import sentiment_features

    before = set(candles.columns)
    out = sentiment_features(candles, dataset)
    return out, tuple(c for c in out.columns if c not in before)


def sentiment_view(candles: pd.DataFrame, dataset: str, ctx: TaskContext) -> SentimentView:
    """Join ``dataset`` onto ``candles`` and keep the chart's series (score, share negative)."""
    from cryptodesk.data.schema import meta_of

    ctx.progress(None, f"aggregating sentiment of {dataset}")
    out, cols = with_sentiment(candles, dataset)
    x = out.index.as_unit("ns").asi8 / 1e9
    shown = {}
    for col in cols:
        suffix = next((s for s in SENTIMENT_SHOWN if col.endswith("_" + s)), None)
        if suffix is not None:
            shown[col] = (x, out[col].to_numpy(np.float64))
    return SentimentView(dataset, meta_of(candles).key, shown, cols)


def add_external(runs: list[tuple[str, dict[str, Any]]],
                 columns: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
    """Runs whose feature-using models get ``columns`` added to ``FeatureSpec.external``
    (models without a form yet start from their defaults)."""
    from cryptodesk.models.registry import config_class, model_class

    out = []
    for name, config in runs:
        config = dict(config)
        params = {p.name for p in config_class(name).params()}
        if "external" in params and "features" not in params:  # the nets: a plain column list
            external = list(config.get("external") or [])
            config["external"] = external + [c for c in columns if c not in external]
        elif getattr(model_class(name).capabilities, "uses_features", False) and "features" in params:
            if "features" not in config:
                config = {**config_class(name)().to_dict(), **config}
            features = dict(config.get("features") or {})
            external = list(features.get("external") or [])
            features["external"] = external + [c for c in columns if c not in external]
            config["features"] = features
        out.append((name, config))
    return out


def _external_of(config: dict[str, Any]) -> list[str]:
    """External columns a run's config feeds its model (feature spec or the nets' list)."""
    return list((config.get("features") or {}).get("external", []) or config.get("external") or [])


def run_training(candles: pd.DataFrame, runs: list[tuple[str, dict[str, Any]]], spec: Any,
                 seed: int | None, dataset: str | None, ctx: TaskContext) -> BacktestOutcome:
    """The GUI's run: join the sentiment dataset (if one is picked) and add its columns to the
    feature-using models, then :func:`backtest`. The outcome keeps the candles and configs it
    ran on (saving a model refits exactly those)."""
    if dataset:
        ctx.progress(None, f"joining sentiment dataset {dataset}")
        candles, cols = with_sentiment(candles, dataset)
        runs = add_external(runs, cols)
        ctx.check_cancelled()
    outcome = backtest(candles, runs, spec, seed, ctx)
    outcome.external_models = [n for n, c in runs if dataset and any(
        x.startswith("sent_") for x in _external_of(c))]
    outcome.candles = candles
    outcome.configs = {name: dict(config) for name, config in runs}
    outcome.dataset = dataset
    return outcome
