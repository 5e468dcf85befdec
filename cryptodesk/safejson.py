"""JSON in and out of CryptoDesk: bounded reading of untrusted JSON, and the one sanitiser
for the JSON we write.

Writing: reports, manifests, run specs, job events and settings are strict JSON (no NaN, no
Infinity: other tools choke on them). :func:`to_jsonable` turns what the code holds (numpy
scalars and arrays, non-finite floats, timestamps, paths, config objects, tuples) into plain
JSON values in one place, and :func:`dumps` writes them strictly.

Reading: ``json.loads`` trusts its input. On a hostile or damaged file it
raises ``ValueError`` for an integer of more than 4,300 digits, ``RecursionError`` for deep
nesting, and happily returns ``inf``/``NaN`` (from ``1e999`` or ``NaN``) that break the next
``json.dumps(..., allow_nan=False)``. Any of those escaping a reader crashes whatever called it
(one bad model manifest used to break ``models list`` for every model). Here each of them is
refused up front with :class:`JsonInputError`, a one-line message the caller prefixes with the
file's name:

- a size cap (``max_bytes``) checked before parsing;
- a nesting-depth cap checked by a cheap scan before parsing (``RecursionError`` is caught too,
  as a second line of defence);
- numbers bounded by length through the ``parse_int``/``parse_float`` hooks; non-finite
  floats and the ``NaN``/``Infinity`` constants are refused;
- duplicate keys in an object are refused (which one would win is a parser detail).
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import Any

from cryptodesk.errors import CryptoDeskError

MAX_NUMBER_CHARS = 64  # "-" + digits, or a float with exponent: far above any real value

# A JSON string literal (the unrolled form is linear on long strings).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class JsonInputError(CryptoDeskError):
    """JSON text is malformed or exceeds a bound. The message is one line."""


def loads_bounded(
    text: str | bytes,
    max_bytes: int,
    max_depth: int,
    *,
    max_number_chars: int = MAX_NUMBER_CHARS,
) -> Any:
    """Parse ``text`` (str, or UTF-8 bytes) as JSON within the given bounds.

    Raises :class:`JsonInputError` for anything over a bound and for invalid JSON; never any
    other exception type for any input.
    """
    if isinstance(text, (bytes, bytearray)):
        if len(text) > max_bytes:
            raise JsonInputError(f"is larger than {max_bytes:,} bytes")
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonInputError(f"is not UTF-8 text (bad byte at offset {exc.start})") from None
    elif len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise JsonInputError(f"is larger than {max_bytes:,} bytes")
    depth = nesting_depth(text)
    if depth > max_depth:
        raise JsonInputError(f"is nested {depth:,} levels deep (at most {max_depth} allowed)")
    try:
        return json.loads(
            text,
            parse_int=_int_parser(max_number_chars),
            parse_float=_float_parser(max_number_chars),
            parse_constant=_refuse_constant,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as exc:
        raise JsonInputError(
            f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:  # the depth scan should make this unreachable
        raise JsonInputError("is nested too deeply") from None


def read_json_bounded(
    path: str | Path, max_bytes: int, max_depth: int, *, max_number_chars: int = MAX_NUMBER_CHARS
) -> Any:
    """Read and parse a JSON file within the bounds of :func:`loads_bounded`.

    ``OSError`` (missing, unreadable) propagates for the caller to word.
    """
    data = read_file_bounded(path, max_bytes)
    return loads_bounded(data, max_bytes, max_depth, max_number_chars=max_number_chars)


def read_file_bounded(path: str | Path, max_bytes: int) -> bytes:
    """At most ``max_bytes + 1`` bytes of a regular file (so a caller can tell it was too big).

    Only a regular file is read: a FIFO or device put where a data file belongs would
    otherwise block or never end. Raises ``OSError`` for anything else.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return handle.read(max_bytes + 1)


def nesting_depth(text: str) -> int:
    """Deepest bracket nesting of ``text``, not counting brackets inside string literals.

    Conservative on invalid JSON (an unterminated string's brackets count), which can only make
    a refusal more likely, never less.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    depth = deepest = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _int_parser(limit: int) -> Any:
    def parse(token: str) -> int:
        if len(token) > limit:
            raise JsonInputError(f"has a number with {len(token):,} characters (at most {limit})")
        return int(token)

    return parse


def _float_parser(limit: int) -> Any:
    def parse(token: str) -> float:
        if len(token) > limit:
            raise JsonInputError(f"has a number with {len(token):,} characters (at most {limit})")
        value = float(token)
        if not math.isfinite(value):
            raise JsonInputError(f"has a number out of range ({token[:24]})")
        return value

    return parse


def _refuse_constant(name: str) -> Any:
    raise JsonInputError(f"contains {name}, which is not standard JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonInputError(f"repeats the key {key[:40]!r} in one object")
        out[key] = value
    return out


# ---------------------------------------------------------------------- writing
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
