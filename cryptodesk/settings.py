"""Typed user settings in one JSON file, with defaults, validation and migrations.

The file lives in the user config directory (see :mod:`cryptodesk.paths`). It carries a
``schema_version``; older files are migrated step by step on load. A file that is not valid
JSON, or whose values fail validation, is kept beside the original as
``settings.json.bad-<time>`` and the app continues on defaults with a warning: a broken
settings file must never stop the app from starting, nor be silently thrown away.

Loading never raises and never blocks: whatever sits at the settings path (a directory, a named
pipe, a device, a 1 GB or 100k-deep JSON file, an unreadable or immutable file in a read-only
folder) gives defaults plus a warning that says what was found, where, and what was done with it.
Only regular files are read, and only through a non-blocking descriptor, so a FIFO cannot hang
the GUI or ``doctor``. Saving into a place that cannot be written raises
:class:`SettingsSaveError`, one clear line, never a traceback.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptodesk.atomic import write_text_atomic
from cryptodesk.errors import SettingsError
from cryptodesk.safejson import JsonInputError, loads_bounded

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
THEMES = ("light", "dark")
DEVICES = ("auto", "cpu", "cuda", "mps")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# The real file is well under 1 KiB and 3 levels deep; anything far beyond is not settings.
MAX_FILE_BYTES = 1 << 20
MAX_JSON_DEPTH = 32
# Upper bounds that keep values usable downstream (a socket timeout must fit a C timeval).
MAX_TIMEOUT_MS = 3_600_000
MAX_RETRIES = 100


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
    seed: int = 42
    default_symbol: str = "DEMO/USD"
    default_timeframe: str = "1d"
    log_level: str = "INFO"
    exchanges: dict[str, ExchangeSettings] = field(default_factory=dict)

    def exchange(self, exchange_id: str) -> ExchangeSettings:
        """Settings for one exchange, defaults where none are stored."""
        return self.exchanges.get(exchange_id, ExchangeSettings())


class SettingsSaveError(SettingsError, OSError):
    """Settings could not be written (unwritable folder, a directory in the file's place...).

    Also an :class:`OSError`, so callers that already handle failed writes keep handling it.
    """


def _short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters: messages stay one readable line even for a
    megabyte string or a 4,000-digit number from a hand-edited file."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"a {len(str(abs(value)))}-digit number" if value.bit_length() < 14_000 else "a huge number"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label(key: Any) -> str:
    """An exchange id as it appears in a dotted setting name: bare when it is short plain text."""
    if isinstance(key, str) and key.isprintable() and 0 < len(key) <= 40:
        return key
    return _short(key, 40)


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {_short(value)}")


def _check_type(name: str, value: Any, kind: type | tuple[type, ...]) -> None:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise SettingsError(f"{name} must be {expected}, not {_short(value)}")


def _check_text(name: str, value: Any) -> None:
    _check_type(name, value, str)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a JSON "\ud800" escape
        raise SettingsError(f"{name} is not valid text: {_short(value)}") from None


def validate(settings: Settings) -> Settings:
    """Check every value; raise :class:`SettingsError` naming the first bad one."""
    _check_type("schema_version", settings.schema_version, int)
    _check_choice("theme", settings.theme, THEMES)
    _check_choice("device", settings.device, DEVICES)
    _check_type("seed", settings.seed, int)
    if not 0 <= settings.seed < 2**32:
        raise SettingsError(f"seed must be in [0, 2**32), not {_short(settings.seed)}")
    _check_text("default_symbol", settings.default_symbol)
    _check_text("default_timeframe", settings.default_timeframe)
    _check_choice("log_level", settings.log_level, LOG_LEVELS)
    for ex_id, ex in settings.exchanges.items():
        name = f"exchanges.{_label(ex_id)}"
        _check_text(f"{name} (the exchange id)", ex_id)
        if ex.api_url is not None:
            _check_text(f"{name}.api_url", ex.api_url)
            if not ex.api_url.startswith(("http://", "https://")):
                raise SettingsError(f"{name}.api_url must start with http:// or https://")
        _check_type(f"{name}.timeout_ms", ex.timeout_ms, int)
        _check_type(f"{name}.max_retries", ex.max_retries, int)
        if not 0 < ex.timeout_ms <= MAX_TIMEOUT_MS or not 0 <= ex.max_retries <= MAX_RETRIES:
            raise SettingsError(
                f"{name}: timeout_ms must be in 1..{MAX_TIMEOUT_MS} and max_retries in "
                f"0..{MAX_RETRIES}, not {_short(ex.timeout_ms)} and {_short(ex.max_retries)}"
            )
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
        names = ", ".join(_short(k, 40) for k in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise SettingsError(f"unknown settings: {names}{more}")
    values = dict(raw)
    exchanges_raw = values.pop("exchanges", {}) or {}
    if not isinstance(exchanges_raw, dict):
        raise SettingsError("exchanges must be an object of exchange id -> options")
    exchanges: dict[str, ExchangeSettings] = {}
    ex_known = {f.name for f in dataclasses.fields(ExchangeSettings)}
    for ex_id, ex_raw in exchanges_raw.items():
        if not isinstance(ex_raw, dict) or set(ex_raw) - ex_known:
            raise SettingsError(
                f"exchanges.{_label(ex_id)} must be an object with keys {sorted(ex_known)}"
            )
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
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise SettingsError(f"schema_version must be an integer >= 0, not {_short(version)}")
    if version > SCHEMA_VERSION:
        raise SettingsError(
            f"settings were written by a newer CryptoDesk (schema {_short(version)}; this version reads "
            f"up to {SCHEMA_VERSION})"
        )
    while version < SCHEMA_VERSION:
        raw = MIGRATIONS[version](raw)
        version = raw["schema_version"]
    return raw




# --------------------------------------------------------------------------- loading
class _Unreadable(Exception):
    """The settings path holds something that is not read (directory, FIFO, unreadable file).
    The message completes "settings file PATH ..."; whatever is there is left where it is."""


def load_settings(path: Path) -> tuple[Settings, list[str]]:
    """Load settings from ``path``; never raises, never blocks.

    Returns the settings and a list of warnings. A missing file gives defaults and no warning.
    A path that holds no readable regular file (a directory, a named pipe, a device, a file
    that cannot be opened) gives defaults and a warning, and is left alone. A regular file whose
    content is not valid settings is renamed to ``<name>.bad-<time>`` and gives defaults plus a
    warning that says where it went, or, where the rename fails (read-only or immutable),
    that it was left in place.
    """
    path = Path(path)
    try:
        data = _read_settings_bytes(path)
    except FileNotFoundError:
        return Settings(), []
    except _Unreadable as exc:
        return _fallback(f"settings file {path} {exc}; using defaults")
    try:
        return _parse_settings(data), []
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError, SettingsError) as exc:
        return _fallback(_quarantine(path, exc))


def _fallback(message: str) -> tuple[Settings, list[str]]:
    log.warning("%s", message)
    return Settings(), [message]


def _read_settings_bytes(path: Path) -> bytes:
    """The file's bytes, at most :data:`MAX_FILE_BYTES` + 1 of them.

    ``stat`` first, so a directory or FIFO is named as such; then open non-blocking (a FIFO
    swapped in after the ``stat`` still cannot block) and ``fstat`` the open descriptor, so what
    is read is the regular file that was checked. Raises FileNotFoundError or _Unreadable.
    """
    try:
        _require_regular(os.stat(path).st_mode)
    except NotADirectoryError as exc:
        folder = next((p for p in path.parents if os.path.lexists(p)), path.parent)
        raise _Unreadable(f"cannot be read ({folder} is not a folder)") from exc
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _Unreadable(f"cannot be read ({_why(exc)}); left in place") from exc
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
        try:
            _require_regular(os.fstat(fd).st_mode)
            return _read_at_most(fd, MAX_FILE_BYTES + 1)
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _Unreadable(f"cannot be read ({_why(exc)}); left in place") from exc


def _require_regular(mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise _Unreadable(f"is {_kind(mode)}, not a regular file; left in place")


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _parse_settings(data: bytes) -> Settings:
    if len(data) > MAX_FILE_BYTES:
        raise SettingsError(f"larger than {MAX_FILE_BYTES // 1024} KiB")
    text = data.decode("utf-8-sig")  # a BOM from a Windows editor is harmless
    try:
        raw = loads_bounded(text, MAX_FILE_BYTES, MAX_JSON_DEPTH)
    except JsonInputError as exc:
        raise SettingsError(f"the file {exc}") from None
    if not isinstance(raw, dict):
        raise SettingsError("settings must be a JSON object")
    return from_dict(migrate(raw))


def _quarantine(path: Path, problem: BaseException) -> str:
    """Move an invalid file aside as ``<name>.bad-<time>``; return the warning to show."""
    reason = " ".join(str(problem).split()) or type(problem).__name__
    if len(reason) > 200:
        reason = reason[:199] + "…"
    head = f"settings file {path} is invalid ({reason})"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    bad = path.with_name(f"{path.name}.bad-{stamp}")
    try:
        for n in range(1, 1000):
            if not os.path.lexists(bad):
                break
            bad = path.with_name(f"{path.name}.bad-{stamp}-{n}")
        os.replace(path, bad)
    except OSError as exc:
        return f"{head}; could not be kept as {bad.name}: {_why(exc)}; left in place; using defaults"
    return f"{head}; kept it as {bad.name} and using defaults"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


def _why(exc: OSError) -> str:
    """``permission denied``, ``read-only file system``...: the OS's reason, in a sentence."""
    if exc.errno is not None and exc.errno in errno.errorcode:
        text = os.strerror(exc.errno)
    else:
        text = exc.strerror or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


# --------------------------------------------------------------------------- saving
def save_settings(settings: Settings, path: Path) -> None:
    """Validate and write the settings atomically.

    Raises :class:`SettingsError` for invalid values and :class:`SettingsSaveError` (also an
    ``OSError``) when the file cannot be written: the message names the path and the reason.
    Something other than a regular file at ``path`` (a directory, a FIFO) is never replaced.
    """
    validate(settings)
    path = Path(path)
    text = json.dumps(to_dict(settings), indent=2, sort_keys=True) + "\n"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise _save_error(path, exc) from exc
    else:
        if not stat.S_ISREG(st.st_mode):
            raise SettingsSaveError(
                f"cannot save settings to {path}: it is {_kind(st.st_mode)}, not a regular file"
            )
    try:
        write_text_atomic(path, text)
    except OSError as exc:
        raise _save_error(path, exc) from exc


def _save_error(path: Path, exc: OSError) -> SettingsSaveError:
    if isinstance(exc, FileExistsError | NotADirectoryError):
        folder = next((p for p in path.parents if os.path.lexists(p)), path.parent)
        if not os.path.isdir(folder):
            return SettingsSaveError(f"cannot save settings to {path}: {folder} is not a folder")
    return SettingsSaveError(f"cannot save settings to {path}: {_why(exc)}")
