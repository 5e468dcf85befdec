"""Model configuration conventions: frozen, typed, range-checked, JSON-able dataclasses.

Every model has one config class, a subclass of :class:`ModelConfig`, declared as::

    @dataclass(frozen=True)
    class LstmConfig(ModelConfig):
        lookback: int = param(64, min=4, max=4096, label="Lookback (bars)",
                              help="Bars of history the network sees per forecast.")
        loss: Literal["mse", "pinball"] = param("mse", help="Training loss.")
        hidden: tuple[int, ...] = param((64,), min=1, max=4096, help="Units per layer.")

Why this shape:

- *frozen*: a config is a value. A fitted model, a saved bundle and a backtest report all hold
  the config they were made with; nobody can change it underneath them.
- *typed fields with metadata*: the GUI builds its hyperparameter form from :meth:`params`
  (type, default, range, choices, label, help) without knowing any model; the CLI and the
  bundle loader validate user input with the same rules (:meth:`from_dict`).
- *JSON-able*: :meth:`to_dict` / :meth:`from_dict` round-trip exactly through ``json``, so a
  saved model records its config as text (never pickle) and reloads into the same value.

Supported field types: ``bool``, ``int``, ``float``, ``str``, ``Literal[...]`` of strings or
ints, ``tuple[int, ...]`` / ``tuple[float, ...]`` / ``tuple[str, ...]``, any of those
``| None``, and a nested ``ModelConfig`` subclass (kind ``group``: a sub-form, e.g. the
feature spec of a model; JSON as a nested object). Every field must have a default (a model
must be creatable with no arguments).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar, Union, get_args, get_origin

from cryptodesk.errors import ModelError

META_KEY = "cryptodesk"
C = TypeVar("C", bound="ModelConfig")


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


@dataclass(frozen=True)
class ParamSpec:
    """One hyperparameter as the GUI form and the CLI see it (see :meth:`ModelConfig.params`).

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
    group: type[ModelConfig] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (for ``cryptodesk models --json`` and docs)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
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
) -> Any:
    """A config field with a default and its form metadata (range, choices, label, help).

    For tuple fields ``min``/``max`` bound every element. ``choices`` is only needed for plain
    ``str``/``int`` fields; ``Literal[...]`` fields take their choices from the type.
    """
    meta = ParamMeta(label, help, min, max, tuple(choices) if choices else None, step, log, advanced)
    return field(default=default, metadata={META_KEY: meta})


@dataclass(frozen=True)
class ModelConfig:
    """Base of every model config: validation on construction, JSON round trip, form specs.

    Subclasses are ``@dataclass(frozen=True)`` and declare fields with :func:`param`. A config
    that violates its declared types or ranges cannot be constructed (raises ModelError), so a
    model never sees an invalid one.
    """

    SCHEMA_VERSION: ClassVar[int] = 1

    def __post_init__(self) -> None:
        for spec in self.params():
            value = getattr(self, spec.name)
            checked = _check_value(spec, value)
            if checked is not value:
                object.__setattr__(self, spec.name, checked)

    # ------------------------------------------------------------------ description
    @classmethod
    def params(cls) -> list[ParamSpec]:
        """Every field as a :class:`ParamSpec`, in declaration order."""
        return list(_params_of(cls))

    # ------------------------------------------------------------------ JSON round trip
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists, nested configs dicts)."""
        return {
            f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)
        }

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any] | None) -> C:
        """Build and validate a config from a dict (JSON, CLI, GUI form).

        Missing keys take their defaults, so models saved before a field was added still load.
        Unknown keys raise ModelError: a typo must not silently fall back to a default.
        """
        data = dict(data or {})
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ModelError(
                f"{cls.__name__}: unknown setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(names))}"
            )
        return cls(**data)

    def replace(self: C, **changes: Any) -> C:
        """A copy with some fields changed (validated like any construction)."""
        return dataclasses.replace(self, **changes)


@functools.cache
def _params_of(cls: type[ModelConfig]) -> tuple[ParamSpec, ...]:
    """Field specs of a config class (cached: classes do not change at run time)."""
    hints = typing.get_type_hints(cls)
    specs = []
    for f in dataclasses.fields(cls):
        if f.default is dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name} needs a default")
        meta: ParamMeta = f.metadata.get(META_KEY, ParamMeta())
        hint = hints[f.name]
        kind, optional, literal = _kind_of(hint, f"{cls.__name__}.{f.name}")
        choices = literal if literal is not None else meta.choices
        group = _group_class(hint) if kind == "group" else None
        specs.append(
            ParamSpec(
                name=f.name,
                kind="choice" if literal is not None else kind,
                default=f.default,
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
            )
        )
    return tuple(specs)


# ---------------------------------------------------------------------- helpers
def _jsonable(value: Any) -> Any:
    if isinstance(value, ModelConfig):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
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
    if tp in _SCALARS:
        return _SCALARS[tp], optional, None
    if isinstance(tp, type) and issubclass(tp, ModelConfig):
        return "group", optional, None
    raise TypeError(f"{where}: unsupported config type {tp!r}")


def _group_class(tp: Any) -> type[ModelConfig]:
    if get_origin(tp) in (Union, types.UnionType):
        tp = next(a for a in get_args(tp) if a is not type(None))
    return tp


def _check_value(spec: ParamSpec, value: Any) -> Any:
    """Validate (and lightly coerce: list->tuple, int->float) one field value."""
    where = f"setting {spec.name!r}"
    if value is None:
        if spec.optional:
            return None
        raise ModelError(f"{where} must not be empty")
    kind = spec.kind
    if kind == "group":
        assert spec.group is not None
        if isinstance(value, spec.group):
            return value
        if isinstance(value, dict):
            return spec.group.from_dict(value)
        raise ModelError(f"{where} must be a {spec.group.__name__} or a dict, got {value!r}")
    if kind == "choice":
        if value not in spec.choices:  # type: ignore[operator]
            raise ModelError(f"{where} must be one of {list(spec.choices or ())}, got {value!r}")
        return value
    if kind.endswith("_tuple"):
        if not isinstance(value, (list, tuple)):
            raise ModelError(f"{where} must be a list, got {value!r}")
        elem = kind[: -len("_tuple")]
        return tuple(_check_scalar(spec, elem, v, f"{where} item") for v in value)
    return _check_scalar(spec, kind, value, where)


def _check_scalar(spec: ParamSpec, kind: str, value: Any, where: str) -> Any:
    if kind == "bool":
        if not isinstance(value, bool):
            raise ModelError(f"{where} must be true or false, got {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ModelError(f"{where} must be a whole number, got {value!r}")
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ModelError(f"{where} must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ModelError(f"{where} must be finite, got {value!r}")
    elif kind == "str":
        if not isinstance(value, str):
            raise ModelError(f"{where} must be text, got {value!r}")
        if spec.choices is not None and value not in spec.choices:
            raise ModelError(f"{where} must be one of {list(spec.choices)}, got {value!r}")
        return value
    if spec.choices is not None and value not in spec.choices:
        raise ModelError(f"{where} must be one of {list(spec.choices)}, got {value!r}")
    if spec.min is not None and value < spec.min:
        raise ModelError(f"{where} must be >= {spec.min:g}, got {value!r}")
    if spec.max is not None and value > spec.max:
        raise ModelError(f"{where} must be <= {spec.max:g}, got {value!r}")
    return value
