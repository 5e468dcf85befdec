"""The one config base: frozen, typed, range-checked, JSON-able dataclasses.

Every settings object in CryptoDesk derives from :class:`Params`: each model's config
(:class:`cryptodesk.models.config.ModelConfig`), the feature spec, the walk-forward protocol, the
trading strategy, the sentiment aggregation and the user settings. A subclass is declared as::

    @dataclass(frozen=True)
    class LstmConfig(ModelConfig):
        lookback: int = param(64, min=4, max=4096, label="Lookback (bars)",
                              help="Bars of history the network sees per forecast.")
        loss: Literal["mse", "pinball"] = param("mse", help="Training loss.")
        hidden: tuple[int, ...] = param((64,), min=1, max=4096, help="Units per layer.")

Why this shape:

- *frozen*: a config is a value. A fitted model, a saved bundle and a backtest report all hold
  the config they were made with; nobody can change it underneath them.
- *typed fields with metadata*: the GUI builds its forms from :meth:`params` (type, default,
  range, choices, label, help) without knowing what it draws (a model, the protocol, the
  strategy); the CLI and the bundle loader validate user input with the same rules
  (:meth:`from_dict`).
- *JSON-able*: :meth:`to_dict` / :meth:`from_dict` round-trip exactly through ``json``, so a
  saved model records its config as text (never pickle) and reloads into the same value.

Supported field types: ``bool``, ``int``, ``float``, ``str``, ``Literal[...]`` of strings or
ints, ``tuple[int, ...]`` / ``tuple[float, ...]`` / ``tuple[str, ...]``, any of those
``| None``, a nested ``Params`` subclass (kind ``group``: a sub-form, e.g. the feature spec of
a model; JSON as a nested object), ``dict[str, float]`` (kind ``float_map``: e.g. per-source
weights), ``dict[str, SomeParams]`` (kind ``group_map``: e.g. per-exchange settings) and
``dict[str, dict[str, Any]]`` (kind ``config_map``: settings objects of varying classes, e.g.
an ensemble's member configs, which their owner validates). Every field must have a default
(an object must be creatable with no arguments).

Errors: a value that breaks its declared type or range raises the class's ``error_cls`` (a
:class:`~cryptodesk.errors.CryptoDeskError` subclass: ``ModelError`` for model configs,
``SettingsError`` for settings...), so each front end reports it as a one-line user error.

Search spaces: a field may also declare where a tuner may look, next to its default
(``param(0.05, min=1e-4, max=1.0, search=Range(0.01, 0.3, log=True))`` or
``search=Choice((32,), (64, 32))``). :meth:`Params.search_space` lists them (nested groups
with dotted names); the nested walk-forward tuner (:mod:`cryptodesk.evaluation.tuning`) and
the GUI's tuning view read them from there, so a space is declared once, beside the default
it explores around, and checked against the field's own range when the class is first used.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar, Union, get_args, get_origin

from cryptodesk.errors import ConfigError, CryptoDeskError

META_KEY = "cryptodesk"
C = TypeVar("C", bound="Params")


@dataclass(frozen=True)
class Range:
    """A numeric search range for a tuner: ``lo``..``hi`` inclusive, optionally on a log scale
    (learning rates, regularisation) or in steps of ``step``. Integer fields draw integers."""

    lo: float
    hi: float
    log: bool = False
    step: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lo) and math.isfinite(self.hi)) or self.lo >= self.hi:
            raise ValueError(f"search range needs lo < hi, got {self.lo!r}..{self.hi!r}")
        if self.log and self.lo <= 0:
            raise ValueError("a log-scale search range needs lo > 0")
        if self.step is not None and (self.step <= 0 or self.log):
            raise ValueError("a search step must be > 0 and not on a log scale")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (``{"range": [lo, hi], "log": ..., "step": ...}``)."""
        return {"range": [self.lo, self.hi], "log": self.log, "step": self.step}


@dataclass(frozen=True)
class Choice:
    """A finite set of values for a tuner to pick from (any values the field accepts, e.g.
    layer widths as tuples)."""

    values: tuple[Any, ...]

    def __init__(self, *values: Any) -> None:
        if len(values) == 1 and isinstance(values[0], list):
            values = tuple(values[0])
        if len(values) < 2:
            raise ValueError("a search choice needs at least two values")
        object.__setattr__(self, "values", tuple(values))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (``{"choices": [...]}``)."""
        return {"choices": [_jsonable(v) for v in self.values]}


Search = Range | Choice


@dataclass(frozen=True)
class ParamMeta:
    """What a config field says about itself, beyond its type and default."""

    label: str | None = None
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    step: float | None = None
    log: bool = False  # the GUI uses a log-scale spin box/slider (learning rates)
    advanced: bool = False  # the GUI hides it behind "Advanced"
    search: Search | None = None  # where a tuner may look (Range or Choice)


@dataclass(frozen=True)
class ParamSpec:
    """One hyperparameter as the GUI form and the CLI see it (see :meth:`Params.params`).

    ``kind`` is one of ``bool, int, float, str, choice, int_tuple, float_tuple, str_tuple,
    group``; ``optional`` says whether None is allowed (an "off" checkbox in the form). For a
    ``group`` the nested config class is ``group`` (build a sub-form from its ``params()``).
    """

    name: str
    kind: str
    default: Any
    optional: bool
    label: str
    help: str
    min: float | None
    max: float | None
    choices: tuple[Any, ...] | None
    step: float | None
    log: bool
    advanced: bool
    group: type[Params] | None = None
    search: Search | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (for ``cryptodesk models --json`` and docs)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["search"] = None if self.search is None else self.search.to_dict()
        if self.group is not None:
            out["group"] = [p.to_dict() for p in self.group.params()]
            out["default"] = self.default.to_dict()
        if isinstance(out["default"], tuple):
            out["default"] = list(out["default"])
        if out["choices"] is not None:
            out["choices"] = list(out["choices"])
        return out


def param(
    default: Any,
    *,
    label: str | None = None,
    help: str = "",
    min: float | None = None,
    max: float | None = None,
    choices: tuple[Any, ...] | None = None,
    step: float | None = None,
    log: bool = False,
    advanced: bool = False,
    search: Search | None = None,
) -> Any:
    """A config field with a default and its form metadata (range, choices, label, help).

    For tuple fields ``min``/``max`` bound every element. ``choices`` is only needed for plain
    ``str``/``int`` fields; ``Literal[...]`` fields take their choices from the type.
    ``search`` declares the field's tuning space (:class:`Range` or :class:`Choice`).
    """
    meta = ParamMeta(label, help, min, max, tuple(choices) if choices else None, step, log,
                     advanced, search)
    if isinstance(default, dict):  # mutable: each object gets its own copy
        return field(default_factory=lambda: dict(default), metadata={META_KEY: meta})
    return field(default=default, metadata={META_KEY: meta})


@dataclass(frozen=True)
class Params:
    """Base of every config: validation on construction, JSON round trip, form specs.

    Subclasses are ``@dataclass(frozen=True)`` and declare fields with :func:`param`. An object
    that violates its declared types or ranges cannot be constructed (raises ``error_cls``), so
    nothing downstream ever sees an invalid one.
    """

    SCHEMA_VERSION: ClassVar[int] = 1
    error_cls: ClassVar[type[CryptoDeskError]] = ConfigError

    def __post_init__(self) -> None:
        for spec in self.params():
            value = getattr(self, spec.name)
            try:
                checked = _check_value(spec, value)
            except _Invalid as exc:
                raise self.error_cls(str(exc)) from None
            if checked is not value:
                object.__setattr__(self, spec.name, checked)

    # ------------------------------------------------------------------ description
    @classmethod
    def params(cls) -> list[ParamSpec]:
        """Every field as a :class:`ParamSpec`, in declaration order."""
        return list(_params_of(cls))

    @classmethod
    def search_space(cls) -> dict[str, tuple[ParamSpec, Search]]:
        """Every field with a declared search space, nested groups included under dotted
        names (``features.return_lags``), in declaration order."""
        return dict(_search_of(cls))

    # ------------------------------------------------------------------ JSON round trip
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists, nested configs dicts)."""
        return {
            f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)
        }

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any] | None) -> C:
        """Build and validate an object from a dict (JSON, CLI, GUI form).

        Missing keys take their defaults, so files written before a field was added still load.
        Unknown keys raise ``error_cls``: a typo must not silently fall back to a default.
        """
        if data is not None and not isinstance(data, dict):
            raise cls.error_cls(f"{cls.__name__}: expected an object of settings, got {data!r}"[:200])
        data = dict(data or {})
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in set(data) - names)
        if unknown:
            raise cls.error_cls(
                f"{cls.__name__}: unknown setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(names))}"
            )
        return cls(**data)

    def replace(self: C, **changes: Any) -> C:
        """A copy with some fields changed (validated like any construction)."""
        return dataclasses.replace(self, **changes)


class _Invalid(Exception):
    """A value failed its field's check (turned into the owning class's ``error_cls``)."""


@functools.cache
def _params_of(cls: type[Params]) -> tuple[ParamSpec, ...]:
    """Field specs of a config class (cached: classes do not change at run time)."""
    hints = typing.get_type_hints(cls)
    specs = []
    for f in dataclasses.fields(cls):
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name} needs a default")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        meta: ParamMeta = f.metadata.get(META_KEY, ParamMeta())
        hint = hints[f.name]
        kind, optional, literal = _kind_of(hint, f"{cls.__name__}.{f.name}")
        choices = literal if literal is not None else meta.choices
        group = _group_class(hint) if kind in ("group", "group_map") else None
        spec = ParamSpec(
            name=f.name,
            kind="choice" if literal is not None else kind,
            default=default,
            optional=optional,
            label=meta.label or f.name.replace("_", " ").capitalize(),
            help=meta.help,
            min=meta.min,
            max=meta.max,
            choices=choices,
            step=meta.step,
            log=meta.log,
            advanced=meta.advanced,
            group=group,
            search=meta.search,
        )
        if meta.search is not None:
            _check_search(spec, meta.search, f"{cls.__name__}.{f.name}")
        specs.append(spec)
    return tuple(specs)


@functools.cache
def _search_of(cls: type[Params]) -> tuple[tuple[str, tuple[ParamSpec, Search]], ...]:
    out: list[tuple[str, tuple[ParamSpec, Search]]] = []
    for spec in _params_of(cls):
        if spec.search is not None:
            out.append((spec.name, (spec, spec.search)))
        if spec.kind == "group" and spec.group is not None:
            out += [(f"{spec.name}.{k}", v) for k, v in _search_of(spec.group)]
    return tuple(out)


def _check_search(spec: ParamSpec, search: Search, where: str) -> None:
    """A declared space must fit its field: ranges only on numbers and within min/max,
    choices valid values of the field (a wrong space is a programming error: TypeError)."""
    if isinstance(search, Range):
        if spec.kind not in ("int", "float"):
            raise TypeError(f"{where}: a search Range needs an int or float field")
        for bound in (search.lo, search.hi):
            if (spec.min is not None and bound < spec.min) or (
                    spec.max is not None and bound > spec.max):
                raise TypeError(f"{where}: search range {search.lo}..{search.hi} leaves the "
                                f"field's range {spec.min}..{spec.max}")
        return
    for value in search.values:
        try:
            _check_value(spec, value)
        except _Invalid as exc:
            raise TypeError(f"{where}: search choice {value!r} is invalid ({exc})") from None


# ---------------------------------------------------------------------- helpers
def _jsonable(value: Any) -> Any:
    if isinstance(value, Params):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


_SCALARS = {bool: "bool", int: "int", float: "float", str: "str"}


def _kind_of(tp: Any, where: str) -> tuple[str, bool, tuple[Any, ...] | None]:
    """(kind, optional, literal choices) of a supported annotation."""
    optional = False
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) != 1 or len(get_args(tp)) != 2:
            raise TypeError(f"{where}: only 'X | None' unions are supported")
        optional, tp, origin = True, args[0], get_origin(args[0])
    if origin is Literal:
        return "choice", optional, tuple(get_args(tp))
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis and args[0] in (int, float, str):
            return f"{_SCALARS[args[0]]}_tuple", optional, None
        raise TypeError(f"{where}: tuples must be tuple[int|float|str, ...]")
    if origin is dict:
        key, val = get_args(tp)
        if key is str and val is float:
            return "float_map", optional, None
        if key is str and isinstance(val, type) and issubclass(val, Params):
            return "group_map", optional, None
        if key is str and get_origin(val) is dict:
            return "config_map", optional, None
        raise TypeError(f"{where}: dicts must be dict[str, float], dict[str, Params] or "
                        "dict[str, dict[str, Any]]")
    if tp in _SCALARS:
        return _SCALARS[tp], optional, None
    if isinstance(tp, type) and issubclass(tp, Params):
        return "group", optional, None
    raise TypeError(f"{where}: unsupported config type {tp!r}")


def _group_class(tp: Any) -> type[Params]:
    if get_origin(tp) in (Union, types.UnionType):
        tp = next(a for a in get_args(tp) if a is not type(None))
    if get_origin(tp) is dict:
        return get_args(tp)[1]
    return tp


def _check_value(spec: ParamSpec, value: Any) -> Any:
    """Validate (and lightly coerce: list->tuple, int->float, dict->group) one field value."""
    where = f"setting {spec.name!r}"
    if value is None:
        if spec.optional:
            return None
        raise _Invalid(f"{where} must not be empty")
    kind = spec.kind
    if kind == "group":
        assert spec.group is not None
        return _check_group(spec.group, value, where)
    if kind in ("float_map", "group_map", "config_map"):
        if not isinstance(value, dict):
            raise _Invalid(f"{where} must be an object of name -> value, got {_short(value)}")
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key:
                raise _Invalid(f"{where}: keys must be non-empty text, got {_short(key)}")
            if kind == "config_map":
                out[key] = _check_object(item, f"{where}[{key!r}]")
            elif kind == "group_map":
                assert spec.group is not None
                out[key] = _check_group(spec.group, item, f"{where}[{key!r}]")
            else:
                out[key] = _check_scalar(spec, "float", item, f"{where}[{key!r}]")
        return out
    if kind == "choice":
        if value not in spec.choices:  # type: ignore[operator]
            raise _Invalid(f"{where} must be one of {list(spec.choices or ())}, got {_short(value)}")
        return value
    if kind.endswith("_tuple"):
        if not isinstance(value, (list, tuple)):
            raise _Invalid(f"{where} must be a list, got {_short(value)}")
        elem = kind[: -len("_tuple")]
        return tuple(_check_scalar(spec, elem, v, f"{where} item") for v in value)
    return _check_scalar(spec, kind, value, where)


def _check_group(group: type[Params], value: Any, where: str) -> Params:
    if isinstance(value, group):
        return value
    if isinstance(value, dict):
        try:
            return group.from_dict(value)
        except CryptoDeskError as exc:
            raise _Invalid(f"{where}: {exc}") from None
    raise _Invalid(f"{where} must be a {group.__name__} or an object, got {_short(value)}")


def _check_object(value: Any, where: str) -> dict[str, Any]:
    """A JSON object of settings (checked by its owner, e.g. an ensemble's member configs),
    copied through strict JSON so it holds plain, finite values only."""
    import json

    if not isinstance(value, dict):
        raise _Invalid(f"{where} must be an object of settings, got {_short(value)}")
    try:
        return json.loads(json.dumps(_jsonable(value), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise _Invalid(f"{where} is not plain JSON ({exc})") from None


def _short(value: Any) -> str:
    """``repr`` cut to a readable length (a hostile file may hold megabytes in one value)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_scalar(spec: ParamSpec, kind: str, value: Any, where: str) -> Any:
    if kind == "bool":
        if not isinstance(value, bool):
            raise _Invalid(f"{where} must be true or false, got {_short(value)}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise _Invalid(f"{where} must be a whole number, got {_short(value)}")
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Invalid(f"{where} must be a number, got {_short(value)}")
        try:
            value = float(value)
        except OverflowError:
            raise _Invalid(f"{where} is too large") from None
        if not math.isfinite(value):
            raise _Invalid(f"{where} must be finite, got {_short(value)}")
    elif kind == "str":
        if not isinstance(value, str):
            raise _Invalid(f"{where} must be text, got {_short(value)}")
        if spec.choices is not None and value not in spec.choices:
            raise _Invalid(f"{where} must be one of {list(spec.choices)}, got {_short(value)}")
        return value
    if spec.choices is not None and value not in spec.choices:
        raise _Invalid(f"{where} must be one of {list(spec.choices)}, got {_short(value)}")
    if spec.min is not None and value < spec.min:
        raise _Invalid(f"{where} must be >= {spec.min:g}, got {_short(value)}")
    if spec.max is not None and value > spec.max:
        raise _Invalid(f"{where} must be <= {spec.max:g}, got {_short(value)}")
    return value
