"""JSON in and out of CryptoDesk: the one sanitiser for what we write.

Reports, manifests, run specs, job events and settings are strict JSON (no NaN, no Infinity:
other tools choke on them). :func:`to_jsonable` turns what the code holds (numpy scalars and
arrays, non-finite floats, timestamps, paths, config objects, tuples) into plain JSON values in
one place, and :func:`dumps` writes them strictly.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from pathlib import PurePath
from typing import Any


def to_jsonable(value: Any) -> Any:
    """A plain JSON value for ``value``: non-finite floats become None, numpy values Python
    ones, timestamps ISO-8601 text, paths text, tuples lists and config objects dicts."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and hasattr(value, "params"):  # a cryptodesk.params.Params
        return to_jsonable(to_dict())
    item = getattr(value, "item", None)  # numpy scalar (and 0-d array)
    if callable(item) and getattr(value, "ndim", 1) == 0:
        return to_jsonable(item())
    tolist = getattr(value, "tolist", None)  # numpy array
    if callable(tolist):
        return to_jsonable(tolist())
    isoformat = getattr(value, "isoformat", None)  # pandas Timestamp (a datetime subclass too)
    if callable(isoformat):
        return isoformat()
    raise TypeError(f"not JSON-able: {type(value).__name__}")


def dumps(value: Any, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """Strict JSON text of ``value`` after :func:`to_jsonable` (never NaN or Infinity)."""
    return json.dumps(to_jsonable(value), indent=indent, allow_nan=False, sort_keys=sort_keys,
                      ensure_ascii=False)
