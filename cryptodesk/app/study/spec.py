"""The study spec: one TOML file that describes a whole study, validated with one-line errors.

A study asks a question such as "does the CNN-GRU beat LSTM, ARIMA and CNN on BTC, ETH and
XRP, over five seeds?". Its spec lists the **series** (stored symbols or CSV files, with their
timeframes), the **models** (registry names with configs; tuning budgets and ensembles where
this build has them), the **targets**, the walk-forward **protocol** (a preset and/or explicit
settings), the **seeds**, the CPU **threads** each cell may use, the **statistics** settings
and the **comparisons** to test. ``docs/studies.md`` documents every key; the built-in
``seed-claims`` study (``resources/studies/seed-claims.toml``) is a full example.

Reading is strict, because a typo in a study costs hours: unknown keys, wrong types, unknown
models, bad model settings, comparisons naming models that are not in the study: each is a
:class:`StudySpecError` whose one line names the place (``models[2] (lstm): ...``). A spec is
plain data (:meth:`StudySpec.to_dict` / :meth:`StudySpec.from_dict`), so it travels to a worker
process or the GUI as JSON; CSV paths are made absolute against the spec file's folder on
reading, so the spec means the same wherever it runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptodesk.errors import ConfigError, CryptoDeskError

MAX_SPEC_BYTES = 1024 * 1024
MAX_SERIES, MAX_MODELS, MAX_SEEDS, MAX_COMPARISONS = 200, 64, 1000, 200
METRICS = ("mae", "rmse")
VOLATILITY_METRICS = ("mae", "rmse", "qlike")  # QLIKE compares variance forecasts only
EXPECTATIONS = ("better", "not_worse")
ENSEMBLE_PREFIX = "ensemble:"


class StudySpecError(ConfigError):
    """A study spec is malformed or asks for something this build cannot do."""


@dataclass(frozen=True)
class SeriesSpec:
    """One candle series: a stored symbol (resolved like ``--symbol``: ``BTC-USD``,
    ``btc/usdt``...) or a CSV file, with its timeframe (and source when several are stored)."""

    symbol: str | None = None
    timeframe: str | None = None
    source: str | None = None
    csv: str | None = None

    @property
    def label(self) -> str:
        name = self.symbol or Path(self.csv or "").stem
        return f"{name} {self.timeframe}" if self.timeframe else name


@dataclass(frozen=True)
class TuneSpec:
    """A tuning budget: ``trials`` per tuning, at most ``timeout`` seconds each, retuned every
    ``tune_every`` refits (passed through to the model's run spec)."""

    trials: int = 20
    timeout: float | None = None
    tune_every: int = 1


@dataclass(frozen=True)
class ModelSpecEntry:
    """A model of the study: ``label`` (how comparisons and tables name it; default the
    name), the registry ``name`` (or ``ensemble:a+b+c``), its config, and optionally a tuning
    budget and an ensemble combiner."""

    label: str
    name: str
    config: dict[str, Any] = field(default_factory=dict)
    tune: TuneSpec | None = None
    combiner: str | None = None

    @property
    def is_ensemble(self) -> bool:
        return self.name.startswith(ENSEMBLE_PREFIX)


@dataclass(frozen=True)
class Comparison:
    """A claim to test: ``model`` against each of ``baselines`` on ``metrics``.

    ``expect = "better"``: the model's error is lower, by at least ``min_change`` % when the
    claim states a size ("15-20 % better"); ``expect = "not_worse"``: its error is at most
    ``margin`` % higher (a strong baseline). Every series of the study is tested."""

    name: str
    model: str
    baselines: tuple[str, ...]
    metrics: tuple[str, ...] = METRICS
    expect: str = "better"
    min_change: float = 0.0
    margin: float = 0.0
    target: str = "price"


@dataclass(frozen=True)
class Statistics:
    """How verdicts are computed: significance level, CI level, bootstrap replicates."""

    alpha: float = 0.05
    level: float = 0.95
    bootstrap: int = 2000


@dataclass(frozen=True)
class StudySpec:
    """A validated study (see module docstring)."""

    name: str
    series: tuple[SeriesSpec, ...]
    models: tuple[ModelSpecEntry, ...]
    protocol: dict[str, Any]
    seeds: tuple[int, ...] = (0,)
    targets: tuple[str, ...] = ("price",)
    threads: int = 1
    comparisons: tuple[Comparison, ...] = ()
    statistics: Statistics = field(default_factory=Statistics)
    description: str = ""

    def model(self, label: str) -> ModelSpecEntry:
        """The model entry called ``label``."""
        for entry in self.models:
            if entry.label == label:
                return entry
        raise StudySpecError(f"no model {label!r} in this study")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (what :meth:`from_dict` reads back)."""
        out = asdict(self)
        for model in out["models"]:
            if model["tune"] is None:
                del model["tune"]
            if model["combiner"] is None:
                del model["combiner"]
        out["series"] = [{k: v for k, v in s.items() if v is not None} for s in out["series"]]
        return out

    @classmethod
    def from_dict(cls, raw: Any, base: Path | None = None) -> StudySpec:
        """Validate parsed TOML/JSON; ``base``: the folder CSV paths are relative to."""
        return _parse(_Node(raw, "study"), base)

    @classmethod
    def from_toml(cls, text: str, base: Path | None = None, where: str = "study spec") -> StudySpec:
        """Parse and validate TOML text (one-line error prefixed with ``where``)."""
        if len(text.encode("utf-8")) > MAX_SPEC_BYTES:
            raise StudySpecError(f"{where}: larger than {MAX_SPEC_BYTES // 1024} KB")
        try:
            raw = _tomllib().loads(text)
        except ValueError as exc:  # tomllib.TOMLDecodeError
            raise StudySpecError(f"{where}: not valid TOML ({exc})") from None
        try:
            return cls.from_dict(raw, base)
        except StudySpecError as exc:
            raise StudySpecError(f"{where}: {exc}") from None

    @classmethod
    def read(cls, path: Path) -> StudySpec:
        """Read a spec file (one-line error when missing, unreadable or invalid)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise StudySpecError(f"no study spec at {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise StudySpecError(f"cannot read {path}: {exc}") from None
        return cls.from_toml(text, path.resolve().parent, where=str(path))


def _tomllib() -> Any:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the same parser as the tomli package
        import tomli as tomllib
    return tomllib


# ---------------------------------------------------------------------- reading
class _Node:
    """A value read from the spec and where it sits (``models[2].tune``), for error lines."""

    def __init__(self, value: Any, where: str) -> None:
        self.value, self.where = value, where

    def fail(self, problem: str) -> StudySpecError:
        return StudySpecError(f"{self.where}: {problem}"[:300])

    def table(self, known: tuple[str, ...]) -> dict[str, _Node]:
        if not isinstance(self.value, dict):
            raise self.fail("expected a table of settings")
        unknown = sorted(str(k)[:40] for k in self.value if k not in known)
        if unknown:
            raise self.fail(f"unknown key(s) {', '.join(unknown[:5])}; known: {', '.join(known)}")
        return {k: _Node(v, f"{self.where}.{k}" if self.where != "study" else k)
                for k, v in self.value.items()}

    def items(self, limit: int, required: bool = True) -> list[_Node]:
        if not isinstance(self.value, list) or (required and not self.value):
            raise self.fail("expected a non-empty list" if required else "expected a list")
        if len(self.value) > limit:
            raise self.fail(f"at most {limit} entries")
        return [_Node(v, f"{self.where}[{i}]") for i, v in enumerate(self.value)]

    def text(self, limit: int = 200) -> str:
        if not isinstance(self.value, str) or not self.value.strip() or len(self.value) > limit:
            raise self.fail(f"expected text (1 to {limit} characters)")
        return self.value.strip()

    def number(self, low: float, high: float, whole: bool = False) -> Any:
        v = self.value
        kinds = (int,) if whole else (int, float)
        if isinstance(v, bool) or not isinstance(v, kinds) or not low <= v <= high:
            kind = "a whole number" if whole else "a number"
            raise self.fail(f"expected {kind} from {low:g} to {high:g}, got {v!r}"[:120])
        return v


def _get(table: dict[str, _Node], key: str, default: Any = None) -> _Node | None:
    """The node at ``key``; an absent key (or a null from JSON) gives ``default``."""
    node = table.get(key)
    if node is not None and node.value is not None:
        return node
    return None if default is None else _Node(default, key)


def _parse(root: _Node, base: Path | None) -> StudySpec:
    t = root.table(("name", "description", "series", "models", "protocol", "seeds", "targets",
                    "threads", "comparisons", "statistics"))
    if "series" not in t or "models" not in t:
        raise root.fail("a study needs [[series]] and [[models]] entries")
    name = t["name"].text(80) if "name" in t else "study"
    series = tuple(_series(n, base) for n in t["series"].items(MAX_SERIES))
    if len({s.label for s in series}) != len(series):
        raise t["series"].fail("each series may appear once")
    models = tuple(_model(n) for n in t["models"].items(MAX_MODELS))
    labels = [m.label for m in models]
    if len(set(labels)) != len(labels):
        raise t["models"].fail("model labels must be unique (give a second entry of the same "
                               "model its own label = \"...\")")
    seeds_node = _get(t, "seeds", [0])
    seeds = tuple(int(n.number(0, 2**31 - 1, whole=True)) for n in seeds_node.items(MAX_SEEDS))
    if len(set(seeds)) != len(seeds):
        raise seeds_node.fail("seeds must be different")
    targets = tuple(_target(n) for n in _get(t, "targets", ["price"]).items(8))
    threads = int(_get(t, "threads", 1).number(1, 256, whole=True))
    statistics = _statistics(t.get("statistics"))
    _check_targets(models, targets, t["models"])
    comparisons = tuple(_comparison(n, labels, targets, series)
                        for n in _get(t, "comparisons", []).items(MAX_COMPARISONS, False))
    for node, comparison in zip(_get(t, "comparisons", []).items(MAX_COMPARISONS, False),
                                comparisons, strict=True):
        _check_comparison_target(node, comparison, models)
    description = t["description"].text(4000) if _get(t, "description", "").value else ""
    return StudySpec(name, series, models, _protocol(t.get("protocol")), seeds, targets,
                     threads, comparisons, statistics, description)


def _series(node: _Node, base: Path | None) -> SeriesSpec:
    t = node.table(("symbol", "timeframe", "source", "csv"))
    values = {k: v.text(400) for k, v in t.items()}
    if not values.get("symbol") and not values.get("csv"):
        raise node.fail("give symbol = \"BTC-USD\" (a stored series) or csv = \"file.csv\"")
    if values.get("timeframe"):
        from cryptodesk.data.timeframes import normalize_timeframe

        try:
            values["timeframe"] = normalize_timeframe(values["timeframe"])
        except CryptoDeskError as exc:
            raise t["timeframe"].fail(str(exc)) from None
    if values.get("csv"):
        path = Path(values["csv"]).expanduser()
        values["csv"] = str(path if path.is_absolute() or base is None else (base / path).resolve())
    return SeriesSpec(**values)


def _model(node: _Node) -> ModelSpecEntry:
    t = node.table(("name", "label", "config", "tune", "combiner"))
    if "name" not in t:
        raise node.fail("name is missing")
    name = t["name"].text(200).lower()
    label = t["label"].text(60) if "label" in t else name
    where = f"{node.where} ({label})"
    config = t["config"].value if "config" in t else {}
    if not isinstance(config, dict):
        raise StudySpecError(f"{where}: config must be a table of settings")
    tune = _tune(t["tune"], where) if _get(t, "tune") else None
    combiner = t["combiner"].text(40) if _get(t, "combiner") else None
    entry = ModelSpecEntry(label, name, dict(config), tune, combiner)
    from cryptodesk.app.study.models import check_model

    try:
        check_model(entry)
    except CryptoDeskError as exc:
        raise StudySpecError(f"{where}: {exc}") from None
    return entry


def _check_targets(models: tuple[ModelSpecEntry, ...], targets: tuple[str, ...],
                   node: _Node) -> None:
    """Every model must forecast at least one of the study's targets (a model runs only on
    the targets it supports: GARCH on volatility, the nets on price)."""
    from cryptodesk.app.study.models import targets_of

    for i, entry in enumerate(models):
        if not set(targets_of(entry.name)) & set(targets):
            raise StudySpecError(
                f"{node.where}[{i}] ({entry.label}): forecasts {', '.join(targets_of(entry.name))}"
                f" only; the study's targets are {', '.join(targets)}")


def _check_comparison_target(node: _Node, c: Comparison,
                             models: tuple[ModelSpecEntry, ...]) -> None:
    from cryptodesk.app.study.models import targets_of

    names = {m.label: m.name for m in models}
    for label in (c.model, *c.baselines):
        if c.target not in targets_of(names.get(label, label)):
            raise StudySpecError(f"{node.where} ({c.name}): model {label!r} does not forecast "
                                 f"{c.target}")


def _tune(node: _Node, where: str) -> TuneSpec:
    t = _Node(node.value, f"{where}.tune").table(("trials", "timeout", "tune_every"))
    trials = int(_get(t, "trials", 20).number(1, 100_000, whole=True))
    timeout_node = _get(t, "timeout")
    timeout = None if timeout_node is None else float(timeout_node.number(1, 7 * 86_400))
    every = int(_get(t, "tune_every", 1).number(1, 1_000_000, whole=True))
    return TuneSpec(trials, timeout, every)


def _target(node: _Node) -> str:
    from cryptodesk.app.runspec import TARGETS

    value = node.text(40).lower()
    if value not in TARGETS:
        known = ", ".join(TARGETS)
        raise node.fail(f"target {value!r} is not available in this build (available: {known})")
    return value


def _protocol(node: _Node | None) -> dict[str, Any]:
    """The protocol table: ``preset`` plus explicit walk-forward settings (they win)."""
    from cryptodesk.evaluation.walkforward import WalkForwardSpec

    if node is None:
        return {"preset": "wf1"}
    fields = tuple(p.name for p in WalkForwardSpec.params())
    t = node.table(("preset", *fields))
    out: dict[str, Any] = {k: v.value for k, v in t.items()}
    if "preset" in out:
        from cryptodesk.evaluation.presets import preset_names

        preset = t["preset"].text(40).lower()
        if preset not in preset_names():
            raise t["preset"].fail(f"unknown preset {preset!r}; known: {', '.join(preset_names())}")
        out["preset"] = preset
    elif "test_size" not in out and "test_start" not in out:
        raise node.fail("give preset = \"wf1\" or the test window (test_size or test_start)")
    try:  # check the explicit settings once now (against a daily preset when there is one)
        WalkForwardSpec.from_dict({**({"test_size": 1} if "preset" not in out else {}),
                                   **{k: v for k, v in out.items() if k != "preset"}})
    except CryptoDeskError as exc:
        raise node.fail(str(exc)) from None
    return out


def _statistics(node: _Node | None) -> Statistics:
    if node is None:
        return Statistics()
    t = node.table(("alpha", "level", "bootstrap"))
    return Statistics(
        alpha=float(_get(t, "alpha", 0.05).number(1e-6, 0.5)),
        level=float(_get(t, "level", 0.95).number(0.5, 0.999)),
        bootstrap=int(_get(t, "bootstrap", 2000).number(100, 100_000, whole=True)),
    )


def _comparison(node: _Node, labels: list[str], targets: tuple[str, ...],
                series: tuple[SeriesSpec, ...]) -> Comparison:
    t = node.table(("name", "model", "baselines", "baseline", "metrics", "expect",
                    "min_change", "margin", "target"))
    for key in ("name", "model"):
        if key not in t:
            raise node.fail(f"{key} is missing")
    name = t["name"].text(200)
    where = _Node(None, f"{node.where} ({name})")
    model = t["model"].text(60)
    if "baseline" in t and "baselines" in t:
        raise where.fail("give baseline or baselines, not both")
    if "baseline" in t:
        baselines: tuple[str, ...] = (t["baseline"].text(60),)
    elif "baselines" in t:
        baselines = tuple(n.text(60) for n in t["baselines"].items(MAX_MODELS))
    else:
        raise where.fail("baselines is missing")
    known = [*labels, "naive"]
    for label in (model, *baselines):
        if label not in known:
            raise where.fail(f"model {label!r} is not in the study's models ({', '.join(labels)})")
    if model in baselines:
        raise where.fail("a model cannot be its own baseline")
    expect = _get(t, "expect", "better").text(20).lower()
    if expect not in EXPECTATIONS:
        raise where.fail(f"expect must be one of {', '.join(EXPECTATIONS)}")
    target = _get(t, "target", targets[0]).text(40).lower()
    if target not in targets:
        raise where.fail(f"target {target!r} is not among the study's targets")
    allowed = VOLATILITY_METRICS if target == "volatility" else METRICS
    metrics = tuple(n.text(10).lower() for n in _get(t, "metrics", list(METRICS)).items(3))
    if any(m not in allowed for m in metrics) or len(set(metrics)) != len(metrics):
        raise where.fail(f"metrics must be some of {', '.join(allowed)} (for {target})")
    return Comparison(
        name=name, model=model, baselines=baselines, metrics=metrics, expect=expect,
        min_change=float(_get(t, "min_change", 0.0).number(0, 100)),
        margin=float(_get(t, "margin", 0.0).number(0, 100)), target=target,
    )
