"""Model names -> their facts (:class:`~cryptodesk.models.entry.ModelEntry`) and lazily
imported classes.

The registry is the one place that knows each model: its class, its config class, its library,
description, warm-up imports and capabilities (the built-in entries are in
:mod:`cryptodesk.models.catalog`). It imports a model's module only when the class is first
needed, and a config class from its own light module, so listing models, drawing their forms
and validating their settings (the GUI process, ``backtest --list-models``) never import torch
or LightGBM.

Why a default registry object at module level: the set of model kinds is a property of the
installed program, the same for every window and command, like an entry-point table. Code
(plugins, tests) adds to it with :func:`register`; tests that need a different set build their
own :class:`ModelRegistry`.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptodesk.errors import ModelError
from cryptodesk.models.capabilities import Capabilities
from cryptodesk.models.entry import ModelEntry

if TYPE_CHECKING:
    from cryptodesk.models.base import Forecaster
    from cryptodesk.models.config import ModelConfig

__all__ = ["Capabilities", "ModelEntry", "ModelRegistry", "default_registry"]


class ModelRegistry:
    """Model entries by name, with lazy imports and a class cache."""

    def __init__(self, entries: Iterable[ModelEntry] = ()) -> None:
        self._entries: dict[str, ModelEntry] = {}
        self._classes: dict[str, type[Any]] = {}
        self._lock = threading.RLock()
        for entry in entries:
            self.register(entry)

    # ---------------------------------------------------------------- facts
    def register(self, entry: ModelEntry, *, replace: bool = False) -> None:
        """Add a model. Registering the same entry twice is a no-op; another entry under a
        taken name needs ``replace=True``."""
        with self._lock:
            old = self._entries.get(entry.name)
            if old is not None and old != entry and not replace:
                raise ModelError(f"model {entry.name!r} is already registered")
            self._entries[entry.name] = entry
            if old != entry:
                self._classes.pop(entry.name, None)
                self._classes.pop(f"config:{entry.name}", None)

    def unregister(self, name: str) -> None:
        """Remove a model (tests and plugins that clean up after themselves)."""
        key = _key(name)
        with self._lock:
            self._entries.pop(key, None)
            self._classes.pop(key, None)
            self._classes.pop(f"config:{key}", None)

    def names(self) -> list[str]:
        """Registered names, in registration order (built-ins first)."""
        with self._lock:
            return list(self._entries)

    def entries(self) -> list[ModelEntry]:
        """Every entry, in registration order."""
        with self._lock:
            return list(self._entries.values())

    def entry(self, name: str) -> ModelEntry:
        """The facts of model ``name``; ModelError naming what exists when unknown."""
        key = _key(name)
        with self._lock:
            found = self._entries.get(key)
        if found is None:
            raise ModelError(f"unknown model {name!r}; available: {', '.join(self.names())}")
        return found

    def baseline(self) -> str:
        """The name of the baseline model (naive)."""
        return next(e.name for e in self.entries() if e.baseline)

    # ---------------------------------------------------------------- classes
    def model_class(self, name: str) -> type[Forecaster]:
        """The forecaster class of ``name``, importing its module (and library) on first use."""
        entry = self.entry(name)
        return self._import(entry.name, entry.target)

    def config_class(self, name: str) -> type[ModelConfig]:
        """The config class of ``name``, from its light module (no model library imported)."""
        entry = self.entry(name)
        return self._import(f"config:{entry.name}", entry.config)

    def create(
        self, name: str, config: ModelConfig | dict[str, Any] | None = None
    ) -> Forecaster:
        """A new, unfitted model; ``config`` is a config instance, a dict or None (defaults)."""
        return self.model_class(name)(config)

    def load(self, directory: str | Path) -> Forecaster:
        """Load a model saved with ``Forecaster.save`` (kind read from its ``model.json``)."""
        from cryptodesk.models.base import read_model_file

        doc = read_model_file(directory)
        return self.model_class(str(doc["name"])).load(directory)

    def _import(self, cache_key: str, target: str) -> type[Any]:
        with self._lock:
            if cache_key in self._classes:
                return self._classes[cache_key]
        module_name, _, class_name = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ModelError(f"model {cache_key.removeprefix('config:')!r} cannot be loaded: "
                             f"{exc}") from exc
        cls = getattr(module, class_name, None)
        if cls is None:
            raise ModelError(f"{module_name} has no {class_name}")
        with self._lock:
            self._classes[cache_key] = cls
        return cls


def _key(name: str) -> str:
    key = str(name).strip().lower()
    if not key:
        raise ModelError("model name must not be empty")
    return key


def _builtin() -> ModelRegistry:
    from cryptodesk.models.catalog import BUILTIN

    return ModelRegistry(BUILTIN)


_DEFAULT = _builtin()


def default_registry() -> ModelRegistry:
    """The program's registry (built-ins plus run-time registrations)."""
    return _DEFAULT


def register(entry: ModelEntry, *, replace: bool = False) -> None:
    """Add a model to the default registry (see :meth:`ModelRegistry.register`)."""
    _DEFAULT.register(entry, replace=replace)


def unregister(name: str) -> None:
    """Remove a model from the default registry (plugins and tests cleaning up)."""
    _DEFAULT.unregister(name)


def available_models(target: str | None = "price") -> list[str]:
    """Names of the registered models that forecast ``target`` (``price`` by default,
    ``volatility``, or None for every model); imports none of them."""
    return [e.name for e in _DEFAULT.entries()
            if target is None or target in e.capabilities.targets]


def model_entry(name: str) -> ModelEntry:
    """The facts of model ``name`` (imports nothing)."""
    return _DEFAULT.entry(name)


def model_class(name: str) -> type[Forecaster]:
    """The class registered as ``name`` (imported now)."""
    return _DEFAULT.model_class(name)


def config_class(name: str) -> type[ModelConfig]:
    """The config class of model ``name`` (from its light module)."""
    return _DEFAULT.config_class(name)


def create(name: str, config: ModelConfig | dict[str, Any] | None = None) -> Forecaster:
    """A new unfitted model ``name`` with ``config`` (instance, dict or None for defaults)."""
    return _DEFAULT.create(name, config)


def load_model(directory: str | Path) -> Forecaster:
    """Load a saved model of any registered kind."""
    return _DEFAULT.load(directory)
