"""The run spec: one JSON document that describes a walk-forward run completely.

Every run, from the GUI or the CLI, is described by a :class:`RunSpec`: which data (a stored
series or a CSV file, with its fingerprint), which models with their full configs and seeds,
the protocol, the trading strategy, the external inputs and the app version. The GUI writes the
spec of each run next to its export and offers it as a command; ``cryptodesk backtest
--save-spec`` writes one; ``cryptodesk run spec.json`` replays it headless and gets
bit-identical forecasts on the CPU. A spec is also what a job carries to a worker process (and
later to a cluster): plain JSON, nothing executable.

Reading a spec validates everything with clear one-line errors (unknown keys, wrong types, bad
model settings), bounds its size and nesting, and never uses a value read from it as a path
except the CSV data path the user named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptodesk import __version__
from cryptodesk.errors import ConfigError, CryptoDeskError
from cryptodesk.evaluation.strategy import StrategySpec
from cryptodesk.evaluation.tuning_spec import TuningSpec
from cryptodesk.evaluation.walkforward import WalkForwardSpec
from cryptodesk.sentiment.aggregate import AggregationConfig

SCHEMA = "cryptodesk.run/1"
MAX_SPEC_BYTES = 4 * 1024 * 1024
MAX_SPEC_DEPTH = 32
MAX_MODELS = 64
TARGETS = ("price", "volatility")
RV_METHODS = ("auto", "squared", "parkinson", "garman_klass", "intraday")
REGIMES = ("volatility", "markov", None)


class RunSpecError(ConfigError):
    """A run spec is malformed or does not match this CryptoDesk."""


@dataclass(frozen=True)
class DataRef:
    """Which candles: a stored series (source, symbol, timeframe) or a CSV file (``csv``),
    plus the fingerprint of the exact bars the run used (``first``/``last``/``rows``/
    ``sha256``). Replaying cuts the stored series to that range and checks the hash, so a
    series that grew since is fine and one that changed is refused."""

    symbol: str
    timeframe: str
    source: str = "csv"
    csv: str | None = None
    first: str | None = None
    last: str | None = None
    rows: int | None = None
    sha256: str | None = None
    synthetic: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, raw: Any) -> DataRef:
        raw = _object(raw, "data")
        _known(raw, cls.__dataclass_fields__, "data")
        for key in ("symbol", "timeframe"):
            _text(raw.get(key), f"data.{key}", required=True)
        for key in ("source", "csv", "first", "last", "sha256"):
            _text(raw.get(key), f"data.{key}")
        rows = raw.get("rows")
        if rows is not None and (not isinstance(rows, int) or isinstance(rows, bool) or rows < 0):
            raise RunSpecError(f"data.rows must be a whole number, got {rows!r}"[:120])
        if not isinstance(raw.get("synthetic", False), bool):
            raise RunSpecError("data.synthetic must be true or false")
        return cls(**raw)

    @property
    def label(self) -> str:
        return f"{self.symbol} {self.timeframe} ({self.source})"


@dataclass(frozen=True)
class ModelSpec:
    """One model of the run: its registry name and its full config (every field, seed too).

    ``label`` names it in results and events when one kind runs twice (the default config
    beside a tuned one, an LSTM from scratch beside a pre-trained one, ensembles with different
    combiners); ``tuning``, when set, tunes it inside every (K-th) training window."""

    name: str
    config: dict[str, Any] = field(default_factory=dict)
    label: str | None = None
    tuning: TuningSpec | None = None

    @property
    def key(self) -> str:
        """The name its results, forecasts and events carry (its label, else its kind)."""
        return self.label or self.name

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "config": self.config}
        if self.label is not None:
            out["label"] = self.label
        if self.tuning is not None:
            out["tuning"] = self.tuning.to_dict()
        return out


@dataclass(frozen=True)
class CrossInput:
    """Another stored series joined onto the candles (:mod:`cryptodesk.features.cross_asset`):
    role ``with`` adds its ``lags`` last log returns as features of every learning model, role
    ``pretrain`` its bars for the nets that pre-train on it. ``data`` fingerprints the bars
    used, so a replay joins exactly the same ones."""

    role: str
    data: DataRef
    lags: int = 3

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "data": self.data.to_dict(), "lags": self.lags}

    @classmethod
    def from_dict(cls, raw: Any, where: str) -> CrossInput:
        from cryptodesk.features.cross_asset import ROLES

        raw = _object(raw, where)
        _known(raw, {"role", "data", "lags"}, where)
        role, lags = raw.get("role"), raw.get("lags", 3)
        if role not in ROLES:
            raise RunSpecError(f"{where}.role must be one of {', '.join(ROLES)}, got "
                               f"{role!r}"[:120])
        if not isinstance(lags, int) or isinstance(lags, bool) or not 1 <= lags <= 500:
            raise RunSpecError(f"{where}.lags must be a whole number in 1..500")
        return cls(str(role), DataRef.from_dict(raw.get("data")), lags)


@dataclass(frozen=True)
class SentimentInput:
    """A sentiment dataset joined causally as model inputs, with its aggregation settings."""

    dataset: str
    aggregation: AggregationConfig = field(default_factory=AggregationConfig)

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "aggregation": self.aggregation.to_dict()}


@dataclass(frozen=True)
class RunSpec:
    """A complete, replayable description of one walk-forward run (see module docstring)."""

    data: DataRef
    models: tuple[ModelSpec, ...]
    protocol: WalkForwardSpec
    seed: int = 0
    preset: str | None = None
    strategy: StrategySpec | None = None
    regimes: str | None = "volatility"
    monitor_window: int = 50
    monitor_k: int = 20
    sentiment: SentimentInput | None = None
    target: str = "price"
    rv_method: str = "auto"  # volatility target: how each bar's realised variance is measured
    cross: tuple[CrossInput, ...] = ()
    app_version: str = __version__
    schema: str = SCHEMA

    def model_names(self) -> list[str]:
        """The names results are keyed by (each model's label, else its kind), in order."""
        return [m.key for m in self.models]

    def model(self, name: str) -> ModelSpec:
        """The spec of model ``name`` (its label, or its kind when that is unique)."""
        for spec in self.models:
            if spec.key == name:
                return spec
        kinds = [spec for spec in self.models if spec.name == name]
        if len(kinds) == 1:
            return kinds[0]
        raise RunSpecError(f"model {name!r} is not part of this run")

    def with_models(self, models: list[ModelSpec]) -> RunSpec:
        """The same run with other models (e.g. only those still to run)."""
        from dataclasses import replace

        return replace(self, models=tuple(models))

    # ---------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "app_version": self.app_version,
            "data": self.data.to_dict(),
            "models": [m.to_dict() for m in self.models],
            "protocol": self.protocol.to_dict(),
            "preset": self.preset,
            "seed": self.seed,
            "strategy": None if self.strategy is None else self.strategy.to_dict(),
            "regimes": self.regimes,
            "monitor": {"window": self.monitor_window, "k": self.monitor_k},
            "sentiment": None if self.sentiment is None else self.sentiment.to_dict(),
            "target": self.target,
            **({"volatility": {"measure": self.rv_method}} if self.target == "volatility" else {}),
            **({"cross": [c.to_dict() for c in self.cross]} if self.cross else {}),
        }

    def to_json(self) -> str:
        from cryptodesk.safejson import dumps

        return dumps(self.to_dict()) + "\n"

    @classmethod
    def from_dict(cls, raw: Any) -> RunSpec:
        """Validate and build a spec from parsed JSON (one-line RunSpecError on any problem)."""
        raw = _object(raw, "run spec")
        _known(raw, {"schema", "app_version", "data", "models", "protocol", "preset", "seed",
                     "strategy", "regimes", "monitor", "sentiment", "target", "volatility",
                     "cross"},
               "run spec")
        schema = raw.get("schema", SCHEMA)
        if schema != SCHEMA:
            raise RunSpecError(f"not a CryptoDesk run spec (schema {str(schema)[:40]!r}; "
                               f"this version reads {SCHEMA})")
        seed = raw.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**31:
            raise RunSpecError(f"seed must be a whole number in [0, 2**31), got {seed!r}"[:120])
        regimes = raw.get("regimes", "volatility")
        if regimes not in REGIMES:
            raise RunSpecError(f"regimes must be one of volatility, markov or null, got "
                               f"{regimes!r}"[:120])
        monitor = _object(raw.get("monitor", {}), "monitor")
        _known(monitor, {"window", "k"}, "monitor")
        window, k = monitor.get("window", 50), monitor.get("k", 20)
        for name, value, low in (("monitor.window", window, 2), ("monitor.k", k, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= 10**6:
                raise RunSpecError(f"{name} must be a whole number >= {low}, got {value!r}"[:120])
        target = raw.get("target", "price")
        if target not in TARGETS:
            raise RunSpecError(f"target must be one of {', '.join(TARGETS)}, got {target!r}"[:120])
        vol = _object(raw.get("volatility") or {}, "volatility")
        _known(vol, {"measure"}, "volatility")
        rv_method = vol.get("measure", "auto")
        if rv_method not in RV_METHODS:
            raise RunSpecError(f"volatility.measure must be one of {', '.join(RV_METHODS)}, got "
                               f"{rv_method!r}"[:120])
        try:
            protocol = WalkForwardSpec.from_dict(_object(raw.get("protocol"), "protocol"))
            strategy = (None if raw.get("strategy") is None
                        else StrategySpec.from_dict(_object(raw["strategy"], "strategy")))
            sentiment = _sentiment(raw.get("sentiment"))
        except RunSpecError:
            raise
        except CryptoDeskError as exc:
            raise RunSpecError(str(exc)) from None
        return cls(
            data=DataRef.from_dict(raw.get("data")),
            models=_models(raw.get("models")),
            protocol=protocol,
            seed=seed,
            preset=_text(raw.get("preset"), "preset"),
            strategy=strategy,
            regimes=regimes,
            monitor_window=window,
            monitor_k=k,
            sentiment=sentiment,
            target=target,
            rv_method=rv_method,
            cross=_cross(raw.get("cross", [])),
            app_version=_text(raw.get("app_version"), "app_version") or __version__,
            schema=SCHEMA,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> RunSpec:
        """Parse spec text (bounded size, nesting and numbers) and validate it."""
        from cryptodesk.safejson import JsonInputError, loads_bounded

        try:
            raw = loads_bounded(text, MAX_SPEC_BYTES, MAX_SPEC_DEPTH)
        except JsonInputError as exc:
            raise RunSpecError(f"run spec {exc}") from None
        return cls.from_dict(raw)

    @classmethod
    def read(cls, path: Path) -> RunSpec:
        """Read a spec file (one-line error when missing, unreadable or invalid)."""
        from cryptodesk.safejson import read_file_bounded

        path = Path(path)
        try:
            data = read_file_bounded(path, MAX_SPEC_BYTES)
        except FileNotFoundError:
            raise RunSpecError(f"no run spec at {path}") from None
        except OSError as exc:
            raise RunSpecError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            return cls.from_json(data)
        except RunSpecError as exc:
            raise RunSpecError(f"{path}: {exc}") from None

    def write(self, path: Path) -> Path:
        """Write the spec as JSON, atomically."""
        from cryptodesk.atomic import write_text_atomic

        write_text_atomic(Path(path), self.to_json())
        return Path(path)


# ---------------------------------------------------------------------- building
def model_spec(name: str, config: dict[str, Any] | None = None, seed: int | None = None, *,
               label: str | None = None, tuning: TuningSpec | None = None) -> ModelSpec:
    """A model entry with its *full* config: defaults filled in and validated, and the run's
    seed in the config of a stochastic model, so the spec alone reproduces the forecasts.
    A model whose config names itself (an ensemble: ``ensemble:arima+lightgbm/stack``) gets
    that label unless one is given."""
    from cryptodesk.models.registry import config_class, model_entry

    entry = model_entry(name)
    values = dict(config or {})
    cls = config_class(entry.name)
    if seed is not None and any(p.name == "seed" for p in cls.params()):
        values["seed"] = seed
    full = cls.from_dict(values)
    if label is None and callable(getattr(full, "label", None)):
        label = full.label()
    return ModelSpec(entry.name, full.to_dict(), label, tuning)


def data_ref(candles: Any, csv: str | None = None) -> DataRef:
    """The reference of a candle frame (its metadata and fingerprint)."""
    from cryptodesk.data.fingerprint import data_fingerprint

    fp = data_fingerprint(candles)
    return DataRef(
        symbol=str(fp["symbol"] or ""), timeframe=str(fp["timeframe"] or ""),
        source=str(fp["source"] or "csv"), csv=csv, first=fp["first"], last=fp["last"],
        rows=int(fp["rows"]), sha256=fp["sha256"], synthetic=bool(fp["synthetic"]),
    )


def build_run_spec(
    candles: Any,
    models: list[tuple[str, dict[str, Any]] | ModelSpec],
    protocol: WalkForwardSpec,
    *,
    seed: int,
    preset: str | None = None,
    strategy: StrategySpec | None = None,
    sentiment: SentimentInput | None = None,
    csv: str | None = None,
    regimes: str | None = "volatility",
    monitor_window: int = 50,
    monitor_k: int = 20,
    target: str = "price",
    rv_method: str = "auto",
    cross: tuple[CrossInput, ...] = (),
    data: DataRef | None = None,
) -> RunSpec:
    """The spec of a run of ``models`` on ``candles`` (naive first, always; duplicates
    dropped), with full configs and the seed applied to every stochastic model. Models are
    ``(name, config)`` pairs, or :class:`ModelSpec` s with a label or a tuning budget. With
    ``sentiment`` or ``cross`` inputs of role ``with``, their feature columns are added to the
    inputs of every model that takes external columns, so the spec records exactly what each
    model saw. ``data``: the candles' reference when the caller has it already (the GUI
    fingerprints a series when it loads it, off the GUI thread); otherwise it is computed here."""
    from cryptodesk.app.external import add_external
    from cryptodesk.models.registry import default_registry

    baseline = default_registry().baseline()
    items = [m if isinstance(m, ModelSpec) else ModelSpec(str(m[0]).strip().lower(),
                                                          dict(m[1] or {})) for m in models]
    columns: tuple[str, ...] = ()
    if sentiment is not None:
        from cryptodesk.app.external import sentiment_columns

        columns += sentiment_columns(sentiment.dataset)
    for item in cross:
        if item.role == "with":
            from cryptodesk.features.cross_asset import with_columns

            columns += with_columns(item.data.symbol, item.lags)
    if columns:
        configs = add_external([(m.name, m.config) for m in items], columns)
        items = [ModelSpec(m.name, c, m.label, m.tuning)
                 for m, (_n, c) in zip(items, configs, strict=True)]
    specs: dict[str, ModelSpec] = {}
    for item in [ModelSpec(baseline), *items]:
        full = model_spec(item.name, item.config, seed, label=item.label, tuning=item.tuning)
        specs.setdefault(full.key, full)
    if len(specs) > MAX_MODELS:
        raise RunSpecError(f"at most {MAX_MODELS} models in one run")
    if target not in TARGETS:
        raise RunSpecError(f"target must be one of {', '.join(TARGETS)}, got {target!r}")
    for item in items:
        targets = default_registry().entry(item.name).capabilities.targets
        if target not in targets:
            raise RunSpecError(f"{item.name} does not forecast {target} (it forecasts "
                               f"{' and '.join(targets)})")
    return RunSpec(data=data if data is not None else data_ref(candles, csv),
                   models=tuple(specs.values()), protocol=protocol, seed=seed, preset=preset,
                   strategy=strategy, regimes=regimes, monitor_window=monitor_window,
                   monitor_k=monitor_k, sentiment=sentiment, target=target, rv_method=rv_method,
                   cross=tuple(cross))


# ---------------------------------------------------------------------- validation helpers
def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RunSpecError(f"{where} must be a JSON object")
    return value


def _known(raw: dict[str, Any], known: Any, where: str) -> None:
    unknown = sorted(str(k)[:40] for k in raw if k not in known)
    if unknown:
        raise RunSpecError(f"{where}: unknown key(s) {', '.join(unknown[:5])}")


def _text(value: Any, where: str, required: bool = False, limit: int = 4096) -> str | None:
    if value is None:
        if required:
            raise RunSpecError(f"{where} is missing")
        return None
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise RunSpecError(f"{where} must be text (at most {limit} characters)")
    return value


def _models(raw: Any) -> tuple[ModelSpec, ...]:
    if not isinstance(raw, list) or not raw:
        raise RunSpecError("models must be a non-empty list")
    if len(raw) > MAX_MODELS:
        raise RunSpecError(f"at most {MAX_MODELS} models in one run")
    from cryptodesk.models.registry import config_class, model_entry

    out = []
    for i, item in enumerate(raw):
        item = _object(item, f"models[{i}]")
        _known(item, {"name", "config", "label", "tuning"}, f"models[{i}]")
        name = _text(item.get("name"), f"models[{i}].name", required=True, limit=64)
        label = _text(item.get("label"), f"models[{i}].label", limit=128)
        try:
            entry = model_entry(str(name))
            config = config_class(entry.name).from_dict(_object(item.get("config", {}),
                                                                f"models[{i}].config"))
            tuning = (None if item.get("tuning") is None else
                      TuningSpec.from_dict(_object(item["tuning"], f"models[{i}].tuning")))
        except RunSpecError:
            raise
        except CryptoDeskError as exc:
            raise RunSpecError(f"models[{i}] ({name}): {exc}") from None
        out.append(ModelSpec(entry.name, config.to_dict(), label, tuning))
    names = [m.key for m in out]
    if len(set(names)) != len(names):
        raise RunSpecError("models: each model (or label) may appear once")
    return tuple(out)


def _cross(raw: Any) -> tuple[CrossInput, ...]:
    if not isinstance(raw, list):
        raise RunSpecError("cross must be a list")
    if len(raw) > MAX_MODELS:
        raise RunSpecError(f"at most {MAX_MODELS} cross-asset inputs")
    return tuple(CrossInput.from_dict(item, f"cross[{i}]") for i, item in enumerate(raw))


def _sentiment(raw: Any) -> SentimentInput | None:
    if raw is None:
        return None
    raw = _object(raw, "sentiment")
    _known(raw, {"dataset", "aggregation"}, "sentiment")
    dataset = _text(raw.get("dataset"), "sentiment.dataset", required=True, limit=128)
    aggregation = AggregationConfig.from_dict(_object(raw.get("aggregation", {}),
                                                      "sentiment.aggregation"))
    return SentimentInput(str(dataset), aggregation)
