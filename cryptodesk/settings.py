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

import errno
import json
import logging
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from cryptodesk.atomic import write_text_atomic
from cryptodesk.errors import CryptoDeskError, SettingsError
from cryptodesk.params import Params, param
from cryptodesk.safejson import JsonInputError, loads_bounded

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
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
class ExchangeSettings(Params):
    """Per-exchange options. ``api_url`` redirects REST calls to ``BASE/HOST/PATH``."""

    error_cls: ClassVar[type[CryptoDeskError]] = SettingsError

    api_url: str | None = param(None, label="API base URL",
                                help="Send every REST request to BASE/HOST/PATH (mirrors, proxies).")
    timeout_ms: int = param(30_000, min=1, max=MAX_TIMEOUT_MS, label="Timeout (ms)")
    max_retries: int = param(5, min=0, max=MAX_RETRIES, label="Retries")


@dataclass(frozen=True)
class Settings(Params):
    """All user settings. Frozen: change with :func:`dataclasses.replace` and save.

    A :class:`~cryptodesk.params.Params` like every other config: typed, range-checked, drawable
    as a form, JSON round trip.
    """

    error_cls: ClassVar[type[CryptoDeskError]] = SettingsError

    schema_version: int = param(SCHEMA_VERSION, min=0, advanced=True)
    theme: Literal["light", "dark"] = param("light", label="Theme")
    device: Literal["auto", "cpu", "cuda", "mps"] = param(
        "auto", label="Device", help="Where the neural nets train: auto = CUDA, then MPS, then CPU.")
    seed: int = param(0, min=0, max=2**32 - 1, label="Seed",
                      help="Seed of every stochastic model, in the app and on the command line.")
    default_symbol: str = param("DEMO/USD", label="Series shown at start")
    default_timeframe: str = param("1d", label="Timeframe shown at start")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = param("INFO", label="Log level")
    exchanges: dict[str, ExchangeSettings] = param({}, label="Exchanges", advanced=True)

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


def _check_text(name: str, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a JSON "\ud800" escape
        raise SettingsError(f"{name} is not valid text: {_short(value)}") from None


def validate(settings: Settings) -> Settings:
    """Check what the field types cannot say (types and ranges are checked on construction);
    raise :class:`SettingsError` naming the first bad value."""
    _check_text("default_symbol", settings.default_symbol)
    _check_text("default_timeframe", settings.default_timeframe)
    for ex_id, ex in settings.exchanges.items():
        name = f"exchanges.{_label(ex_id)}"
        _check_text(f"{name} (the exchange id)", ex_id)
        if ex.api_url is not None:
            _check_text(f"{name}.api_url", ex.api_url)
            if not ex.api_url.startswith(("http://", "https://")):
                raise SettingsError(f"{name}.api_url must start with http:// or https://")
    return settings


def to_dict(settings: Settings) -> dict[str, Any]:
    """JSON-ready dict of the settings."""
    return settings.to_dict()


def from_dict(raw: dict[str, Any]) -> Settings:
    """Build validated settings from a dict of the current schema. Unknown keys are an error."""
    if not isinstance(raw, dict):
        raise SettingsError("settings must be a JSON object")
    return validate(Settings.from_dict(raw))


# Migrations: MIGRATIONS[v] turns a schema-v dict into a schema-(v+1) dict.
def _migrate_0_to_1(raw: dict[str, Any]) -> dict[str, Any]:
    # Version 0 (pre-release) had no schema_version and called the theme "style".
    raw = dict(raw)
    if "style" in raw:
        raw["theme"] = raw.pop("style")
    raw["schema_version"] = 1
    return raw


def _migrate_1_to_2(raw: dict[str, Any]) -> dict[str, Any]:
    # Version 1's seed defaulted to 42 in the app while the command line used 0, so the same
    # run gave different numbers from each. Both now use this setting, default 0; a file that
    # still holds the old default (the app never asked for a seed) moves to the new one.
    raw = dict(raw)
    if raw.get("seed") == 42:
        raw["seed"] = 0
    raw["schema_version"] = 2
    return raw


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    0: _migrate_0_to_1, 1: _migrate_1_to_2,
}


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
