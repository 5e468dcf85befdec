"""The model-bundle manifest: one typed schema that every reader goes through.

Why: a manifest comes from disk or from a zip someone shared, and its fields end up in
sensitive places: the id names a folder, payload names name files, labels and metrics are
printed, compared and sorted. Checking every field's type and bounds once, here, lets the
library, the CLI and the GUI use a :class:`Manifest` without re-checking, and guarantees that a
damaged or crafted manifest can only ever produce a :class:`BundleError` (one line), never a
``TypeError`` in a sort or a path outside the library.

Known sections are checked strictly. Optional sections stay optional, and unknown extra keys
are tolerated (later formats add sections: retrain lineage, tuning results, ensemble members)
but bounded: their names are short plain strings, and their values are bounded by the JSON
reader (:mod:`cryptodesk.safejson`: size, depth, number length).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any

from cryptodesk.errors import ModelError

# The current format. Reading older ones goes through cryptodesk.io.bundles.MIGRATIONS.
BUNDLE_FORMAT = 1
MANIFEST = "manifest.json"
PAYLOAD_DIR = "model"
MAX_MANIFEST_BYTES = 2 * 1024**2  # a real manifest is a few KB; room for future sections
MAX_MANIFEST_DEPTH = 64
MAX_ID = 128
MAX_LABEL = 200
MAX_TEXT = 1_000  # any other string field of a known section
MAX_KEY = 128  # names of metrics, libraries and unknown sections
MAX_TOP_KEYS = 256
MAX_PAYLOAD_FILES = 1_000
MAX_PAYLOAD_PARTS = 4  # "a/b/c/file": payloads are flat today, ensembles may nest
MAX_INT = 2**63

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_KIND = re.compile(r"[a-z][a-z0-9_]{0,39}")
_NAME_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NOT_ID = re.compile(r"[^A-Za-z0-9._-]+")


class BundleError(ModelError):
    """A bundle is damaged, unsafe, or from an incompatible version."""


@dataclass(frozen=True)
class Manifest:
    """A validated manifest: typed fields the library uses, plus the whole document.

    ``doc`` is the manifest as read (unknown sections included) so that rewriting it (rename,
    import) keeps what a newer CryptoDesk added.
    """

    doc: dict[str, Any]
    id: str
    label: str
    created: str
    created_at: datetime
    kind: str
    symbol: str
    timeframe: str
    source: str
    metrics: dict[str, Any]
    files: dict[str, str]


# --------------------------------------------------------------------------- public checks
def validate_manifest(doc: Any, where: str) -> Manifest:
    """Check a (migrated) manifest against the schema; raise :class:`BundleError` if it fails."""
    if not isinstance(doc, dict):
        raise BundleError(f"{where}: {MANIFEST} is not a JSON object")
    if len(doc) > MAX_TOP_KEYS:
        raise BundleError(f"{where}: {MANIFEST} has {len(doc)} sections (at most {MAX_TOP_KEYS})")
    for key in doc:
        _check_key(key, f"{where}: {MANIFEST}")
    for name, check in _SECTIONS.items():
        if name in doc:
            check(doc[name], f"{where}: {MANIFEST}: {name}")
        elif name in _REQUIRED:
            raise BundleError(f"{where}: {MANIFEST} has no {name!r}")
    w = f"{where}: {MANIFEST}"
    data = doc.get("data") or {}
    return Manifest(
        doc=doc, id=doc["id"], label=doc.get("label") or "", created=doc["created"],
        created_at=parse_created(doc["created"], f"{w}: created"), kind=doc["model"]["kind"],
        symbol=data.get("symbol") or "", timeframe=data.get("timeframe") or "",
        source=data.get("source") or "", metrics=dict(doc.get("metrics") or {}),
        files=dict(doc["payload"]["files"]),
    )


def check_bundle_id(value: Any, where: str) -> str:
    """An id is also a folder name: letters, digits, ``.``, ``_``, ``-``; starts with a letter
    or digit (so never ``.``/``..`` nor a hidden temp folder); at most :data:`MAX_ID` chars."""
    if not isinstance(value, str) or len(value) > MAX_ID or not _ID.fullmatch(value):
        raise BundleError(
            f"{where}: {shown(value)} is not a valid bundle id (letters, digits, '.', '_', '-'; "
            f"starting with a letter or digit; at most {MAX_ID} characters)"
        )
    return value


def check_label(value: Any, where: str) -> str:
    """A label is printed in tables and dialogs: one line, at most :data:`MAX_LABEL` chars."""
    if not isinstance(value, str):
        raise BundleError(f"{where}: a label must be text, not {type(value).__name__}")
    if len(value) > MAX_LABEL:
        raise BundleError(f"{where}: a label has at most {MAX_LABEL} characters, not {len(value):,}")
    if _CONTROL.search(value):
        raise BundleError(f"{where}: a label must be one line without control characters")
    return value


def payload_path(name: Any, where: str) -> PurePosixPath:
    """A payload file name as a safe relative path inside the bundle's ``model/`` folder.

    Refuses absolute paths, drive letters, ``..``, backslashes, empty parts and any character
    outside letters, digits, ``.``, ``_``, ``-``; at most :data:`MAX_PAYLOAD_PARTS` parts.
    """
    if not isinstance(name, str) or not name or len(name) > 512 or "\x00" in name:
        raise BundleError(f"{where}: invalid file name {shown(name)}")
    if (name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name)
            or ".." in re.split(r"[/\\]", name)):
        raise BundleError(f"{where}: file name {shown(name)} points outside the bundle; refused")
    parts = name.split("/")
    if len(parts) > MAX_PAYLOAD_PARTS or not all(_NAME_PART.fullmatch(p) for p in parts):
        raise BundleError(
            f"{where}: invalid file name {shown(name)} (letters, digits, '.', '_', '-' in at "
            f"most {MAX_PAYLOAD_PARTS} '/'-separated parts)"
        )
    return PurePosixPath(*parts)


def parse_created(value: Any, where: str) -> datetime:
    """``created`` as an aware datetime (a naive one is read as UTC), for sorting."""
    if not isinstance(value, str) or len(value) > 64:
        raise BundleError(f"{where}: must be an ISO date-time string, not {shown(value)}")
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise BundleError(f"{where}: {shown(value)} is not an ISO date-time") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def id_prefix(value: Any, limit: int = 80) -> str:
    """A safe, shortened form of any value, to keep an imported bundle's original id visible."""
    text = _NOT_ID.sub("-", str(value) if isinstance(value, str) else "")[:limit]
    return text.strip("._-") or "imported"


def shown(value: Any, limit: int = 60) -> str:
    """A short one-line rendering of an untrusted value for an error message."""
    if isinstance(value, str):
        return repr(value[:limit] + ("…" if len(value) > limit else ""))
    if isinstance(value, (dict, list)):
        return f"a JSON {'object' if isinstance(value, dict) else 'list'}"
    if isinstance(value, int) and value.bit_length() > 4 * limit:
        return "a very large number"
    text = repr(value)
    return text if len(text) <= limit else f"a {type(value).__name__} of {len(text):,} characters"


# --------------------------------------------------------------------------- field checks
def _check_key(key: Any, where: str) -> None:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY or _CONTROL.search(key):
        raise BundleError(f"{where}: key {shown(key)} is not a short plain name")


def _text(value: Any, where: str, *, optional: bool = False, limit: int = MAX_TEXT) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or len(value) > limit or _CONTROL.search(value):
        raise BundleError(f"{where}: must be one line of text (at most {limit:,} characters), "
                          f"not {shown(value)}")


def _int(value: Any, where: str, *, low: int = 0, high: int = MAX_INT, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BundleError(f"{where}: must be a whole number from {low:,} to {high:,}, "
                          f"not {shown(value)}")


def _dict(value: Any, where: str, *, optional: bool = False) -> dict[str, Any]:
    if value is None and optional:
        return {}
    if not isinstance(value, dict):
        raise BundleError(f"{where}: must be a JSON object, not {shown(value)}")
    for key in value:
        _check_key(key, where)
    return value


def _scalar(value: Any, where: str) -> None:
    if value is None or isinstance(value, (bool, int, float)):
        return  # numbers are bounded (length, finite) by the JSON reader
    _text(value, where)


def _check_bundle_format(value: Any, where: str) -> None:
    _int(value, where, low=1, high=10_000)


def _check_id(value: Any, where: str) -> None:
    check_bundle_id(value, where)


def _check_label(value: Any, where: str) -> None:
    check_label(value, where)


def _check_created(value: Any, where: str) -> None:
    parse_created(value, where)


def _check_short_text(value: Any, where: str) -> None:
    _text(value, where, optional=True, limit=MAX_KEY)


def _check_libraries(value: Any, where: str) -> None:
    for key, version in _dict(value, where, optional=True).items():
        _text(version, f"{where}.{key}", limit=MAX_KEY)


def _check_model(value: Any, where: str) -> None:
    model = _dict(value, where)
    kind = model.get("kind")
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise BundleError(f"{where}: kind {shown(kind)} is not a model name "
                          "(lower-case letters, digits, '_'; at most 40)")
    _dict(model.get("config"), f"{where}.config", optional=True)
    for key, flag in _dict(model.get("capabilities"), f"{where}.capabilities", optional=True).items():
        _scalar(flag, f"{where}.capabilities.{key}")


def _check_optional_object(value: Any, where: str) -> None:
    _dict(value, where, optional=True)


def _check_external_columns(value: Any, where: str) -> None:
    if value is None:
        return
    if not isinstance(value, list) or len(value) > 10_000:
        raise BundleError(f"{where}: must be a list of column names, not {shown(value)}")
    for item in value:
        _text(item, where, limit=MAX_KEY)


def _check_target(value: Any, where: str) -> None:
    target = _dict(value, where, optional=True)
    _text(target.get("kind"), f"{where}.kind", optional=True, limit=MAX_KEY)
    _int(target.get("horizon"), f"{where}.horizon", low=1, high=100_000, optional=True)


def _check_data(value: Any, where: str) -> None:
    data = _dict(value, where, optional=True)
    for key in ("symbol", "timeframe", "source", "first", "last", "sha256"):
        _text(data.get(key), f"{where}.{key}", optional=True, limit=MAX_KEY)
    if not isinstance(data.get("synthetic", False), bool):
        raise BundleError(f"{where}.synthetic: must be true or false")
    _int(data.get("rows"), f"{where}.rows", optional=True)


def _check_training_window(value: Any, where: str) -> None:
    window = _dict(value, where, optional=True)
    _text(window.get("start"), f"{where}.start", optional=True, limit=MAX_KEY)
    _text(window.get("end"), f"{where}.end", optional=True, limit=MAX_KEY)
    _int(window.get("rows"), f"{where}.rows", optional=True)


def _check_metrics(value: Any, where: str) -> None:
    """Scalars by name; nested detail (``monitoring``, future per-horizon tables) as objects or
    lists, bounded by the reader. ``monitoring`` is read by the CLI and GUI, so typed."""
    for key, metric in _dict(value, where, optional=True).items():
        if not isinstance(metric, (dict, list)):
            _scalar(metric, f"{where}.{key}")
    monitoring = _dict((value or {}).get("monitoring"), f"{where}.monitoring", optional=True)
    _text(monitoring.get("status"), f"{where}.monitoring.status", optional=True, limit=MAX_KEY)
    reasons = monitoring.get("reasons")
    if reasons is not None:
        if not isinstance(reasons, list):
            raise BundleError(f"{where}.monitoring.reasons: must be a list of text")
        for reason in reasons:
            _text(reason, f"{where}.monitoring.reasons")


def _check_seed(value: Any, where: str) -> None:
    _int(value, where, low=-MAX_INT, optional=True)


def _check_payload(value: Any, where: str) -> None:
    payload = _dict(value, where)
    if payload.get("dir", PAYLOAD_DIR) != PAYLOAD_DIR:
        raise BundleError(f"{where}.dir: must be {PAYLOAD_DIR!r}, not {shown(payload.get('dir'))}")
    files = payload.get("files")
    if not isinstance(files, dict):
        raise BundleError(f"{where}: payload file list is malformed ({shown(files)})")
    if not files:
        raise BundleError(f"{where}: manifest lists no payload files")
    if len(files) > MAX_PAYLOAD_FILES:
        raise BundleError(f"{where}: {len(files):,} payload files (at most {MAX_PAYLOAD_FILES:,})")
    seen: set[str] = set()
    for name, digest in files.items():
        path = payload_path(name, where).as_posix().lower()  # one file per name on any filesystem
        if path in seen:
            raise BundleError(f"{where}: file name {shown(name)} is listed twice")
        seen.add(path)
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise BundleError(f"{where}: the checksum of {shown(name)} is not a sha256 "
                              f"(64 lower-case hex digits): {shown(digest)}")


_SECTIONS = {
    "bundle_format": _check_bundle_format,
    "id": _check_id,
    "label": _check_label,
    "created": _check_created,
    "app_version": _check_short_text,
    "libraries": _check_libraries,
    "model": _check_model,
    "feature_spec": _check_optional_object,
    "external_columns": _check_external_columns,
    "external_sources": _check_optional_object,
    "target": _check_target,
    "data": _check_data,
    "training_window": _check_training_window,
    "metrics": _check_metrics,
    "evaluation": _check_optional_object,
    "seed": _check_seed,
    "payload": _check_payload,
}
_REQUIRED = frozenset({"bundle_format", "id", "created", "model", "payload"})
