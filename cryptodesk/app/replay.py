"""A run spec saved for replay, and the command that replays it: the GUI's "Copy as command"
writes the spec of the run on show into the user's ``runs`` folder and puts
``cryptodesk run <file>`` on the clipboard; the replay gives bit-identical forecasts on the
CPU (:mod:`cryptodesk.app.runspec`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptodesk.app.runspec import RunSpec


def command_line(spec_path: Path | str) -> str:
    """The shell command that replays a saved spec."""
    import shlex

    return f"cryptodesk run {shlex.quote(str(spec_path))}"


def save_for_replay(spec: RunSpec, folder: Path | None = None, now: Any = None) -> Path:
    """Write ``spec`` as ``<folder>/<UTC timestamp>-<symbol>.spec.json`` (default folder: the
    user's ``runs`` data folder) and return the path, for ``cryptodesk run <path>``. A name
    taken already (two saves in one second) gets a counter."""
    import datetime as dt
    import re

    from cryptodesk.paths import app_paths, ensure

    folder = ensure(Path(folder) if folder is not None else app_paths().runs)
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%d-%H%M%S")
    symbol = re.sub(r"[^A-Za-z0-9]+", "-", spec.data.symbol).strip("-") or "data"
    stem = f"{stamp}-{symbol}-{spec.data.timeframe}"
    path = folder / f"{stem}.spec.json"
    count = 1
    while path.exists():
        count += 1
        path = folder / f"{stem}-{count}.spec.json"
    return spec.write(path)
