"""Exception types shared by the core, the CLI and the GUI.

Every error a user can cause (bad file, unknown symbol, network failure) is a subclass of
:class:`CryptoDeskError`, so the CLI can print its one-line message and exit 1 without a
traceback, and the GUI can show it in a dialog. Programming errors stay ordinary exceptions.
"""

from __future__ import annotations


class CryptoDeskError(Exception):
    """Base class of errors caused by input, data or environment, not by a bug."""


class ConfigError(CryptoDeskError):
    """A settings object (protocol, strategy, run spec...) has an invalid value."""


class DataError(CryptoDeskError):
    """Candle data are missing, malformed or do not fit the request."""


class CsvImportError(DataError):
    """A CSV file could not be imported. The message names the file, the row and the problem."""

    def __init__(self, path: object, problem: str, row: int | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        self.row = row
        where = f"{self.path}" + (f", row {row}" if row is not None else "")
        super().__init__(f"{where}: {problem}")


class StoreError(DataError):
    """The local candle store cannot satisfy a request (unknown series, unreadable file)."""


class SettingsError(ConfigError):
    """A settings value is invalid."""


class ExchangeError(CryptoDeskError):
    """An exchange download failed (permanent error, or retries exhausted)."""


class ModelError(CryptoDeskError):
    """A model cannot be built, fitted, saved or loaded with the given inputs."""
