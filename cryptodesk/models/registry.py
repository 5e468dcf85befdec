"""Model names -> lazily imported :class:`~cryptodesk.models.base.Forecaster` classes.

The registry maps a name (``naive``, ``lightgbm``, ``lstm``) to a ``"module:Class"`` string and
imports the module only when the class is first needed, so ``import cryptodesk.models.registry``
(and listing the models in the GUI) never imports torch, LightGBM or statsmodels.

Adding models:

- built-in models are listed in :data:`BUILTIN_MODELS` below;
- a group of models (the torch nets) is added by a *listing module* named in
  :data:`LISTING_MODULES`: a light module (it must not import torch itself) exposing
  ``MODELS: dict[str, str]`` of name -> ``"module:Class"``. A listing module that does not exist
  yet is skipped;
- code (plugins, tests) may call :func:`register` at run time.

Why a default registry object at module level: the set of model kinds is a property of the
installed program, the same for every window and command, like an entry-point table. Tests
that need a different set build their own :class:`ModelRegistry`.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptodesk.errors import ModelError

if TYPE_CHECKING:
    from cryptodesk.models.base import Forecaster
    from cryptodesk.models.config import ModelConfig

BUILTIN_MODELS: dict[str, str] = {
    "naive": "cryptodesk.models.baselines:NaiveForecaster",
    "drift": "cryptodesk.models.baselines:DriftForecaster",
    "arima": "cryptodesk.models.arima:ArimaForecaster",
    "lightgbm": "cryptodesk.models.lgbm:LightGBMForecaster",
}
# Light modules exposing ``MODELS: dict[str, str]``; missing ones are skipped.
LISTING_MODULES: tuple[str, ...] = ("cryptodesk.models.torch_catalog",)


class ModelRegistry:
    """A name -> ``"module:Class"`` table with lazy import and a class cache."""

    def __init__(
        self,
        models: dict[str, str] | None = None,
        listing_modules: tuple[str, ...] = (),
    ) -> None:
        self._targets: dict[str, str] = {}
        self._classes: dict[str, type[Forecaster]] = {}
        self._listings = listing_modules
        self._listings_loaded = False
        self._lock = threading.RLock()
        for name, target in (models or {}).items():
            self.register(name, target)

    def register(self, name: str, target: str | type[Forecaster], *, replace: bool = False) -> None:
        """Add a model: ``target`` is ``"package.module:ClassName"`` or the class itself."""
        key = _key(name)
        with self._lock:
            if key in self._targets and not replace:
                if self._targets[key] == _target_text(target):
                    return
                raise ModelError(f"model {key!r} is already registered")
            self._targets[key] = _target_text(target)
            self._classes.pop(key, None)
            if not isinstance(target, str):
                self._classes[key] = target

    def names(self) -> list[str]:
        """Registered names, in registration order (built-ins first)."""
        self._load_listings()
        with self._lock:
            return list(self._targets)

    def model_class(self, name: str) -> type[Forecaster]:
        """The class for ``name``, importing its module on first use."""
        self._load_listings()
        key = _key(name)
        with self._lock:
            if key in self._classes:
                return self._classes[key]
            target = self._targets.get(key)
        if target is None:
            raise ModelError(f"unknown model {name!r}; available: {', '.join(self.names())}")
        module_name, _, class_name = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ModelError(f"model {key!r} cannot be loaded: {exc}") from exc
        cls = getattr(module, class_name, None)
        if cls is None:
            raise ModelError(f"model {key!r}: {module_name} has no {class_name}")
        with self._lock:
            self._classes[key] = cls
        return cls

    def config_class(self, name: str) -> type[ModelConfig]:
        """The config dataclass of ``name`` (the GUI builds its form from ``.params()``)."""
        return self.model_class(name).config_cls

    def create(
        self, name: str, config: ModelConfig | dict[str, Any] | None = None
    ) -> Forecaster:
        """A new, unfitted model; ``config`` is a config instance, a dict or None (defaults)."""
        return self.model_class(name)(config)

    def load(self, directory: str | Path) -> Forecaster:
        """Load a model saved with ``Forecaster.save`` (kind read from its ``model.json``)."""
        from cryptodesk.models.base import read_model_file

        doc = read_model_file(directory)
        return self.model_class(doc["name"]).load(directory)

    def _load_listings(self) -> None:
        if self._listings_loaded:
            return
        with self._lock:
            if self._listings_loaded:
                return
            self._listings_loaded = True
            for module_name in self._listings:
                try:
                    module = importlib.import_module(module_name)
                except ModuleNotFoundError as exc:
                    if exc.name == module_name:
                        continue  # listing not installed / not written yet
                    raise
                for name, target in getattr(module, "MODELS", {}).items():
                    self.register(name, target)


def _key(name: str) -> str:
    key = str(name).strip().lower()
    if not key:
        raise ModelError("model name must not be empty")
    return key


def _target_text(target: str | type) -> str:
    if isinstance(target, str):
        if ":" not in target:
            raise ModelError(f"model target must be 'module:Class', got {target!r}")
        return target
    return f"{target.__module__}:{target.__qualname__}"


_DEFAULT = ModelRegistry(BUILTIN_MODELS, LISTING_MODULES)


def default_registry() -> ModelRegistry:
    """The program's registry (built-ins + listing modules + run-time registrations)."""
    return _DEFAULT


def register(name: str, target: str | type[Forecaster], *, replace: bool = False) -> None:
    """Add a model to the default registry (see :meth:`ModelRegistry.register`)."""
    _DEFAULT.register(name, target, replace=replace)


def available_models() -> list[str]:
    """Names of every registered model (imports none of them)."""
    return _DEFAULT.names()


def model_class(name: str) -> type[Forecaster]:
    """The class registered as ``name`` (imported now)."""
    return _DEFAULT.model_class(name)


def config_class(name: str) -> type[ModelConfig]:
    """The config class of model ``name``."""
    return _DEFAULT.config_class(name)


def create(name: str, config: ModelConfig | dict[str, Any] | None = None) -> Forecaster:
    """A new unfitted model ``name`` with ``config`` (instance, dict or None for defaults)."""
    return _DEFAULT.create(name, config)


def load_model(directory: str | Path) -> Forecaster:
    """Load a saved model of any registered kind."""
    return _DEFAULT.load(directory)
