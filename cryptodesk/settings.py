"""Typed user settings in one JSON file, with defaults, validation and migrations.

The file lives in the user config directory (see :mod:`cryptodesk.paths`). It carries a
``schema_version``; older files are migrated step by step on load. A file that is not valid
JSON, or whose values fail validation, is kept beside the original as
``settings.json.bad-<time>`` and the app continues on defaults with a warning: a broken
settings file must never stop the app from starting, nor be silently thrown away.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptodesk.atomic import write_text_atomic
from cryptodesk.errors import SettingsError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
THEMES = ("light", "dark")
DEVICES = ("auto", "cpu", "cuda", "mps")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class ExchangeSettings:
    """Per-exchange options. ``api_url`` redirects REST calls to ``BASE/HOST/PATH``."""

    api_url: str | None = None
    timeout_ms: int = 30_000
    max_retries: int = 5


@dataclass(frozen=True)
class Settings:
    """All user settings. Frozen: change with :func:`dataclasses.replace` and save."""

    schema_version: int = SCHEMA_VERSION
    theme: str = "light"
    device: str = "auto"
    seed: int = 0  # the seed of the README's WF1 tables: GUI and CLI runs agree
    default_symbol: str = "DEMO/USD"
    default_timeframe: str = "1d"
    log_level: str = "INFO"
    exchanges: dict[str, ExchangeSettings] = field(default_factory=dict)

    def exchange(self, exchange_id: str) -> ExchangeSettings:
        """Settings for one exchange, defaults where none are stored."""
        return self.exchanges.get(exchange_id, ExchangeSettings())


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {value!r}")


def _check_type(name: str, value: Any, kind: type | tuple[type, ...]) -> None:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise SettingsError(f"{name} must be {expected}, not {value!r}")


def validate(settings: Settings) -> Settings:
    """Check every value; raise :class:`SettingsError` naming the first bad one."""
    _check_type("schema_version", settings.schema_version, int)
    _check_choice("theme", settings.theme, THEMES)
    _check_choice("device", settings.device, DEVICES)
    _check_type("seed", settings.seed, int)
    if not 0 <= settings.seed < 2**32:
        raise SettingsError(f"seed must be in [0, 2**32), not {settings.seed}")
    _check_type("default_symbol", settings.default_symbol, str)
    _check_type("default_timeframe", settings.default_timeframe, str)
    _check_choice("log_level", settings.log_level, LOG_LEVELS)
    for ex_id, ex in settings.exchanges.items():
        if ex.api_url is not None:
            _check_type(f"exchanges.{ex_id}.api_url", ex.api_url, str)
            if not ex.api_url.startswith(("http://", "https://")):
                raise SettingsError(f"exchanges.{ex_id}.api_url must start with http:// or https://")
        _check_type(f"exchanges.{ex_id}.timeout_ms", ex.timeout_ms, int)
        _check_type(f"exchanges.{ex_id}.max_retries", ex.max_retries, int)
        if ex.timeout_ms <= 0 or ex.max_retries < 0:
            raise SettingsError(f"exchanges.{ex_id}: timeout_ms must be > 0 and max_retries >= 0")
    return settings


def to_dict(settings: Settings) -> dict[str, Any]:
    """JSON-ready dict of the settings."""
    return dataclasses.asdict(settings)


def from_dict(raw: dict[str, Any]) -> Settings:
    """Build validated settings from a dict of the current schema. Unknown keys are an error."""
    if not isinstance(raw, dict):
        raise SettingsError("settings must be a JSON object")
    known = {f.name for f in dataclasses.fields(Settings)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise SettingsError(f"unknown settings: {', '.join(unknown)}")
    values = dict(raw)
    exchanges_raw = values.pop("exchanges", {}) or {}
    if not isinstance(exchanges_raw, dict):
        raise SettingsError("exchanges must be an object of exchange id -> options")
    exchanges: dict[str, ExchangeSettings] = {}
    ex_known = {f.name for f in dataclasses.fields(ExchangeSettings)}
    for ex_id, ex_raw in exchanges_raw.items():
        if not isinstance(ex_raw, dict) or set(ex_raw) - ex_known:
            raise SettingsError(f"exchanges.{ex_id} must be an object with keys {sorted(ex_known)}")
        exchanges[str(ex_id)] = ExchangeSettings(**ex_raw)
    return validate(Settings(**values, exchanges=exchanges))


# Migrations: MIGRATIONS[v] turns a schema-v dict into a schema-(v+1) dict.
def _migrate_0_to_1(raw: dict[str, Any]) -> dict[str, Any]:
    # Version 0 (pre-release) had no schema_version and called the theme "style".
    raw = dict(raw)
    if "style" in raw:
        raw["theme"] = raw.pop("style")
    raw["schema_version"] = 1
    return raw


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _migrate_0_to_1}


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring a raw settings dict up to :data:`SCHEMA_VERSION`."""
    version = raw.get("schema_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise SettingsError(f"schema_version must be an integer, not {version!r}")
    if version > SCHEMA_VERSION:
        raise SettingsError(
            f"settings were written by a newer CryptoDesk (schema {version}; this version reads "
            f"up to {SCHEMA_VERSION})"
        )
    while version < SCHEMA_VERSION:
        raw = MIGRATIONS[version](raw)
        version = raw["schema_version"]
    return raw


def load_settings(path: Path) -> tuple[Settings, list[str]]:
    """Load settings from ``path``.

    Returns the settings and a list of warnings. A missing file gives defaults and no warning;
    a corrupt or invalid one is renamed to ``<name>.bad-<time>`` and gives defaults plus a
    warning that says where the bad file went.
    """
    path = Path(path)
    if not path.exists():
        return Settings(), []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise SettingsError("settings must be a JSON object")
        return from_dict(migrate(raw)), []
    except (ValueError, TypeError, SettingsError, UnicodeDecodeError) as exc:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        bad = path.with_name(f"{path.name}.bad-{stamp}")
        n = 1
        while bad.exists():
            bad = path.with_name(f"{path.name}.bad-{stamp}-{n}")
            n += 1
        path.replace(bad)
        message = f"settings file {path} is invalid ({exc}); kept it as {bad.name} and using defaults"
        log.warning(message)
        return Settings(), [message]


def save_settings(settings: Settings, path: Path) -> None:
    """Validate and write the settings atomically."""
    validate(settings)
    write_text_atomic(Path(path), json.dumps(to_dict(settings), indent=2, sort_keys=True) + "\n")
