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


@dataclass
class BacktestOutcome:
    """Everything one GUI run produced (a merged :class:`BacktestReport`)."""

    report: Any
    order: list[str] = field(default_factory=list)


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
    return BacktestOutcome(merged, order)


def export_results(outcome: BacktestOutcome, path: Path, ctx: TaskContext) -> list[Path]:
    """Write the forecasts CSV at ``path`` and the JSON report beside it; return both paths."""
    import json

    import pandas as pd

    from cryptodesk.atomic import write_text_atomic
    from cryptodesk.io.csv_export import write_frame_csv

    path = Path(path)
    ctx.progress(None, f"writing {path.name}")
    table = outcome.report.forecasts_table()
    table = table.assign(
        timestamp=pd.DatetimeIndex(table["timestamp"]).strftime("%Y-%m-%dT%H:%M:%SZ"),
        origin=pd.DatetimeIndex(table["origin"]).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    write_frame_csv(table, path)
    json_path = path.with_suffix(".json")
    write_text_atomic(json_path, json.dumps(outcome.report.to_json(), indent=2, default=str))
    return [path, json_path]
