"""JSON parsing with hard limits on size, nesting and number length.

Why: :func:`json.loads` recurses once per nesting level (100k ``[`` raise ``RecursionError``,
which is not a ``ValueError``), turns ``1e999`` into ``inf`` and accepts ``NaN``; a file that a
user or another program can edit must not be able to crash or stall the app through any of these.
:func:`loads_bounded` checks the limits *before* parsing (a linear scan over the quotes and
brackets only) and raises :class:`ValueError` subclasses for everything it refuses, so callers
need one ``except ValueError``.

Self-contained on purpose: standard library only, no imports from the rest of CryptoDesk.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = ["JsonLimitError", "JsonTooDeep", "JsonTooLarge", "loads_bounded"]

# Longest number literal accepted (Python's own int-parsing limit by default; independent of it).
MAX_NUMBER_CHARS = 4300
# A backslash escape, a quote or a bracket: the only characters the depth scan has to look at.
_TOKENS = re.compile(r'\\.|["\[\]{}]', re.DOTALL)


class JsonLimitError(ValueError):
    """The text is refused by a limit (size, depth or number), not by JSON's grammar."""


class JsonTooLarge(JsonLimitError):
    """More than ``max_bytes`` bytes of UTF-8."""


class JsonTooDeep(JsonLimitError):
    """Arrays/objects nested more than ``max_depth`` levels."""


def loads_bounded(text: str, *, max_bytes: int, max_depth: int) -> Any:
    """Parse ``text`` as strict JSON within the limits.

    Raises :class:`JsonTooLarge`, :class:`JsonTooDeep`, :class:`JsonLimitError` (a number
    longer than :data:`MAX_NUMBER_CHARS` characters, or one that overflows a float), or
    :class:`json.JSONDecodeError` for bad grammar (``NaN``/``Infinity`` are refused: not JSON).
    Every one is a :class:`ValueError`.
    """
    if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise JsonTooLarge(f"JSON text is larger than {max_bytes:,} bytes")
    _check_depth(text, max_depth)
    try:
        return json.loads(
            text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_no_constant
        )
    except RecursionError:  # belt and braces: the scan above should have refused it
        raise JsonTooDeep(f"JSON nested too deeply to parse (limit {max_depth})") from None


def _check_depth(text: str, max_depth: int) -> None:
    """Raise :class:`JsonTooDeep` as soon as the nesting passes ``max_depth``.

    Brackets inside strings do not count. Linear in the number of quotes, escapes and brackets;
    for invalid JSON the count may be off, which only changes which error the caller sees.
    """
    depth = 0
    in_string = False
    for match in _TOKENS.finditer(text):
        token = match.group()
        if in_string:
            in_string = token != '"'
        elif token == '"':
            in_string = True
        elif token in "[{":
            depth += 1
            if depth > max_depth:
                raise JsonTooDeep(f"JSON nested more than {max_depth} levels deep")
        elif token in "]}":
            depth -= 1


def _parse_int(literal: str) -> int:
    if len(literal) > MAX_NUMBER_CHARS:
        raise JsonLimitError(f"a number in the JSON has more than {MAX_NUMBER_CHARS} digits")
    return int(literal)


def _parse_float(literal: str) -> float:
    if len(literal) > MAX_NUMBER_CHARS:
        raise JsonLimitError(f"a number in the JSON has more than {MAX_NUMBER_CHARS} digits")
    value = float(literal)
    if not math.isfinite(value):
        raise JsonLimitError(f"number {literal[:40]} is too large")
    return value


def _no_constant(name: str) -> Any:
    raise JsonLimitError(f"{name} is not valid JSON")
