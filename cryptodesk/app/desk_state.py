"""What the desk remembers between sessions: the last series, the ticked models, the settings
forms, and the last run (its spec, its JSON report and each model's forecasts).

Everything lives under ``<data>/desk/``: ``state.json`` (small, strict JSON) and ``last_run/``
(``spec.json``, ``report.json``, ``forecasts.json`` naming one Parquet file per model). Files
are written atomically; the run folder is written beside the old one and swapped in, so a
crash mid-write leaves the previous run. Nothing is unpickled: JSON and Parquet only.

The state file is input like any other: a file that is unreadable, too big, not JSON, or
whose fields have the wrong types is ignored with one logged warning line, and the desk starts
as on a first run. Values inside the forms are checked again by the forms themselves.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

VERSION = 1
STATE_NAME = "state.json"
RUN_DIR = "last_run"
MAX_STATE_BYTES = 1 << 20
MAX_DEPTH = 12
MAX_NAMES = 100
MAX_TEXT = 200


@dataclass(frozen=True)
class DeskState:
    """The remembered desk (see module docstring); empty fields mean "as on a first run"."""

    series: tuple[str, str, str] | None = None  # (source, symbol, timeframe)
    checked: tuple[str, ...] = ()
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)  # model -> config dict
    walk_forward: dict[str, Any] = field(default_factory=dict)
    strategy: dict[str, Any] = field(default_factory=dict)
    run_series: tuple[str, str, str] | None = None  # the series the saved last run is on

    def to_dict(self) -> dict[str, Any]:
        return {"version": VERSION, "series": None if self.series is None else list(self.series),
                "checked": list(self.checked), "forms": self.forms,
                "walk_forward": self.walk_forward, "strategy": self.strategy,
                "run_series": None if self.run_series is None else list(self.run_series)}


class StateError(ValueError):
    """The state file does not hold what the desk writes."""


def desk_folder(data_dir: Path) -> Path:
    return Path(data_dir) / "desk"


def _key(raw: Any, what: str) -> tuple[str, str, str] | None:
    if raw is None:
        return None
    if (not isinstance(raw, list) or len(raw) != 3
            or not all(isinstance(s, str) and 0 < len(s) <= MAX_TEXT for s in raw)):
        raise StateError(f"{what} must be [source, symbol, timeframe]")
    return (raw[0], raw[1], raw[2])


def _mapping(raw: Any, what: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(k, str) for k in raw):
        raise StateError(f"{what} must be an object")
    return raw


def parse_state(raw: Any) -> DeskState:
    """A :class:`DeskState` from parsed JSON; :class:`StateError` when it is not one."""
    if not isinstance(raw, dict):
        raise StateError("not a JSON object")
    if raw.get("version") != VERSION:
        raise StateError(f"version {raw.get('version')!r}, expected {VERSION}")
    unknown = set(raw) - {"version", "series", "checked", "forms", "walk_forward", "strategy",
                          "run_series"}
    if unknown:
        raise StateError(f"unknown field(s) {', '.join(sorted(unknown))[:80]}")
    checked = raw.get("checked") or []
    if (not isinstance(checked, list) or len(checked) > MAX_NAMES
            or not all(isinstance(s, str) and 0 < len(s) <= MAX_TEXT for s in checked)):
        raise StateError("checked must be a list of model names")
    forms = _mapping(raw.get("forms"), "forms")
    if len(forms) > MAX_NAMES or not all(isinstance(v, dict) for v in forms.values()):
        raise StateError("forms must map model names to objects")
    return DeskState(series=_key(raw.get("series"), "series"), checked=tuple(checked),
                     forms=forms, walk_forward=_mapping(raw.get("walk_forward"), "walk_forward"),
                     strategy=_mapping(raw.get("strategy"), "strategy"),
                     run_series=_key(raw.get("run_series"), "run_series"))


def read_state(folder: Path) -> DeskState:
    """The saved state, or an empty one (missing file: silently; a bad one: one warning)."""
    from cryptodesk.errors import CryptoDeskError
    from cryptodesk.safejson import read_json_bounded

    path = Path(folder) / STATE_NAME
    if not path.exists():
        return DeskState()
    try:
        return parse_state(read_json_bounded(path, MAX_STATE_BYTES, MAX_DEPTH))
    except (OSError, CryptoDeskError, StateError, UnicodeDecodeError) as exc:
        reason = " ".join(str(exc).split())[:160]
        log.warning("ignoring the desk state in %s: %s", path, reason)
        return DeskState()


def write_state(folder: Path, state: DeskState) -> Path:
    """Write ``state`` atomically; returns the file's path."""
    from cryptodesk.atomic import write_text_atomic
    from cryptodesk.safejson import dumps

    path = Path(folder) / STATE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, dumps(state.to_dict()) + "\n")
    return path


def save_last_run(folder: Path, result: Any) -> Path:
    """Write a finished run (a RunResult): its spec, report and forecasts; returns the spec's
    path (what "Copy as command" replays)."""
    from cryptodesk.atomic import write_text_atomic
    from cryptodesk.safejson import dumps

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / f"{RUN_DIR}.new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    result.spec.write(staging / "spec.json")
    write_text_atomic(staging / "report.json", dumps(result.report) + "\n")
    files = {}
    for i, (name, frame) in enumerate(result.forecasts.items()):
        files[name] = f"forecasts_{i}.parquet"
        frame.to_parquet(staging / files[name])
    write_text_atomic(staging / "forecasts.json", dumps(files) + "\n")
    final, old = folder / RUN_DIR, folder / f"{RUN_DIR}.old"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final / "spec.json"


def load_last_run(folder: Path) -> Any:
    """The saved last run as a RunResult (no trading view), or None (missing: silently;
    unreadable or invalid: one warning)."""
    import pandas as pd

    from cryptodesk.app.run import RunResult
    from cryptodesk.app.runspec import RunSpec
    from cryptodesk.errors import CryptoDeskError
    from cryptodesk.safejson import read_json_bounded

    run = Path(folder) / RUN_DIR
    if not (run / "spec.json").exists():
        return None
    try:
        spec = RunSpec.read(run / "spec.json")
        report = read_json_bounded(run / "report.json", 64 << 20, 64)
        files = read_json_bounded(run / "forecasts.json", MAX_STATE_BYTES, 4)
        if not isinstance(report, dict) or not isinstance(report.get("models"), list):
            raise StateError("the report has no models")
        if not isinstance(files, dict) or set(files) != {m.key for m in spec.models}:
            raise StateError("the forecasts do not match the spec's models")
        forecasts = {}
        for name, file in files.items():
            if not isinstance(file, str) or Path(file).name != file:
                raise StateError(f"bad forecasts file name {file!r}"[:80])
            forecasts[name] = pd.read_parquet(run / file)
        return RunResult(spec=spec, report=report, forecasts=forecasts)
    except (OSError, CryptoDeskError, StateError, ValueError, KeyError) as exc:
        log.warning("ignoring the saved last run in %s: %s", run, " ".join(str(exc).split())[:160])
        return None
