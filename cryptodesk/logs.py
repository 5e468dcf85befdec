"""Logging set-up: a rotating log file in the user log directory, console output on request.

Called once by the CLI (and later the GUI) entry point; library code only uses
``logging.getLogger(__name__)`` and never configures handlers itself.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(log_file: Path, debug: bool = False, level: str = "INFO") -> None:
    """Send log records to a rotating file (1 MB x 5); with ``debug``, also to stderr."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_cryptodesk", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.DEBUG if debug else getattr(logging, level, logging.INFO))
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler: logging.Handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=1_000_000, backupCount=5, encoding="utf-8"
        )
        file_handler.setFormatter(logging.Formatter(FORMAT))
        file_handler._cryptodesk = True  # type: ignore[attr-defined]
        root.addHandler(file_handler)
    except OSError as exc:  # a read-only home must not stop the app
        logging.getLogger(__name__).warning("cannot write log file %s: %s", log_file, exc)
    if debug:
        console = logging.StreamHandler()
        console.setFormatter(logging.Formatter(FORMAT))
        console._cryptodesk = True  # type: ignore[attr-defined]
        root.addHandler(console)
