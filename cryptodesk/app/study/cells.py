"""A study expanded into cells: series × model × target × seed, each one walk-forward job.

A cell is plain data: the run spec of one walk-forward (the series' data reference with its
fingerprint, naive plus the cell's model with its full config and seed, the protocol, the
target), the CPU threads it may use, and a key: the SHA-256 of that spec. The key is what
resume compares: a cell whose key is already in the output folder is not run again, and a cell
whose spec changed (another config, other bars, another CryptoDesk version) is.

A deterministic model (no seed setting: naive, drift, ARIMA) gives the same forecasts for
every seed, so it runs once per series and target and stands for every seed of the study
(its seed spread is zero by construction, not by measurement).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptodesk.app.study.models import cell_model, is_stochastic, targets_of
from cryptodesk.app.study.spec import SeriesSpec, StudySpec, StudySpecError
from cryptodesk.errors import CryptoDeskError

if TYPE_CHECKING:
    import pandas as pd

    from cryptodesk.app.runspec import DataRef

CELL_JOB = "study_cell"


@dataclass(frozen=True)
class SeriesData:
    """One series of the study, loaded: its spec, label, candles and data reference."""

    index: int
    spec: SeriesSpec
    label: str
    candles: pd.DataFrame
    ref: DataRef


@dataclass(frozen=True)
class Cell:
    """One walk-forward of the study (see module docstring)."""

    id: str
    series: int
    series_label: str
    model: str
    target: str
    seed: int | None
    threads: int
    run: dict[str, Any]
    key: str

    def payload(self) -> dict[str, Any]:
        """The job's JSON payload (what a worker process or a Ray task receives)."""
        return {"cell": self.id, "key": self.key, "run": self.run, "threads": self.threads}

    def describe(self) -> dict[str, Any]:
        """What a cell is, for its record in the output folder and for events."""
        return {"cell": self.id, "key": self.key, "series": self.series_label,
                "model": self.model, "target": self.target, "seed": self.seed,
                "threads": self.threads}

    @property
    def title(self) -> str:
        seed = "all seeds" if self.seed is None else f"seed {self.seed}"
        return f"{self.series_label} {self.model} ({self.target}, {seed})"


def load_series(spec: StudySpec, store: Any = None) -> list[SeriesData]:
    """Load every series of the study (CSV files or the store), one clear line per problem."""
    from cryptodesk.app.runspec import data_ref

    out = []
    for i, series in enumerate(spec.series):
        try:
            candles = _load(series, store)
        except CryptoDeskError as exc:
            raise StudySpecError(f"series[{i}] ({series.label}): {exc}") from None
        ref = data_ref(candles, csv=series.csv)
        label = f"{ref.symbol} {ref.timeframe}"
        out.append(SeriesData(i, series, label, candles, ref))
    if len({s.label for s in out}) != len(out):
        raise StudySpecError("two series entries name the same stored series")
    return out


def _load(series: SeriesSpec, store: Any) -> pd.DataFrame:
    if series.csv:
        from cryptodesk.data.csv_import import read_candles_csv
        from cryptodesk.errors import DataError

        path = Path(series.csv)
        if not path.is_file():
            raise DataError(f"no CSV file at {path}")
        symbol = series.symbol or path.stem
        candles, _report = read_candles_csv(path, symbol=symbol, source=series.source or "csv",
                                            timeframe=series.timeframe)
        return candles
    from cryptodesk.data.store import CandleStore

    store = store if store is not None else CandleStore()
    return store.load(store.find(str(series.symbol), series.timeframe, series.source))


def protocol_for(spec: StudySpec, timeframe: str) -> Any:
    """The walk-forward spec of the study for data of ``timeframe`` (preset, then overrides)."""
    from cryptodesk.evaluation.presets import preset_spec
    from cryptodesk.evaluation.walkforward import WalkForwardSpec

    settings = dict(spec.protocol)
    preset = settings.pop("preset", None)
    base: dict[str, Any] = {} if preset is None else preset_spec(preset, timeframe).to_dict()
    if "test_start" in settings and "test_size" not in settings:
        base["test_size"] = None
    return WalkForwardSpec.from_dict({**base, **settings})


def expand(spec: StudySpec, series: list[SeriesData]) -> list[Cell]:
    """Every cell of the study, in a fixed order (series, model, target, seed)."""
    from cryptodesk.app.runspec import ModelSpec, RunSpec, model_spec
    from cryptodesk.models.registry import default_registry

    baseline = default_registry().baseline()
    naive: ModelSpec = model_spec(baseline)
    cells: list[Cell] = []
    ids: set[str] = set()
    for data in series:
        protocol = protocol_for(spec, data.ref.timeframe)
        for entry in spec.models:
            seeds: list[int | None] = list(spec.seeds) if is_stochastic(entry) else [None]
            for target in (t for t in spec.targets if t in targets_of(entry.name)):
                for seed in seeds:
                    model = cell_model(entry, seed, spec.threads)
                    models = (naive,) if model.name == baseline else (naive, model)
                    run = RunSpec(data=data.ref, models=models, protocol=protocol,
                                  seed=seed or 0, preset=spec.protocol.get("preset"),
                                  regimes=None)
                    run = replace(run, target=target)
                    cell_id = _unique(_cell_id(data.label, entry.label, target, seed), ids)
                    run_dict = run.to_dict()
                    cells.append(Cell(cell_id, data.index, data.label, entry.label, target,
                                      seed, spec.threads, run_dict,
                                      cell_key(run_dict, spec.threads)))
    return cells


def cell_key(run: dict[str, Any], threads: int) -> str:
    """SHA-256 of a cell's run spec and thread count (canonical JSON)."""
    text = json.dumps({"run": run, "threads": threads}, sort_keys=True, separators=(",", ":"),
                      allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _cell_id(series: str, model: str, target: str, seed: int | None) -> str:
    parts = [series, model, target, "all-seeds" if seed is None else f"s{seed}"]
    return "__".join(re.sub(r"[^a-z0-9.]+", "-", p.lower()).strip("-.") or "x" for p in parts)


def _unique(cell_id: str, taken: set[str]) -> str:
    out, n = cell_id, 2
    while out in taken:
        out, n = f"{cell_id}-{n}", n + 1
    taken.add(out)
    return out
