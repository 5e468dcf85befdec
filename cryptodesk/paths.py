"""Where CryptoDesk keeps its files. The only module that asks appdirs.

By default the per-platform user directories are used (e.g. ``~/.local/share/CryptoDesk`` on
Linux). Setting ``CRYPTODESK_HOME`` puts all of them under one folder instead: portable installs
on a USB stick, and tests that must never touch the real user directories.

Every function reads the environment on each call (no cached module state), so a test that sets
``CRYPTODESK_HOME`` sees the change at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "CryptoDesk"
APP_AUTHOR = "CryptoDesk"
HOME_ENV = "CRYPTODESK_HOME"


@dataclass(frozen=True)
class AppPaths:
    """The four user directories. Created on demand by :func:`ensure`."""

    data: Path
    config: Path
    cache: Path
    log: Path

    @property
    def candles(self) -> Path:
        """Parquet candle store root."""
        return self.data / "candles"

    @property
    def models(self) -> Path:
        """Saved model bundles."""
        return self.data / "models"

    @property
    def runs(self) -> Path:
        """Run specs saved for replay (``cryptodesk run <spec>``)."""
        return self.data / "runs"

    @property
    def settings_file(self) -> Path:
        """The one JSON settings file."""
        return self.config / "settings.json"

    @property
    def log_file(self) -> Path:
        """The rotating log file."""
        return self.log / "cryptodesk.log"


def app_paths() -> AppPaths:
    """Resolve the user directories now (honouring ``CRYPTODESK_HOME``)."""
    home = os.environ.get(HOME_ENV, "").strip()
    if home:
        root = Path(home).expanduser().resolve()
        return AppPaths(root / "data", root / "config", root / "cache", root / "log")
    import appdirs  # only here: the one place that asks appdirs

    return AppPaths(
        Path(appdirs.user_data_dir(APP_NAME, APP_AUTHOR)),
        Path(appdirs.user_config_dir(APP_NAME, APP_AUTHOR)),
        Path(appdirs.user_cache_dir(APP_NAME, APP_AUTHOR)),
        Path(appdirs.user_log_dir(APP_NAME, APP_AUTHOR)),
    )


def ensure(path: Path) -> Path:
    """Create ``path`` (and parents) if missing and return it."""
    path.mkdir(parents=True, exist_ok=True)
    return path
