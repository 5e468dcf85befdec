"""One model's facts in the registry: :class:`ModelEntry` (a light module, no imports)."""

from __future__ import annotations

from dataclasses import dataclass

from cryptodesk.errors import ModelError
from cryptodesk.models.capabilities import Capabilities


@dataclass(frozen=True)
class ModelEntry:
    """Everything the program knows about a model kind without importing it.

    - ``target`` / ``config``: ``"module:Class"`` of the forecaster and of its config class.
      The config class must live in a light module (the nets' configs are not beside torch), so
      the GUI draws a form and the CLI validates settings without loading the model's library.
    - ``library``: the heavy library its module imports ("" for none), shown to users ("Loading
      PyTorch…") and in ``backtest --list-models``.
    - ``description``: one line for tooltips and listings.
    - ``warm_up``: modules its first fit imports lazily; a worker imports them when the model is
      picked, so the run itself does not stall on an import.
    - ``capabilities``: what it can do (:class:`~cryptodesk.models.capabilities.Capabilities`).
    - ``baseline``: the model every other one is scored against (exactly one: naive).
    """

    name: str
    target: str
    config: str
    library: str
    description: str
    capabilities: Capabilities
    warm_up: tuple[str, ...] = ()
    baseline: bool = False

    def __post_init__(self) -> None:
        key = str(self.name).strip().lower()
        if not key or not key.replace("_", "").isalnum():
            raise ModelError(f"model name must be letters, digits and '_', got {self.name!r}")
        object.__setattr__(self, "name", key)
        for what in (self.target, self.config):
            module, sep, cls = str(what).partition(":")
            if not sep or not module or not cls:
                raise ModelError(f"{self.name}: expected 'module:Class', got {what!r}")
